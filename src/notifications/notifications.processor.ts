import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { runJobInContext } from '../common/request-context';
import { NOTIFICATIONS_QUEUE, NotificationJob, NotificationJobPayloads, STALE_NOTIFICATION_MS } from './notification-jobs';
import { ClientDeliveryService } from './client-delivery.service';
import { NotificationsService } from './notifications.service';
import { WORKER_LOCKS } from '../common/queues/worker-options';

@Processor(NOTIFICATIONS_QUEUE, { ...WORKER_LOCKS, concurrency: 8 })
export class NotificationsProcessor extends WorkerHost {
  constructor(
    private readonly notifications: NotificationsService,
    private readonly clients: ClientDeliveryService,
  ) {
    super();
  }

  process(job: Job): Promise<unknown> {
    return runJobInContext(job, () => this.handle(job));
  }

  private async handle(job: Job): Promise<unknown> {
    const name = job.name as NotificationJob;
    switch (name) {
      case NotificationJob.DeliverWebhook: {
        const { notificationId } = job.data as NotificationJobPayloads[NotificationJob.DeliverWebhook];
        const attempt = job.attemptsMade + 1;
        return this.notifications.deliver(notificationId, attempt, attempt >= (job.opts.attempts ?? 1));
      }
      case NotificationJob.DeliverEmail:
      case NotificationJob.DeliverSms: {
        const { notificationId } = job.data as NotificationJobPayloads[typeof name];
        const attempt = job.attemptsMade + 1;
        return this.clients.deliver(notificationId, attempt, attempt >= (job.opts.attempts ?? 1));
      }
      case NotificationJob.OutboxSweep:
        // Each stale row gets its own delivery job (jobId from the row's id): one bad row stops nothing else.
        return this.notifications.redispatchStale(STALE_NOTIFICATION_MS);
      default: {
        const unknown: never = name;
        throw new Error(`No handler for notification job ${String(unknown)}`);
      }
    }
  }
}
