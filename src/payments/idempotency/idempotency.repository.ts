import { Injectable } from '@nestjs/common';
import { Database, Tx } from '../../database/database';
import { json, sql } from '../../database/sql';
import { IdempotencyRecord } from './idempotency-record.entity';

/** How long a first request may run before another request with its key may take over. */
export const IN_FLIGHT_LOCK_MS = 60_000;

/** The only writer of `idempotency_records`. */
@Injectable()
export class IdempotencyRepository {
  constructor(private readonly db: Database) {}

  find(clientId: string, key: string): Promise<IdempotencyRecord | null> {
    return this.db.manager.findOneBy(IdempotencyRecord, { clientId, key });
  }

  /** Takes the key for a first request; false when it is already taken. An expired record is forgotten first. */
  async claim(clientId: string, key: string, fingerprint: string, ttlHours: number): Promise<boolean> {
    await this.db.query(sql`DELETE FROM idempotency_records WHERE client_id = ${clientId} AND key = ${key} AND expires_at < now()`);
    const rows = await this.db.query(
      sql`INSERT INTO idempotency_records (client_id, key, request_hash, state, locked_until, expires_at)
          VALUES (${clientId}, ${key}, ${fingerprint}, 'in_flight', now() + ${IN_FLIGHT_LOCK_MS} * interval '1 millisecond',
                  now() + ${ttlHours} * interval '1 hour')
          ON CONFLICT (client_id, key) DO NOTHING
          RETURNING key`,
    );
    return rows.length > 0;
  }

  /** Takes over a key whose first request's process died mid-way (its lock expired). */
  async takeOver(clientId: string, key: string): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE idempotency_records SET locked_until = now() + ${IN_FLIGHT_LOCK_MS} * interval '1 millisecond'
           WHERE client_id = ${clientId} AND key = ${key} AND state = 'in_flight' AND locked_until < now()
           RETURNING key`,
    );
    return rows.length > 0;
  }

  async complete(clientId: string, key: string, answer: { status: number; body: unknown }): Promise<void> {
    await this.db.query(
      sql`UPDATE idempotency_records SET state = 'completed', response_status = ${answer.status}, response_body = ${json(answer.body)}::jsonb
           WHERE client_id = ${clientId} AND key = ${key}`,
    );
  }

  /** Frees a key whose request failed before anything was stored, so the client may retry with it. */
  async release(clientId: string, key: string): Promise<void> {
    await this.db.query(sql`DELETE FROM idempotency_records WHERE client_id = ${clientId} AND key = ${key} AND state = 'in_flight'`);
  }

  /** Replaces stored answers (personal data scrubbed, src/privacy); only rows whose body changes are written. */
  async rewriteBodies(tx: Tx, rows: { clientId: string; key: string; value: unknown }[]): Promise<number> {
    if (!rows.length) return 0;
    const changed = await this.db.query(
      sql`UPDATE idempotency_records t SET response_body = NULLIF(v.value, 'null'::jsonb)
            FROM jsonb_to_recordset(${json(rows)}::jsonb) AS v("clientId" varchar, key varchar, value jsonb)
           WHERE t.client_id = v."clientId" AND t.key = v.key AND t.response_body IS DISTINCT FROM NULLIF(v.value, 'null'::jsonb)
           RETURNING t.key`,
      tx,
    );
    return changed.length;
  }
}
