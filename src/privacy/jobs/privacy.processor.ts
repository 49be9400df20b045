import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { RETENTION_JOB_ACTOR, RetentionService } from '../retention.service';
import { PRIVACY_QUEUE, PrivacyJob } from './privacy-jobs';
import { WORKER_LOCKS } from '../../common/queues/worker-options';

@Processor(PRIVACY_QUEUE, { ...WORKER_LOCKS, concurrency: 1 })
export class PrivacyProcessor extends WorkerHost {
  constructor(private readonly retention: RetentionService) {
    super();
  }

  async process(job: Job): Promise<unknown> {
    const name = job.name as PrivacyJob;
    switch (name) {
      case PrivacyJob.RetentionSweep:
        // Errors propagate: BullMQ retries the (idempotent) sweep with backoff.
        return this.retention.run(RETENTION_JOB_ACTOR);
      default: {
        const unknown: never = name;
        throw new Error(`No handler for privacy job ${String(unknown)}`);
      }
    }
  }
}
