import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { TreasuryExpiryService } from '../treasury-expiry.service';
import { TREASURY_QUEUE, TreasuryJob } from './treasury-jobs';
import { WORKER_LOCKS } from '../../common/queues/worker-options';

@Processor(TREASURY_QUEUE, { ...WORKER_LOCKS, concurrency: 1 })
export class TreasuryProcessor extends WorkerHost {
  constructor(private readonly expiry: TreasuryExpiryService) {
    super();
  }

  async process(job: Job): Promise<unknown> {
    const name = job.name as TreasuryJob;
    switch (name) {
      case TreasuryJob.ExpireRequests:
        return this.expiry.expireOverdue();
      default: {
        const unknown: never = name;
        throw new Error(`No handler for treasury job ${String(unknown)}`);
      }
    }
  }
}
