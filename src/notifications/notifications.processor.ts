import { Processor, WorkerHost } from '@nestjs/bullmq';
import { DelayedError, Job } from 'bullmq';
import { runJobInContext } from '../common/request-context';
import { NOTIFICATIONS_QUEUE, NotificationJob, NotificationJobPayloads, STALE_NOTIFICATION_MS } from './notification-jobs';
import { ClientDeliveryService } from './client-delivery.service';
import { NotificationsService } from './notifications.service';
import { WORKER_LOCKS } from '../common/queues/worker-options';
import { WebhookDeliveryService } from './webhooks/webhook-delivery.service';
import { WebhookJobOutcome } from './webhooks/webhook-retry';

@Processor(NOTIFICATIONS_QUEUE, { ...WORKER_LOCKS, concurrency: 8 })
export class NotificationsProcessor extends WorkerHost {
  constructor(
    private readonly notifications: NotificationsService,
    private readonly clients: ClientDeliveryService,
    private readonly endpoints: WebhookDeliveryService,
  ) {
    super();
  }

  process(job: Job, token?: string): Promise<unknown> {
    return runJobInContext(job, () => this.handle(job, token));
  }

  private async handle(job: Job, token: string | undefined): Promise<unknown> {
    const name = job.name as NotificationJob;
    switch (name) {
      case NotificationJob.DeliverWebhook:
        return 'claimed from the outbox by WebhookOutboxPoller';
      case NotificationJob.DeliverEndpointWebhook: {
        const { deliveryId } = job.data as NotificationJobPayloads[NotificationJob.DeliverEndpointWebhook];
        return this.untilNextAttempt(job, token, await this.endpoints.deliver(deliveryId));
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

  /**
   * A webhook's next attempt is hours away: the same job (same id, same data) waits in BullMQ's delayed set until the
   * time Postgres holds for it (bullmq docs, patterns/process-step-jobs). Were Redis to lose it, the outbox sweep
   * queues it again once that time has passed.
   */
  private async untilNextAttempt(job: Job, token: string | undefined, outcome: WebhookJobOutcome): Promise<string> {
    if (outcome.kind === 'done') return 'done';
    await job.moveToDelayed(outcome.at.getTime(), token);
    throw new DelayedError();
  }
}
