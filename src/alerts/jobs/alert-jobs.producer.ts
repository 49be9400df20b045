import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import { ALERT_JOB_DEFAULTS, ALERT_SCHEDULER_ID, ALERTS_QUEUE, AlertJob } from './alert-jobs';

@Injectable()
export class AlertJobsProducer {
  constructor(@InjectQueue(ALERTS_QUEUE) private readonly queue: Queue) {}

  /** One scheduler for the whole fleet, so thresholds are evaluated once per interval however many workers run. */
  async ensureEvaluationScheduler(everyMs: number): Promise<void> {
    await this.queue.upsertJobScheduler(ALERT_SCHEDULER_ID, { every: everyMs }, {
      name: AlertJob.Evaluate,
      data: {},
      opts: ALERT_JOB_DEFAULTS[AlertJob.Evaluate],
    });
  }

  async removeEvaluationScheduler(): Promise<void> {
    await this.queue.removeJobScheduler(ALERT_SCHEDULER_ID);
  }
}
