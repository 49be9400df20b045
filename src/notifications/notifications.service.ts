import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Queue } from 'bullmq';
import { addJob } from '../common/queues/add-job';
import { currentRequestId } from '../common/request-context';
import { notificationsConfig } from '../config/configuration';
import { ClientNotificationEventName } from '../config/env.validation';
import { Tx } from '../database/database';
import { Sql } from '../database/sql';
import { EmailChannel } from './channels/email.channel';
import { SmsChannel } from './channels/sms.channel';
import { planClientNotifications } from './client-notifications';
import { NotificationChannel, NotificationStatus } from './notification.entity';
import { AnyNotificationJob, NOTIFICATION_JOB_DEFAULTS, NOTIFICATIONS_QUEUE, NotificationJob } from './notification-jobs';
import { NewNotification, NotificationsRepository, WrittenNotification } from './notifications.repository';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature';

export type DeliveryResult = 'delivered' | 'skipped' | 'already_final';

/** How long `dispatch` holds its caller for the enqueues (a healthy Redis answers in a few ms); see dispatch. */
export const DISPATCH_WAIT_MS = 250;

const JOB_FOR_CHANNEL: Record<NotificationChannel, NotificationJob> = {
  [NotificationChannel.Webhook]: NotificationJob.DeliverWebhook,
  [NotificationChannel.Email]: NotificationJob.DeliverEmail,
  [NotificationChannel.Sms]: NotificationJob.DeliverSms,
};

/**
 * The only way out to LegalPro, clients and operators: outbox rows written with the change they announce (in the
 * caller's transaction or statement), then a queued, retried, recorded delivery once that change has committed.
 */
@Injectable()
export class NotificationsService {
  private readonly logger = new Logger(NotificationsService.name);

  constructor(
    private readonly repository: NotificationsRepository,
    @InjectQueue(NOTIFICATIONS_QUEUE) private readonly queue: Queue,
    @Inject(notificationsConfig.KEY) private readonly settings: ConfigType<typeof notificationsConfig>,
    private readonly email: EmailChannel,
    private readonly sms: SmsChannel,
  ) {}

  /**
   * LegalPro's webhook row for an event. With no WEBHOOK_URL there is nowhere to deliver: the row is written as
   * `skipped` (so the record exists) and no job is queued.
   */
  webhook(event: string, subjectId: string, payload: object): NewNotification {
    return this.settings.webhookUrl
      ? { channel: NotificationChannel.Webhook, event, subjectId, payload, status: NotificationStatus.Pending, lastError: null }
      : {
          channel: NotificationChannel.Webhook,
          event,
          subjectId,
          payload,
          status: NotificationStatus.Skipped,
          lastError: 'WEBHOOK_URL is not configured',
        };
  }

  /**
   * The client's email/SMS rows for an event. The payload holds the event's facts, never the recipient: the address
   * is read, and decrypted, when the job delivers. `hasEmail`: whether the client gave an address with the payment.
   */
  forClient(event: ClientNotificationEventName, subjectId: string, payload: object, hasEmail: boolean): NewNotification[] {
    const state = {
      clientEvents: this.settings.clientEvents,
      emailOff: this.email.enabled ? undefined : EmailChannel.NOT_CONFIGURED,
      smsOff: this.sms.enabled ? undefined : SmsChannel.NOT_CONFIGURED,
    };
    return planClientNotifications(state, event, hasEmail).map((row) => ({
      channel: row.channel,
      event: row.event,
      subjectId,
      payload,
      status: row.status,
      lastError: row.last_error,
    }));
  }

  /** An operator email (alerts), when there is someone to write to: recipients are read from ALERT_EMAIL_TO at delivery. */
  forOperators(event: string, subjectId: string, payload: object, hasRecipients: boolean): NewNotification[] {
    if (!hasRecipients) return [];
    const off = this.email.enabled ? undefined : EmailChannel.NOT_CONFIGURED;
    return [
      {
        channel: NotificationChannel.Email,
        event,
        subjectId,
        payload,
        status: off ? NotificationStatus.Skipped : NotificationStatus.Pending,
        lastError: off ?? null,
      },
    ];
  }

  /** Writes outbox rows in the caller's transaction; dispatch what it returns once that transaction committed. */
  write(tx: Tx, rows: NewNotification[]): Promise<WrittenNotification[]> {
    return this.repository.insert(tx, rows);
  }

  /** The same rows as part of the caller's statement (see changeWithEffects). */
  insertSql(rows: NewNotification[], when?: Sql): Sql {
    return this.repository.insertSql(rows, when);
  }

  /**
   * Queues the delivery jobs of committed outbox rows (rows that are not pending have nothing to deliver), all at once,
   * and waits for them at most DISPATCH_WAIT_MS. Callers answer someone right after (Daraja, whose callback must be
   * acknowledged within 1 s whatever Redis does; an API client): with Redis hanging (connection open, no answer) each
   * `addJob` waits its whole ENQUEUE_WAIT_MS, and one after the other they held a callback's answer that long per row
   * (test/e2e/callback-edge.e2e-spec.ts measured 1.04 s with a 1 s bound). An enqueue still running goes on in the background; a row
   * it could not queue is committed, and the outbox sweep queues it again.
   */
  async dispatch(rows: WrittenNotification[]): Promise<void> {
    const enqueues = rows.filter((row) => row.status === NotificationStatus.Pending).map((row) => this.enqueue(row));
    if (!enqueues.length) return;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, DISPATCH_WAIT_MS);
      timer.unref();
    });
    await Promise.race([Promise.all(enqueues), bound]).finally(() => clearTimeout(timer));
  }

  /** Queues one row's delivery job; never throws (the row is committed: the outbox sweep will enqueue it again). */
  private async enqueue(row: WrittenNotification): Promise<void> {
    const name = JOB_FOR_CHANNEL[row.channel];
    if (!name) {
      this.logger.error(`Notification ${row.id} has channel ${row.channel}, which no job delivers`);
      return;
    }
    const requestId = currentRequestId();
    const job = { name, data: { notificationId: row.id, ...(requestId ? { requestId } : {}) } } as AnyNotificationJob;
    try {
      await addJob(this.queue, job.name, job.data, { ...NOTIFICATION_JOB_DEFAULTS[job.name], jobId: `notification-${row.id}` });
    } catch (e) {
      this.logger.warn(`Could not enqueue notification ${row.id}: ${String(e)}`);
    }
  }

  /** Re-enqueues outbox rows whose job was lost (a crash between commit and enqueue, a Redis flush). */
  async redispatchStale(olderThanMs: number): Promise<number> {
    const stale = await this.repository.findStalePending(new Date(Date.now() - olderThanMs), 500);
    await this.dispatch(stale);
    return stale.length;
  }

  /** One webhook delivery attempt; throws on failure so that BullMQ backs off and retries. */
  async deliver(notificationId: string, attempt: number, isFinalAttempt: boolean): Promise<DeliveryResult> {
    const notification = await this.repository.findById(notificationId);
    if (
      !notification ||
      notification.status !== NotificationStatus.Pending ||
      (notification.channel as NotificationChannel) !== NotificationChannel.Webhook
    )
      return 'already_final';
    if (!this.settings.webhookUrl) {
      await this.repository.markSkipped(notificationId, 'WEBHOOK_URL is not configured');
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
    await this.repository.recordAttempt({
      notificationId,
      attempt,
      statusCode,
      error,
      durationMs: Date.now() - started,
      final: isFinalAttempt,
    });
    if (error !== null) throw new Error(`Webhook delivery ${notificationId} failed: ${error}`);
    return 'delivered';
  }
}
