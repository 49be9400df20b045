import { Injectable } from '@nestjs/common';
import { redact } from '../common/redaction';
import { currentRequestId } from '../common/request-context';
import { Database, Tx } from '../database/database';
import { json, Sql, sql } from '../database/sql';

export interface Actor {
  type: 'user' | 'system' | 'daraja';
  id?: string | null;
  ipAddress?: string | null;
  requestId?: string | null;
}

export const SYSTEM_ACTOR: Actor = { type: 'system', id: 'worker' };

export interface AuditEntry {
  action: string;
  entityType: string;
  entityId?: string | null;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  metadata?: Record<string, unknown> | null;
}

/**
 * The append-only audit trail, and the only writer of `audit_events`. An event is written in the caller's
 * transaction (`record(..., tx)`) or inside the caller's own statement (`insertSql`), so it commits with the change
 * it describes, or not at all.
 */
@Injectable()
export class AuditService {
  constructor(private readonly db: Database) {}

  async record(actor: Actor, entry: AuditEntry, tx?: Tx): Promise<void> {
    await this.db.query(this.insertSql(actor, [entry]), tx);
  }

  /** The INSERT of `entries` as part of a larger statement; `when` makes it conditional (see changeWithEffects). */
  insertSql(actor: Actor, entries: AuditEntry[], when: Sql = sql`TRUE`): Sql {
    // A worker's SYSTEM_ACTOR names no request: the one its job carries is used (src/common/request-context.ts).
    const requestId = actor.requestId ?? currentRequestId() ?? null;
    const rows = entries.map((entry) => ({
      actor_type: actor.type,
      actor_id: actor.id ?? null,
      action: entry.action,
      entity_type: entry.entityType,
      entity_id: entry.entityId ?? null,
      before: entry.before ? redact(entry.before) : null,
      after: entry.after ? redact(entry.after) : null,
      metadata: entry.metadata ? redact(entry.metadata) : null,
      ip_address: actor.ipAddress ?? null,
      request_id: requestId,
    }));
    return sql`INSERT INTO audit_events (actor_type, actor_id, action, entity_type, entity_id, before, after, metadata, ip_address, request_id)
      SELECT e.actor_type, e.actor_id, e.action, e.entity_type, e.entity_id, e.before, e.after, e.metadata, e.ip_address, e.request_id
        FROM jsonb_to_recordset(${json(rows)}::jsonb) AS e(actor_type varchar, actor_id varchar, action varchar, entity_type varchar,
             entity_id varchar, before jsonb, after jsonb, metadata jsonb, ip_address varchar, request_id varchar)
       WHERE ${when}
      RETURNING id`;
  }
}
