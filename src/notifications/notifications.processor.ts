import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { NOTIFICATIONS_QUEUE, NotificationJob, NotificationJobPayloads } from './notification-jobs';
import { NotificationsService } from './notifications.service';

@Processor(NOTIFICATIONS_QUEUE, { concurrency: 8 })
export class NotificationsProcessor extends WorkerHost {
  constructor(private readonly notifications: NotificationsService) {
    super();
  }

  async process(job: Job): Promise<unknown> {
    const name = job.name as NotificationJob;
    switch (name) {
      case NotificationJob.DeliverWebhook: {
        const { notificationId } = job.data as NotificationJobPayloads[NotificationJob.DeliverWebhook];
        const attempt = job.attemptsMade + 1;
        return this.notifications.deliver(notificationId, attempt, attempt >= (job.opts.attempts ?? 1));
      }
      default: {
        const unknown: never = name;
        throw new Error(`No handler for notification job ${String(unknown)}`);
      }
    }
  }
}
