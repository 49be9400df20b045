import { Injectable } from '@nestjs/common';
import { Database } from '../../database/database';
import { json, sql } from '../../database/sql';

export enum WebhookDeliveryStatus {
  Pending = 'pending',
  Delivered = 'delivered',
  Failed = 'failed',
}

/** A delivery with what its job needs to send it: the event (the outbox row) and the endpoint. */
export interface DeliveryToSend {
  id: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  attemptsBeforeRedelivery: number;
  nextAttemptAt: Date;
  eventId: string;
  event: string;
  payload: object;
  eventCreatedAt: Date;
  endpointId: string;
}

export interface EndpointAttempt {
  deliveryId: string;
  attempt: number;
  statusCode: number | null;
  /** null when the endpoint answered 2xx. */
  error: string | null;
  durationMs: number;
  /** When to try again; null when this attempt ends the delivery (delivered, or failed for good). */
  nextAttemptAt: Date | null;
}

/** One row of `GET /api/webhook-deliveries`: an endpoint's delivery, or the default endpoint's (the outbox row). */
export interface DeliveryListRow {
  id: string;
  eventId: string;
  /** An endpoint's id, or `default` for WEBHOOK_URL. */
  endpointId: string;
  event: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  createdAt: Date;
}

export interface DeliveryFilter {
  status?: string;
  endpointId?: string;
  /** An event's name, or a family (`payment.*`). */
  event?: string;
  from?: Date;
  to?: Date;
  page: number;
  limit: number;
}

/** The only writer of `webhook_deliveries` and `webhook_delivery_attempts`. */
@Injectable()
export class WebhookDeliveriesRepository {
  constructor(private readonly db: Database) {}

  /**
   * One delivery per endpoint for an event; an endpoint that already has one (a repeated job) gets no second. A
   * disabled endpoint's delivery is written `failed` at once: nothing is sent, but a bulk redelivery after it is
   * enabled again finds it, so an endpoint paused or disabled for days can still get every event.
   */
  async insertForEvent(eventId: string, event: string, endpoints: { id: string; enabled: boolean }[]): Promise<string[]> {
    if (!endpoints.length) return [];
    const rows = await this.db.query<{ id: string; status: WebhookDeliveryStatus }>(
      sql`INSERT INTO webhook_deliveries (notification_id, endpoint_id, event, status, last_error)
          SELECT ${eventId}, e.id, ${event}, CASE WHEN e.enabled THEN 'pending' ELSE 'failed' END,
                 CASE WHEN e.enabled THEN NULL ELSE 'endpoint disabled' END
            FROM jsonb_to_recordset(${json(endpoints)}::jsonb) AS e(id uuid, enabled boolean)
          ON CONFLICT (notification_id, endpoint_id) DO NOTHING
          RETURNING id, status`,
    );
    return rows.filter((r) => r.status === WebhookDeliveryStatus.Pending).map((r) => r.id);
  }

  findForSending(id: string): Promise<DeliveryToSend | null> {
    return this.db.one<DeliveryToSend>(
      sql`SELECT d.id, d.status, d.attempts, d.attempts_before_redelivery AS "attemptsBeforeRedelivery", d.next_attempt_at AS "nextAttemptAt",
                 n.id AS "eventId", n.event, n.payload, n.created_at AS "eventCreatedAt", d.endpoint_id AS "endpointId"
            FROM webhook_deliveries d JOIN notifications n ON n.id = d.notification_id
           WHERE d.id = ${id}`,
    );
  }

  /** The attempt row and the delivery's new state commit together; only a pending delivery moves. */
  async recordAttempt(a: EndpointAttempt): Promise<void> {
    const status =
      a.error === null ? WebhookDeliveryStatus.Delivered : a.nextAttemptAt ? WebhookDeliveryStatus.Pending : WebhookDeliveryStatus.Failed;
    await this.db.query(sql`WITH attempt AS (
         INSERT INTO webhook_delivery_attempts (delivery_id, attempt, status_code, error, duration)
         VALUES (${a.deliveryId}, ${a.attempt}, ${a.statusCode}, ${a.error}, ${a.durationMs})
       )
       UPDATE webhook_deliveries
          SET attempts = ${a.attempt}, last_status_code = ${a.statusCode}, last_error = ${a.error}, status = ${status}::varchar,
              next_attempt_at = COALESCE(${a.nextAttemptAt}::timestamptz, next_attempt_at),
              delivered_at = CASE WHEN ${status}::varchar = 'delivered' THEN now() ELSE delivered_at END, updated_at = now()
        WHERE id = ${a.deliveryId} AND status = 'pending'`);
  }

