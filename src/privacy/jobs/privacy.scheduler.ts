import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Queue } from 'bullmq';
import { RecurringJobs, RecurringJobsScheduler } from '../../common/queues/recurring-jobs';
import { retentionConfig } from '../../config/configuration';
import {
  PRIVACY_JOB_DEFAULTS,
  PRIVACY_QUEUE,
  PrivacyJob,
  RETENTION_CRON_TZ,
  RETENTION_SCHEDULER_ID,
  RETENTION_SCHEDULER_REFRESH_MS,
} from './privacy-jobs';

/** The retention sweep: daily by RETENTION_SWEEP_CRON (Kenyan hours), or every RETENTION_SWEEP_INTERVAL_MS. */
@Injectable()
export class PrivacyScheduler extends RecurringJobsScheduler {
  protected readonly recurring: RecurringJobs;

  constructor(@InjectQueue(PRIVACY_QUEUE) queue: Queue, @Inject(retentionConfig.KEY) settings: ConfigType<typeof retentionConfig>) {
    super();
    this.recurring = new RecurringJobs(
      queue,
      [
        {
          schedulerId: RETENTION_SCHEDULER_ID,
          repeat: settings.sweepIntervalMs ? { every: settings.sweepIntervalMs } : { pattern: settings.sweepCron, tz: RETENTION_CRON_TZ },
          name: PrivacyJob.RetentionSweep,
          opts: PRIVACY_JOB_DEFAULTS[PrivacyJob.RetentionSweep],
          // Off: removed, since another replica may still carry it from before RETENTION_ENABLED=false.
          enabled: settings.enabled,
        },
      ],
      RETENTION_SCHEDULER_REFRESH_MS,
    );
  }
}
