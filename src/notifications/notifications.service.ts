import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Queue } from 'bullmq';
import { addJob } from '../common/queues/add-job';
import { currentRequestId, withRequestId } from '../common/request-context';
import { notificationsConfig } from '../config/configuration';
import { ClientNotificationEventName } from '../config/env.validation';
import { Database, Tx } from '../database/database';
import { Sql } from '../database/sql';
import { EmailChannel } from './channels/email.channel';
import { SmsChannel } from './channels/sms.channel';
import { planClientNotifications } from './client-notifications';
import { Notification, NotificationChannel, NotificationStatus } from './notification.entity';
import { AnyNotificationJob, NOTIFICATION_JOB_DEFAULTS, NOTIFICATIONS_QUEUE, NotificationJob } from './notification-jobs';
import { DeliveryAttempt, NewNotification, NotificationsRepository, WrittenNotification } from './notifications.repository';
import { WebhookDeliveryService } from './webhooks/webhook-delivery.service';
import { WebhookEndpointsRepository, WebhookRoute } from './webhooks/webhook-endpoints.repository';
import { nextAttemptAt } from './webhooks/webhook-retry';
import { WebhookSender } from './webhooks/webhook-sender';

export type DeliveryResult = 'delivered' | 'skipped' | 'already_final';

/** How long `dispatch` holds its caller for the enqueues (a healthy Redis answers in a few ms); see dispatch. */
export const DISPATCH_WAIT_MS = 250;

const JOB_FOR_CHANNEL: Partial<Record<NotificationChannel, NotificationJob>> = {
  [NotificationChannel.Email]: NotificationJob.DeliverEmail,
  [NotificationChannel.Sms]: NotificationJob.DeliverSms,
};

/**
 * The only way out to LegalPro, clients and operators: outbox rows written with the change they announce (in the
 * caller's transaction or statement), then a retried, recorded delivery once that change has committed: LegalPro's
 * webhooks claimed from Postgres by the workers in batches (WebhookOutboxPoller), emails and SMS as queued jobs.
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
    private readonly endpoints: WebhookDeliveryService,
    private readonly sender: WebhookSender,
    private readonly endpointRoutes: WebhookEndpointsRepository,
    private readonly db: Database,
  ) {}

  /**
   * LegalPro's webhook row for an event: the event itself (its id is the event's id), and the default endpoint's
   * (WEBHOOK_URL) delivery record. Always pending: the worker that claims it hands the event to the registered
   * endpoints (which only the database knows) and then, with no WEBHOOK_URL, records the row as `skipped`.
   */
  webhook(event: string, subjectId: string, payload: object): NewNotification {
    return { channel: NotificationChannel.Webhook, event, subjectId, payload, status: NotificationStatus.Pending, lastError: null };
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
   * Queues the delivery jobs of committed email and SMS rows (rows that are not pending have nothing to deliver; webhook
   * rows have no job: WebhookOutboxPoller claims them from Postgres), all at once,
   * and waits for them at most DISPATCH_WAIT_MS. Callers answer someone right after (Daraja, whose callback must be
   * acknowledged within 1 s whatever Redis does; an API client): with Redis hanging (connection open, no answer) each
   * `addJob` waits its whole ENQUEUE_WAIT_MS, and one after the other they held a callback's answer that long per row
   * (test/e2e/callback-edge.e2e-spec.ts measured 1.04 s with a 1 s bound). An enqueue still running goes on in the background; a row
   * it could not queue is committed, and the outbox sweep queues it again.
   */
  async dispatch(rows: WrittenNotification[]): Promise<void> {
    const enqueues = rows
      .filter((row) => row.status === NotificationStatus.Pending && row.channel !== NotificationChannel.Webhook)
      .map((row) => this.enqueue(row));
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

  /**
   * Re-enqueues email and SMS rows, and endpoint deliveries, whose job was lost (a crash between commit and enqueue, a
   * Redis flush): Postgres holds every pending delivery and when it is due.
   */
  async redispatchStale(olderThanMs: number): Promise<number> {
    const stale = await this.repository.findStalePending(new Date(Date.now() - olderThanMs), 500);
    await this.dispatch(stale);
    return stale.length + (await this.endpoints.redispatchDue(olderThanMs));
  }

  /**
   * One round of LegalPro's webhooks (WebhookOutboxPoller), in one transaction: locks up to `limit` due rows no other
   * worker holds (`onClaimed` is told how many, at once), makes one attempt of each to the default endpoint
   * (WEBHOOK_URL), all at the same time, and records them with one statement before the locks go. Each event is first
   * handed to the registered endpoints (once), whatever becomes of its delivery. `holdMs`: the longest the round may
   * sit between two statements (its attempts' deadline and a margin); past it Postgres ends the transaction, and a
   * live worker takes the rows.
   */
  async deliverDueWebhooks(limit: number, holdMs: number, onClaimed: (count: number) => void): Promise<void> {
    await this.db.transaction(async (tx) => {
      const claimed = await this.repository.lockDueWebhooks<WebhookRoute>(tx, limit, this.endpointRoutes.routesSql());
      onClaimed(claimed.length);
      if (!claimed.length) return;
      // Only a round that holds rows needs the bound (an idle poll is three round trips, not four).
      await this.repository.limitIdleHold(tx, holdMs);
      const outcomes = await Promise.allSettled(
        claimed.map(({ notification, routes }) => withRequestId(notification.requestId, () => this.attempt(notification, routes))),
      );
      // A row whose attempt failed on our side (its fan-out could not be written) is taken again by the next round;
      // the others' attempts are recorded all the same.
      const attempts: DeliveryAttempt[] = [];
      const skipped: string[] = [];
      outcomes.forEach((outcome, i) => {
        const id = claimed[i].notification.id;
        if (outcome.status === 'rejected')
          this.logger.warn(`Webhook ${id}: its attempt failed on our side (${String(outcome.reason)}); retried`);
        else if (outcome.value === 'skipped') skipped.push(id);
        else attempts.push(outcome.value);
      });
      // With no WEBHOOK_URL there is nothing to attempt: the rows are recorded as skipped, fanned out just now.
      await this.repository.markSkipped(skipped, 'WEBHOOK_URL is not configured', { fannedOut: true, tx });
      await this.repository.recordAttempts(attempts, tx);
    });
  }

  /** One attempt of a claimed event, or `skipped` when there is nowhere to send it (no WEBHOOK_URL). */
  private async attempt(notification: Notification, routes: WebhookRoute[] | null): Promise<DeliveryAttempt | 'skipped'> {
    const event = { id: notification.id, event: notification.event, createdAt: notification.createdAt, payload: notification.payload };
    // Fanned out once; marked by this delivery's own write (a crash in between only repeats the fan-out).
    const fannedOut = !notification.endpointsFannedOutAt;
    if (fannedOut) await this.endpoints.fanOut(event, routes ?? []);
    if (!this.settings.webhookUrl) return 'skipped';
    const attempt = notification.attempts + 1;
    const result = await this.sender.send({ url: this.settings.webhookUrl, secrets: this.settings.webhookSecrets, checkUrl: false }, event);
    const retryAt = result.error === null ? null : nextAttemptAt(attempt - notification.attemptsBeforeRedelivery, this.settings);
    return {
      notificationId: notification.id,
      attempt,
      statusCode: result.statusCode,
      error: result.error,
      durationMs: result.durationMs,
      final: retryAt === null,
      nextAttemptAt: retryAt,
      fannedOut,
    };
  }
}