  /** Ends a pending delivery without an attempt (its endpoint was disabled or deleted meanwhile). */
  async markFailed(id: string, reason: string): Promise<void> {
    await this.db.query(
      sql`UPDATE webhook_deliveries SET status = 'failed', last_error = ${reason}, updated_at = now() WHERE id = ${id} AND status = 'pending'`,
    );
  }

  /** Pending deliveries due before `before` (their job was lost: a crash, a Redis flush). */
  async findDue(before: Date, limit: number): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      sql`SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at < ${before} ORDER BY next_attempt_at LIMIT ${limit}`,
    );
    return rows.map((r) => r.id);
  }

  /** Starts a new run of attempts for a delivery that ended (delivered or failed); none for one still pending. */
  async redeliver(id: string): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE webhook_deliveries SET status = 'pending', attempts_before_redelivery = attempts, next_attempt_at = now(), updated_at = now()
           WHERE id = ${id} AND status <> 'pending' RETURNING id`,
    );
    return rows.length > 0;
  }

  /** Every failed delivery of an endpoint whose event is from `since` on, started again. */
  async redeliverFailedSince(endpointId: string, since: Date): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      sql`UPDATE webhook_deliveries SET status = 'pending', attempts_before_redelivery = attempts, next_attempt_at = now(), updated_at = now()
           WHERE endpoint_id = ${endpointId} AND status = 'failed' AND created_at >= ${since} RETURNING id`,
    );
    return rows.map((r) => r.id);
  }

  /** The endpoints' deliveries and the default endpoint's (outbox rows), newest first; read-only across both tables. */
  async list(f: DeliveryFilter): Promise<[DeliveryListRow[], number]> {
    const rows = await this.db.query<DeliveryListRow & { total: number }>(
      sql`SELECT x.*, count(*) OVER ()::int AS total FROM (
            SELECT d.id, d.notification_id AS "eventId", d.endpoint_id::text AS "endpointId", d.event, d.status, d.attempts,
                   d.last_status_code AS "lastStatusCode", d.last_error AS "lastError",
                   CASE WHEN d.status = 'pending' THEN d.next_attempt_at END AS "nextAttemptAt",
                   d.delivered_at AS "deliveredAt", d.created_at AS "createdAt"
              FROM webhook_deliveries d
            UNION ALL
            SELECT n.id, n.id, 'default', n.event, n.status, n.attempts,
                   (SELECT a.status_code FROM notification_attempts a WHERE a.notification_id = n.id ORDER BY a.id DESC LIMIT 1),
                   n.last_error, CASE WHEN n.status = 'pending' THEN n.next_attempt_at END, n.delivered_at, n.created_at
              FROM notifications n
             WHERE n.channel = 'webhook' AND n.status <> 'skipped'
          ) x
          WHERE (${f.status ?? null}::varchar IS NULL OR x.status = ${f.status ?? null}::varchar)
            AND (${f.endpointId ?? null}::text IS NULL OR x."endpointId" = ${f.endpointId ?? null}::text)
            AND (${f.event ?? null}::varchar IS NULL OR x.event = ${f.event ?? null}::varchar
                 OR (right(${f.event ?? null}::varchar, 2) = '.*' AND x.event LIKE left(${f.event ?? null}::varchar, -1) || '%'))
            AND (${f.from ?? null}::timestamptz IS NULL OR x."createdAt" >= ${f.from ?? null}::timestamptz)
            AND (${f.to ?? null}::timestamptz IS NULL OR x."createdAt" < ${f.to ?? null}::timestamptz)
          ORDER BY x."createdAt" DESC, x.id
          LIMIT ${f.limit} OFFSET ${(f.page - 1) * f.limit}`,
    );
    const total = rows[0]?.total ?? 0;
    return [rows.map(({ total: _total, ...row }) => row), total];
  }

  /** Every attempt of one delivery (an endpoint's, or the default endpoint's outbox row), in order. */
  attemptsOf(id: string): Promise<{ attempt: number; statusCode: number | null; error: string | null; durationMs: number; at: Date }[]> {
    return this.db.query(
      sql`SELECT attempt, status_code AS "statusCode", error, duration AS "durationMs", created_at AS "at" FROM webhook_delivery_attempts WHERE delivery_id = ${id}
          UNION ALL
          SELECT attempt, status_code, error, duration, created_at FROM notification_attempts WHERE notification_id = ${id}
          ORDER BY at, attempt`,
    );
  }
}
