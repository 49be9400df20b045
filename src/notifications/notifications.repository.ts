import { Injectable } from '@nestjs/common';
import { redact } from '../common/redaction';
import { currentRequestId } from '../common/request-context';
import { Database, Tx } from '../database/database';
import { json, Sql, sql } from '../database/sql';
import { Notification, NotificationChannel, NotificationStatus } from './notification.entity';

/** An outbox row to write: what to tell, to whom (the channel), and whether a job must deliver it. */
export interface NewNotification {
  channel: NotificationChannel;
  event: string;
  subjectId: string;
  payload: object;
  status: NotificationStatus.Pending | NotificationStatus.Skipped;
  /** Why a skipped row is skipped. */
  lastError: string | null;
}

/** A written outbox row, as its delivery job needs it. */
export interface WrittenNotification {
  id: string;
  channel: NotificationChannel;
  status: NotificationStatus;
}

/** A webhook row a worker holds (lockDueWebhooks), with the endpoints to fan it out to while it has not been. */
export interface ClaimedWebhook<R> {
  notification: Notification;
  routes: R[] | null;
}

export interface DeliveryAttempt {
  notificationId: string;
  attempt: number;
  statusCode: number | null;
  /** null when the channel accepted the message. */
  error: string | null;
  durationMs: number;
  /** Masked address or number (email, SMS); none for the webhook. */
  recipient?: string;
  /** The notification ends here (a permanent refusal, or the last attempt); otherwise it stays pending for a retry. */
  final: boolean;
  /** Webhook: when the next attempt is due (a failed attempt that is not final). */
  nextAttemptAt?: Date | null;
  /** Webhook: the event was just handed to the registered endpoints; recorded with the attempt. */
  fannedOut?: boolean;
}

/** The only writer of `notifications` (the outbox) and `notification_attempts`. */
@Injectable()
export class NotificationsRepository {
  constructor(private readonly db: Database) {}

  /** Writes outbox rows in the caller's transaction. */
  insert(tx: Tx, rows: NewNotification[]): Promise<WrittenNotification[]> {
    if (rows.length === 0) return Promise.resolve([]);
    return this.db.query<WrittenNotification>(this.insertSql(rows), tx);
  }

  /** The same INSERT as part of the caller's statement (see changeWithEffects); `when` makes it conditional. */
  insertSql(rows: NewNotification[], when: Sql = sql`TRUE`): Sql {
    // Payloads are redacted here, once, whoever builds them: no phone number or secret leaves in an event.
    // Filed under the request that caused the change (a callback's: its payment's), for the delivery's log lines.
    const requestId = currentRequestId() ?? null;
    const values = rows.map((r) => ({
      channel: r.channel,
      event: r.event,
      subject_id: r.subjectId,
      payload: redact(r.payload),
      status: r.status,
      last_error: r.lastError,
      request_id: requestId,
    }));
    return sql`INSERT INTO notifications (channel, event, subject_id, payload, status, last_error, request_id)
      SELECT n.channel, n.event, n.subject_id, n.payload, n.status, n.last_error, n.request_id
        FROM jsonb_to_recordset(${json(values)}::jsonb) AS n(channel varchar, event varchar, subject_id varchar, payload jsonb,
             status varchar, last_error text, request_id varchar)
       WHERE ${when}
      RETURNING id, channel, status`;
  }

  findById(id: string): Promise<Notification | null> {
    return this.db.manager.findOneBy(Notification, { id });
  }

  /**
   * In `tx`: up to `limit` webhook rows that are due and that no other worker holds, locked until `tx` ends
   * (WebhookOutboxPoller). Two workers never take the same row (SKIP LOCKED); a worker that dies rolls its transaction
   * back with its connection, and the rows are free at once. `FOR NO KEY UPDATE`, so that the fan-out's
   * webhook_deliveries rows (a foreign key to the event) can still be written meanwhile. Each row comes with `routes`
   * (WebhookEndpointsRepository.routesSql: the endpoints it is to be fanned out to) while it has not been fanned out.
   */
  async lockDueWebhooks<R>(tx: Tx, limit: number, routes: Sql): Promise<ClaimedWebhook<R>[]> {
    const rows = await this.db.query<Record<string, unknown>>(
      sql`SELECT n.*, CASE WHEN n.endpoints_fanned_out_at IS NULL THEN (${routes}) END AS routes
            FROM notifications n
           WHERE n.channel = 'webhook' AND n.status = 'pending' AND COALESCE(n.next_attempt_at, n.created_at) <= now()
           ORDER BY COALESCE(n.next_attempt_at, n.created_at)
           LIMIT ${limit}
             FOR NO KEY UPDATE OF n SKIP LOCKED`,
      tx,
    );
    return rows.map((row) => ({ notification: this.db.toEntity(Notification, row), routes: (row.routes as R[] | null) ?? null }));
  }

  /**
   * Ends `tx` (with its session) if it stays idle longer than `ms`: a worker stuck between its statements does not hold
   * its rows for good.
   */
  async limitIdleHold(tx: Tx, ms: number): Promise<void> {
    await this.db.query(sql`SELECT set_config('idle_in_transaction_session_timeout', ${String(Math.ceil(ms))}, true)`, tx);
  }

  /**
   * Pending email and SMS rows older than `before`, or whose next attempt was due before it: their delivery job was
   * lost (a crash between commit and enqueue, a Redis flush). Webhook rows have no job: the poller claims them.
   */
  findStalePending(before: Date, limit: number): Promise<WrittenNotification[]> {
    return this.db.query<WrittenNotification>(
      sql`SELECT id, channel, status FROM notifications
           WHERE status = 'pending' AND channel <> 'webhook' AND COALESCE(next_attempt_at, created_at) < ${before}
           ORDER BY COALESCE(next_attempt_at, created_at) LIMIT ${limit}`,
    );
  }

