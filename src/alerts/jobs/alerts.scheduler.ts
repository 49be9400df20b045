import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Queue } from 'bullmq';
import { RecurringJobs, RecurringJobsScheduler } from '../../common/queues/recurring-jobs';
import { alertsConfig } from '../../config/configuration';
import { ALERT_JOB_DEFAULTS, ALERT_SCHEDULER_ID, ALERT_SCHEDULER_REFRESH_MS, ALERTS_QUEUE, AlertJob } from './alert-jobs';

/** One evaluation per ALERT_EVALUATION_INTERVAL_MS for the whole fleet, however many workers run. */
@Injectable()
export class AlertsScheduler extends RecurringJobsScheduler {
  protected readonly recurring: RecurringJobs;

  constructor(@InjectQueue(ALERTS_QUEUE) queue: Queue, @Inject(alertsConfig.KEY) settings: ConfigType<typeof alertsConfig>) {
    super();
    this.recurring = new RecurringJobs(
      queue,
      [
        {
          schedulerId: ALERT_SCHEDULER_ID,
          repeat: { every: settings.evaluationIntervalMs },
          name: AlertJob.Evaluate,
          opts: ALERT_JOB_DEFAULTS[AlertJob.Evaluate],
          // Off: removed, since another replica may still carry it from before ALERTS_ENABLED=false.
          enabled: settings.enabled,
        },
      ],
      ALERT_SCHEDULER_REFRESH_MS,
    );
  }
}
