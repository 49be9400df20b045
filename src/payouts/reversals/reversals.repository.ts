import { Injectable } from '@nestjs/common';
import { Database, Tx } from '../../database/database';
import { json, sql } from '../../database/sql';
import { Reversal, ReversalStatus } from './reversal.entity';

export const ONE_ACTIVE_REVERSAL = 'ux_reversals_one_active_per_payment';

/** A reversal whose outcome is not known yet: it may still move the money back. */
export const OPEN_REVERSAL_STATUSES = [ReversalStatus.Pending, ReversalStatus.Submitted, ReversalStatus.Unknown];

/** The only writer of `reversals`; every state change is guarded by the states it may come from. */
@Injectable()
export class ReversalsRepository {
  constructor(private readonly db: Database) {}

  findById(id: string): Promise<Reversal | null> {
    return this.db.manager.findOneBy(Reversal, { id });
  }

  forPayment(paymentId: string): Promise<Reversal[]> {
    return this.db.manager.find(Reversal, { where: { paymentId }, order: { createdAt: 'ASC' } });
  }

  /** An open or completed reversal of the payment (it cannot then be refunded). */
  async findBlocking(tx: Tx, paymentId: string): Promise<Reversal | null> {
    const row = await this.db.one<{ id: string }>(
      sql`SELECT id FROM reversals WHERE payment_id = ${paymentId} AND status = ANY(${[...OPEN_REVERSAL_STATUSES, ReversalStatus.Completed]}) LIMIT 1`,
      tx,
    );
    return row ? this.db.manager.findOneBy(Reversal, { id: row.id }) : null;
  }

  /** A unique index allows one open or completed reversal per payment (ONE_ACTIVE_REVERSAL). */
  insert(tx: Tx, reversal: Pick<Reversal, 'paymentId' | 'amount' | 'reason' | 'requestedBy'>): Promise<Reversal> {
    return tx.save(tx.create(Reversal, { ...reversal, status: ReversalStatus.Pending }));
  }

  async markSubmitted(id: string, originatorConversationId: string | null, conversationId: string | null): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE reversals SET status = 'submitted', originator_conversation_id = ${originatorConversationId}, conversation_id = ${conversationId},
                 updated_at = now()
           WHERE id = ${id} AND status = 'pending' RETURNING id`,
    );
    return rows.length > 0;
  }

  /** Daraja refused the request (failed), or its answer was lost (unknown). */
  async markUnsent(
    id: string,
    to: ReversalStatus.Failed | ReversalStatus.Unknown,
    resultCode: string | null,
    resultDesc: string,
  ): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE reversals SET status = ${to}::varchar, result_code = ${resultCode}, result_desc = ${resultDesc},
                 failed_at = CASE WHEN ${to}::varchar = 'failed' THEN now() END, updated_at = now()
           WHERE id = ${id} AND status = 'pending' RETURNING id`,
    );
    return rows.length > 0;
  }

  /** The result arrived: completed or failed, from any state still open. */
  async finish(
    tx: Tx,
    id: string,
    to: ReversalStatus.Completed | ReversalStatus.Failed,
    result: { transactionId: string | null; resultCode: string; resultDesc: string; payload: unknown },
  ): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE reversals SET status = ${to}::varchar, transaction_id = ${result.transactionId}, result_code = ${result.resultCode},
                 result_desc = ${result.resultDesc}, result_payload = ${json(result.payload)}::jsonb,
                 completed_at = CASE WHEN ${to}::varchar = 'completed' THEN now() END,
                 failed_at = CASE WHEN ${to}::varchar = 'failed' THEN now() END, updated_at = now()
           WHERE id = ${id} AND status = ANY(${OPEN_REVERSAL_STATUSES}) RETURNING id`,
      tx,
    );
    return rows.length > 0;
  }

  /** A queue timeout: the reversal may or may not have happened. */
  async markTimedOut(id: string, resultDesc: string): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE reversals SET status = 'unknown', result_desc = ${resultDesc}, updated_at = now()
           WHERE id = ${id} AND status IN ('pending', 'submitted') RETURNING id`,
    );
    return rows.length > 0;
  }

  /** Replaces result payloads (personal data scrubbed, src/privacy); only rows whose payload changes are written. */
  async rewriteResults(tx: Tx, rows: { id: string; value: unknown }[]): Promise<number> {
    if (!rows.length) return 0;
    const changed = await this.db.query(
      sql`UPDATE reversals t SET result_payload = NULLIF(v.value, 'null'::jsonb)
            FROM jsonb_to_recordset(${json(rows)}::jsonb) AS v(id uuid, value jsonb)
           WHERE t.id = v.id AND t.result_payload IS DISTINCT FROM NULLIF(v.value, 'null'::jsonb)
           RETURNING t.id`,
      tx,
    );
    return changed.length;
  }
}
