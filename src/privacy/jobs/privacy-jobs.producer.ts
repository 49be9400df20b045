import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import { PRIVACY_JOB_DEFAULTS, PRIVACY_QUEUE, PrivacyJob, RETENTION_CRON_TZ, RETENTION_SCHEDULER_ID } from './privacy-jobs';

/** The only way to schedule privacy jobs. */
@Injectable()
export class PrivacyJobsProducer {
  constructor(@InjectQueue(PRIVACY_QUEUE) private readonly queue: Queue) {}

  /** One scheduler for the whole fleet: every worker upserts the same id, so the sweep runs once per tick. */
  async ensureRetentionScheduler(schedule: { cron: string } | { everyMs: number }): Promise<void> {
    const repeat = 'cron' in schedule ? { pattern: schedule.cron, tz: RETENTION_CRON_TZ } : { every: schedule.everyMs };
    await this.queue.upsertJobScheduler(RETENTION_SCHEDULER_ID, repeat, {
      name: PrivacyJob.RetentionSweep,
      data: {},
      opts: PRIVACY_JOB_DEFAULTS[PrivacyJob.RetentionSweep],
    });
  }

  async removeRetentionScheduler(): Promise<void> {
    await this.queue.removeJobScheduler(RETENTION_SCHEDULER_ID);
  }
}
