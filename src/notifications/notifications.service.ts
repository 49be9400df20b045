import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { InjectEntityManager } from '@nestjs/typeorm';
import { Queue } from 'bullmq';
import { EntityManager, LessThan } from 'typeorm';
import { redact } from '../common/redaction';
import { currentRequestId } from '../common/request-context';
import { notificationsConfig } from '../config/configuration';
import { ClientNotificationEventName } from '../config/env.validation';
import { EmailChannel } from './channels/email.channel';
import { SmsChannel } from './channels/sms.channel';
import { ClientOutboxRow, planClientNotifications } from './client-notifications';
import { markSkipped, recordDeliveryAttempt } from './delivery-records';
import { Notification, NotificationChannel, NotificationStatus } from './notification.entity';
import { AnyNotificationJob, NOTIFICATION_JOB_DEFAULTS, NOTIFICATIONS_QUEUE, NotificationJob } from './notification-jobs';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature';

export type DeliveryResult = 'delivered' | 'skipped' | 'already_final';

/** An outbox row whose delivery job is to be queued (after the commit that wrote it). */
export interface QueuedNotification {
  id: string;
  channel: NotificationChannel | string;
}

const JOB_FOR_CHANNEL: Record<NotificationChannel, NotificationJob> = {
  [NotificationChannel.Webhook]: NotificationJob.DeliverWebhook,
  [NotificationChannel.Email]: NotificationJob.DeliverEmail,
  [NotificationChannel.Sms]: NotificationJob.DeliverSms,
};

/** The only way out to LegalPro: an outbox row written with the change, then a queued, retried, recorded delivery. */
@Injectable()
export class NotificationsService {
  private readonly logger = new Logger(NotificationsService.name);

  constructor(
    @InjectEntityManager() private readonly manager: EntityManager,
    @InjectQueue(NOTIFICATIONS_QUEUE) private readonly queue: Queue,
    @Inject(notificationsConfig.KEY) private readonly settings: ConfigType<typeof notificationsConfig>,
    private readonly email: EmailChannel,
    private readonly sms: SmsChannel,
  ) {}

  /**
   * The state a new outbox row starts in. With no WEBHOOK_URL there is nowhere to deliver: the row is written
   * as `skipped` (so the record exists) and no job is queued. The row itself is written by the statement that
   * changes the state it announces, so that both commit together.
   */
  outboxState(): { status: NotificationStatus.Pending | NotificationStatus.Skipped; note?: string } {
    return this.settings.webhookUrl
      ? { status: NotificationStatus.Pending }
      : { status: NotificationStatus.Skipped, note: 'WEBHOOK_URL is not configured' };
  }

  /** Writes an outbox row in the caller's transaction; returns its id when a job must be queued after commit. */
  async createInTransaction(manager: EntityManager, request: { event: string; subjectId: string; payload: object }): Promise<string | undefined> {
    const state = this.outboxState();
    const result = await manager.insert(Notification, {
      channel: 'webhook',
      event: request.event,
      subjectId: request.subjectId,
      payload: redact(request.payload),
      status: state.status,
      lastError: state.note ?? null,
    });
    return state.status === NotificationStatus.Pending ? (result.identifiers[0] as { id: string }).id : undefined;
  }

  /**
   * The client (email, SMS) rows a state change writes, to be inserted by the statement that makes the change.
   * `hasEmail`: whether the client gave an email address with the payment.
   */
  clientOutbox(event: ClientNotificationEventName, hasEmail: boolean): ClientOutboxRow[] {
    return planClientNotifications(
      {
        clientEvents: this.settings.clientEvents,
        emailOff: this.email.enabled ? undefined : EmailChannel.NOT_CONFIGURED,
        smsOff: this.sms.enabled ? undefined : SmsChannel.NOT_CONFIGURED,
      },
      event,
      hasEmail,
    );
  }

  /**
   * Writes a client event's rows (see clientOutbox) in the caller's transaction. The payload holds the event's
   * facts, never the recipient: the address is read, and decrypted, when the job delivers.
   */
  async createClientInTransaction(
    manager: EntityManager,
    request: { event: ClientNotificationEventName; subjectId: string; payload: object; hasEmail: boolean },
  ): Promise<QueuedNotification[]> {
    const queued: QueuedNotification[] = [];
    for (const row of this.clientOutbox(request.event, request.hasEmail)) {
      const result = await manager.insert(Notification, {
        channel: row.channel,
        event: row.event,
        subjectId: request.subjectId,
        payload: redact(request.payload),
        status: row.status,
        lastError: row.last_error,
      });
      if (row.status === NotificationStatus.Pending) queued.push({ id: (result.identifiers[0] as { id: string }).id, channel: row.channel });
    }
    return queued;
  }

