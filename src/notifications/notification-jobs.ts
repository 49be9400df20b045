import { JobsOptions } from 'bullmq';
import type { Traced } from '../common/request-context';

export const NOTIFICATIONS_QUEUE = 'notifications';

export enum NotificationJob {
  /**
   * Queued by versions before WebhookOutboxPoller, which now claims LegalPro's webhooks from Postgres: such a job
   * (left in Redis across an upgrade) ends at once, and the poller delivers its row.
   */
  DeliverWebhook = 'deliver-webhook',
  DeliverEmail = 'deliver-email',
  DeliverSms = 'deliver-sms',
  /** One attempt of an event's delivery to one registered endpoint (webhook_deliveries). */
  DeliverEndpointWebhook = 'deliver-endpoint-webhook',
  /** Scheduled: queue again the delivery of outbox rows whose job was lost (a crash after commit, a Redis flush). */
  OutboxSweep = 'outbox-sweep',
}

/**
 * Ids only (and the request id that led to them): the worker reloads the outbox row and, for email and SMS,
 * resolves the recipient from the encrypted columns, so no address or number ever sits in Redis.
 */
export interface NotificationJobPayloads {
  [NotificationJob.DeliverWebhook]: { notificationId: string } & Traced;
  [NotificationJob.DeliverEmail]: { notificationId: string } & Traced;
  [NotificationJob.DeliverSms]: { notificationId: string } & Traced;
  [NotificationJob.DeliverEndpointWebhook]: { deliveryId: string } & Traced;
  [NotificationJob.OutboxSweep]: Record<string, never>;
}

export type AnyNotificationJob = { [N in NotificationJob]: { name: N; data: NotificationJobPayloads[N] } }[NotificationJob];

/**
 * A webhook's delivery attempts follow WEBHOOK_RETRY_SCHEDULE_MS (about three days), kept in Postgres
 * (`next_attempt_at`). LegalPro's are claimed from Postgres when due (WebhookOutboxPoller). A registered endpoint's
 * failed attempt moves its job to BullMQ's delayed set until then, and the outbox sweep queues it again if Redis lost
 * it. BullMQ's own retries only cover an error of ours (Postgres away): a few, quickly; a job that still fails is
 * removed, so the sweep can queue its row again.
 */
export const WEBHOOK_JOB_ATTEMPTS = 5;
export const WEBHOOK_JOB_BACKOFF_MS = 2_000;

/**
 * A client's email or SMS: worth a few minutes of a provider's outage, not hours (a receipt that arrives the next
 * day confuses more than it helps). 6 attempts, 2 s doubling: about a minute in all. A provider's
 * definite "no" (SMTP 5xx, gateway 4xx) is not retried at all.
 */
export const EMAIL_ATTEMPTS = 6;
export const EMAIL_BACKOFF_MS = 2_000;
export const SMS_ATTEMPTS = 6;
export const SMS_BACKOFF_MS = 2_000;

/** An outbox row still pending after this long lost its job. */
export const STALE_NOTIFICATION_MS = 30_000;
export const OUTBOX_SWEEP_SCHEDULER_ID = 'outbox-sweep';
/** How often each worker re-asserts the sweep scheduler (it may have been lost with Redis data). */
export const OUTBOX_SCHEDULER_REFRESH_MS = 10_000;

export const NOTIFICATION_JOB_DEFAULTS: Record<NotificationJob, JobsOptions> = {
  [NotificationJob.DeliverWebhook]: {
    attempts: WEBHOOK_JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: WEBHOOK_JOB_BACKOFF_MS },
    removeOnComplete: true,
    removeOnFail: true,
  },
  [NotificationJob.DeliverEndpointWebhook]: {
    attempts: WEBHOOK_JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: WEBHOOK_JOB_BACKOFF_MS },
    removeOnComplete: true,
    removeOnFail: true,
  },
  [NotificationJob.DeliverEmail]: {
    attempts: EMAIL_ATTEMPTS,
    backoff: { type: 'exponential', delay: EMAIL_BACKOFF_MS },
    removeOnComplete: true,
    // Gone once failed, as every job of a row the outbox sweep re-queues: a failed job would keep its jobId and the
    // sweep's re-queue of a row still pending (its attempts never recorded, e.g. during a Postgres outage) would be
    // dropped as a duplicate. The row's attempts and last error are the record.
    removeOnFail: true,
  },
  [NotificationJob.DeliverSms]: {
    attempts: SMS_ATTEMPTS,
    backoff: { type: 'exponential', delay: SMS_BACKOFF_MS },
    removeOnComplete: true,
    // Gone once failed, as every job of a row the outbox sweep re-queues: a failed job would keep its jobId and the
    // sweep's re-queue of a row still pending (its attempts never recorded, e.g. during a Postgres outage) would be
    // dropped as a duplicate. The row's attempts and last error are the record.
    removeOnFail: true,
  },
  [NotificationJob.OutboxSweep]: { removeOnComplete: true, removeOnFail: 100 },
};