  /** Starts a new run of attempts to the default endpoint for a webhook row that ended; none for one still pending. */
  async redeliverWebhook(id: string): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE notifications SET status = 'pending', attempts_before_redelivery = attempts, next_attempt_at = now(), updated_at = now()
           WHERE id = ${id} AND channel = 'webhook' AND status IN ('delivered', 'failed') RETURNING id`,
    );
    return rows.length > 0;
  }

  /** Every failed webhook row (the default endpoint's deliveries) from `since` on, started again. */
  redeliverFailedWebhooksSince(since: Date): Promise<WrittenNotification[]> {
    return this.db.query<WrittenNotification>(
      sql`UPDATE notifications SET status = 'pending', attempts_before_redelivery = attempts, next_attempt_at = now(), updated_at = now()
           WHERE channel = 'webhook' AND status = 'failed' AND created_at >= ${since} RETURNING id, channel, status`,
    );
  }

  /**
   * Every channel's attempt is recorded the same way: the attempt row and the outbox row's new state commit together,
   * and only a still-pending row moves (a duplicate job cannot undo a delivery).
   */
  recordAttempt(a: DeliveryAttempt): Promise<void> {
    return this.recordAttempts([a]);
  }

  /** Several attempts in one statement (a poller's batch of webhooks, in its transaction), each as `recordAttempt` would write it. */
  async recordAttempts(attempts: DeliveryAttempt[], tx?: Tx): Promise<void> {
    if (!attempts.length) return;
    const values = attempts.map((a) => ({
      notification_id: a.notificationId,
      attempt: a.attempt,
      status_code: a.statusCode,
      error: a.error,
      duration: a.durationMs,
      recipient: a.recipient ?? null,
      status: a.error === null ? NotificationStatus.Delivered : a.final ? NotificationStatus.Failed : NotificationStatus.Pending,
      next_attempt_at: a.nextAttemptAt?.toISOString() ?? null,
      fanned_out: a.fannedOut === true,
    }));
    await this.db.query(
      sql`WITH a AS (
         SELECT * FROM jsonb_to_recordset(${json(values)}::jsonb) AS a(notification_id uuid, attempt int, status_code int, error text,
                duration int, recipient varchar, status varchar, next_attempt_at timestamptz, fanned_out boolean)
       ), attempt AS (
         INSERT INTO notification_attempts (notification_id, attempt, status_code, error, duration, recipient)
         SELECT notification_id, attempt, status_code, error, duration, recipient FROM a
       )
       UPDATE notifications n
          SET attempts = a.attempt, last_error = a.error, status = a.status,
              delivered_at = CASE WHEN a.status = 'delivered' THEN now() ELSE n.delivered_at END,
              next_attempt_at = COALESCE(a.next_attempt_at, n.next_attempt_at), updated_at = now(),
              endpoints_fanned_out_at = CASE WHEN a.fanned_out THEN COALESCE(n.endpoints_fanned_out_at, now())
                                             ELSE n.endpoints_fanned_out_at END
         FROM a
        WHERE n.id = a.notification_id AND n.status = 'pending'`,
      tx,
    );
  }

  /**
   * Pending notifications with nowhere to go (channel not configured, no address on record) are recorded as skipped;
   * `fannedOut`: their events were just handed to the registered endpoints.
   */
  async markSkipped(ids: string[], reason: string, options: { fannedOut?: boolean; tx?: Tx } = {}): Promise<void> {
    if (!ids.length) return;
    await this.db.query(
      sql`UPDATE notifications SET status = 'skipped', last_error = ${reason}, updated_at = now(),
                 endpoints_fanned_out_at = CASE WHEN ${options.fannedOut === true} THEN COALESCE(endpoints_fanned_out_at, now())
                                                ELSE endpoints_fanned_out_at END
           WHERE id = ANY(${ids}::uuid[]) AND status = 'pending'`,
      options.tx,
    );
  }

  /** Replaces outbox payloads (personal data scrubbed, src/privacy); only rows whose payload changes are written. */
  async rewritePayloads(tx: Tx, rows: { id: string; value: unknown }[]): Promise<number> {
    if (!rows.length) return 0;
    const changed = await this.db.query(
      sql`UPDATE notifications t SET payload = NULLIF(v.value, 'null'::jsonb)
            FROM jsonb_to_recordset(${json(rows)}::jsonb) AS v(id uuid, value jsonb)
           WHERE t.id = v.id AND t.payload IS DISTINCT FROM NULLIF(v.value, 'null'::jsonb)
           RETURNING t.id`,
      tx,
    );
    return changed.length;
  }

  /**
   * Client emails and SMS not yet sent about these records: never sent now, since the address and number they would
   * go to are gone (webhooks to LegalPro still go, with their payload scrubbed).
   */
  async skipPendingClientMessagesAbout(tx: Tx, subjectIds: string[]): Promise<number> {
    if (!subjectIds.length) return 0;
    const rows = await this.db.query(
      sql`UPDATE notifications SET status = 'skipped', last_error = 'personal data anonymised', updated_at = now()
           WHERE subject_id = ANY(${subjectIds}::text[]) AND channel IN ('email', 'sms') AND status = 'pending'
           RETURNING id`,
      tx,
    );
    return rows.length;
  }
}
