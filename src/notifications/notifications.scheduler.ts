import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Queue } from 'bullmq';
import { RecurringJobs, RecurringJobsScheduler } from '../common/queues/recurring-jobs';
import { workerConfig } from '../config/configuration';
import {
  NOTIFICATION_JOB_DEFAULTS,
  NOTIFICATIONS_QUEUE,
  NotificationJob,
  OUTBOX_SCHEDULER_REFRESH_MS,
  OUTBOX_SWEEP_SCHEDULER_ID,
} from './notification-jobs';

/** The outbox sweep, once per SWEEP_INTERVAL_MS for the whole fleet. */
@Injectable()
export class NotificationsScheduler extends RecurringJobsScheduler {
  protected readonly recurring: RecurringJobs;

  constructor(@InjectQueue(NOTIFICATIONS_QUEUE) queue: Queue, @Inject(workerConfig.KEY) settings: ConfigType<typeof workerConfig>) {
    super();
    this.recurring = new RecurringJobs(
      queue,
      [
        {
          schedulerId: OUTBOX_SWEEP_SCHEDULER_ID,
          repeat: { every: settings.sweepIntervalMs },
          name: NotificationJob.OutboxSweep,
          opts: NOTIFICATION_JOB_DEFAULTS[NotificationJob.OutboxSweep],
          enabled: true,
        },
      ],
      OUTBOX_SCHEDULER_REFRESH_MS,
    );
  }
}
