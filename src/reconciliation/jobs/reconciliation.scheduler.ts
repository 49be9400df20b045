import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Queue } from 'bullmq';
import { RecurringJobs, RecurringJobsScheduler } from '../../common/queues/recurring-jobs';
import { reconciliationConfig } from '../reconciliation.config';
import {
  DAILY_RECONCILIATION_SCHEDULER_ID,
  PULL_SCHEDULER_ID,
  RECONCILIATION_CRON_TZ,
  RECONCILIATION_JOB_DEFAULTS,
  RECONCILIATION_QUEUE,
  RECONCILIATION_SCHEDULER_REFRESH_MS,
  ReconciliationJob,
} from './reconciliation-jobs';

/** One Pull run per PULL_INTERVAL_MINUTES and one daily reconciliation for the whole fleet, however many workers run. */
@Injectable()
export class ReconciliationScheduler extends RecurringJobsScheduler {
  protected readonly recurring: RecurringJobs;

  constructor(
    @InjectQueue(RECONCILIATION_QUEUE) queue: Queue,
    @Inject(reconciliationConfig.KEY) private readonly settings: ConfigType<typeof reconciliationConfig>,
  ) {
    super();
    this.recurring = new RecurringJobs(
      queue,
      [
        {
          schedulerId: PULL_SCHEDULER_ID,
          repeat: { every: settings.intervalMs },
          name: ReconciliationJob.PullRun,
          opts: RECONCILIATION_JOB_DEFAULTS[ReconciliationJob.PullRun],
          // Off: removed, since another replica may still carry it from before PULL_ENABLED=false.
          enabled: settings.pullEnabled,
        },
        {
          schedulerId: DAILY_RECONCILIATION_SCHEDULER_ID,
          repeat: { pattern: settings.dailyCron, tz: RECONCILIATION_CRON_TZ },
          name: ReconciliationJob.DailyReconciliation,
          opts: RECONCILIATION_JOB_DEFAULTS[ReconciliationJob.DailyReconciliation],
          enabled: settings.pullEnabled,
        },
      ],
      RECONCILIATION_SCHEDULER_REFRESH_MS,
    );
  }

  override onApplicationBootstrap(): Promise<void> {
    for (const warning of this.settings.warnings) new Logger(ReconciliationScheduler.name).warn(warning);
    return super.onApplicationBootstrap();
  }
}