  /**
   * An operator email (alerts) in the caller's transaction, when there is someone to write to: recipients are
   * read from ALERT_EMAIL_TO when the job delivers, like a client's address.
   */
  async createOperatorEmailInTransaction(
    manager: EntityManager,
    request: { event: string; subjectId: string; payload: object; hasRecipients: boolean },
  ): Promise<QueuedNotification | undefined> {
    if (!request.hasRecipients) return undefined;
    const off = this.email.enabled ? undefined : EmailChannel.NOT_CONFIGURED;
    const result = await manager.insert(Notification, {
      channel: NotificationChannel.Email,
      event: request.event,
      subjectId: request.subjectId,
      payload: redact(request.payload),
      status: off ? NotificationStatus.Skipped : NotificationStatus.Pending,
      lastError: off ?? null,
    });
    return off ? undefined : { id: (result.identifiers[0] as { id: string }).id, channel: NotificationChannel.Email };
  }

  /** Queues the delivery jobs of committed outbox rows; a bare id is a webhook row. */
  async dispatch(notifications: Array<string | QueuedNotification>): Promise<void> {
    for (const entry of notifications) {
      const { id: notificationId, channel } = typeof entry === 'string' ? { id: entry, channel: NotificationChannel.Webhook } : entry;
      const name = JOB_FOR_CHANNEL[channel as NotificationChannel];
      if (!name) {
        this.logger.error(`Notification ${notificationId} has channel ${channel}, which no job delivers`);
        continue;
      }
      const requestId = currentRequestId();
      const job = { name, data: { notificationId, ...(requestId ? { requestId } : {}) } } as AnyNotificationJob;
      try {
        await this.queue.add(job.name, job.data, { ...NOTIFICATION_JOB_DEFAULTS[job.name], jobId: `notification-${notificationId}` });
      } catch (e) {
        // The row is committed: the outbox sweep will enqueue it again.
        this.logger.warn(`Could not enqueue notification ${notificationId}: ${String(e)}`);
      }
    }
  }

  /** Re-enqueues outbox rows whose job was lost (a crash between commit and enqueue, a Redis flush). */
  async redispatchStale(olderThanMs: number): Promise<number> {
    const stale = await this.manager.find(Notification, {
      select: { id: true, channel: true },
      where: { status: NotificationStatus.Pending, createdAt: LessThan(new Date(Date.now() - olderThanMs)) },
      take: 500,
    });
    await this.dispatch(stale.map((n) => ({ id: n.id, channel: n.channel })));
    return stale.length;
  }

  /** One delivery attempt; throws on failure so that BullMQ backs off and retries. */
  async deliver(notificationId: string, attempt: number, isFinalAttempt: boolean): Promise<DeliveryResult> {
    const notification = await this.manager.findOneBy(Notification, { id: notificationId });
    if (!notification || notification.status !== NotificationStatus.Pending || notification.channel !== NotificationChannel.Webhook) return 'already_final';
    if (!this.settings.webhookUrl) {
      await markSkipped(this.manager, notificationId, 'WEBHOOK_URL is not configured');
      return 'skipped';
    }
    const body = JSON.stringify({
      id: notification.id,
      event: notification.event,
      createdAt: notification.createdAt.toISOString(),
      data: notification.payload,
    });
    const started = Date.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(this.settings.webhookUrl, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          [SIGNATURE_HEADER]: signWebhook(this.settings.webhookSecret, body, Math.floor(Date.now() / 1000)),
          'x-legalpro-event': notification.event,
          'x-legalpro-delivery': notification.id,
        },
        body,
        signal: AbortSignal.timeout(this.settings.webhookTimeoutMs),
      });
      statusCode = response.status;
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) error = `HTTP ${response.status}`;
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    await recordDeliveryAttempt(this.manager, { notificationId, attempt, statusCode, error, durationMs: Date.now() - started, final: isFinalAttempt });
    if (error !== null) throw new Error(`Webhook delivery ${notificationId} failed: ${error}`);
    return 'delivered';
  }
}
