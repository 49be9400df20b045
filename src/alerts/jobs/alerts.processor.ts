import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { AlertsService } from '../alerts.service';
import { ALERTS_QUEUE, AlertJob } from './alert-jobs';
import { WORKER_LOCKS } from '../../common/queues/worker-options';

@Processor(ALERTS_QUEUE, { ...WORKER_LOCKS, concurrency: 1 })
export class AlertsProcessor extends WorkerHost {
  constructor(private readonly alerts: AlertsService) {
    super();
  }

  async process(job: Job): Promise<unknown> {
    const name = job.name as AlertJob;
    switch (name) {
      case AlertJob.Evaluate:
        return this.alerts.evaluate();
      default: {
        const unknown: never = name;
        throw new Error(`No handler for alert job ${String(unknown)}`);
      }
    }
  }
}
