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
  insert(
    tx: Tx,
    reversal: Pick<Reversal, 'paymentId' | 'amount' | 'reason' | 'requestedBy' | 'requestId' | 'idempotencyKey'>,
  ): Promise<Reversal> {
    return tx.save(tx.create(Reversal, { ...reversal, status: ReversalStatus.Pending }));
  }

  findByIdempotencyKey(requestedBy: string, key: string): Promise<Reversal | null> {
    return this.db.manager.findOneBy(Reversal, { requestedBy, idempotencyKey: key });
  }

  /** The reversal locked for the rest of `tx` (a person's decision on it). */
  async lock(tx: Tx, id: string): Promise<Reversal | null> {
    const row = await this.db.one(sql`SELECT * FROM reversals WHERE id = ${id} FOR UPDATE`, tx);
    return row ? this.db.toEntity(Reversal, row) : null;
  }

  /** Reversals whose result is overdue (submitted) or whose outcome is still open, not touched since `before`. */
  findStale(statuses: ReversalStatus[], before: Date, limit: number): Promise<Reversal[]> {
    return this.db.manager
      .createQueryBuilder(Reversal, 'r')
      .where('r.status IN (:...statuses)', { statuses })
      .andWhere('r.updatedAt < :before', { before })
      .andWhere('r.reviewReason IS NULL')
      .orderBy('r.updatedAt', 'ASC')
      .addOrderBy('r.id', 'ASC')
      .take(limit)
      .getMany();
  }

  /** The outcome is not known (no result in time, a queue timeout, the send's answer lost). */
  async markUnknown(id: string, from: ReversalStatus[], resultDesc: string, tx?: Tx): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE reversals SET status = 'unknown', result_desc = ${resultDesc}, updated_at = now()
           WHERE id = ${id} AND status = ANY(${from}) RETURNING id`,
      tx,
    );
    return rows.length > 0;
  }

  /** Counts one more Transaction Status query, guarded by the count read: two workers never both ask. */
  async countStatusCheck(id: string, checksSoFar: number): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE reversals SET status_checks = status_checks + 1, updated_at = now()
           WHERE id = ${id} AND status = 'unknown' AND status_checks = ${checksSoFar} RETURNING id`,
    );
    return rows.length > 0;
  }

  async countNotFound(id: string): Promise<number> {
    const row = await this.db.one<{ not_found_answers: number }>(
      sql`UPDATE reversals SET not_found_answers = not_found_answers + 1, updated_at = now() WHERE id = ${id} RETURNING not_found_answers`,
    );
    return row?.not_found_answers ?? 0;
  }

  async markUnderReview(tx: Tx, id: string, reason: string): Promise<void> {
    await this.db.query(
      sql`UPDATE reversals SET review_reason = COALESCE(review_reason, ${reason}), updated_at = now() WHERE id = ${id}`,
      tx,
    );
  }

  async setReviewMark(tx: Tx, id: string, reason: string | null): Promise<void> {
    await this.db.query(
      sql`UPDATE reversals SET review_reason = ${reason}, updated_at = now() WHERE id = ${id} AND review_reason IS DISTINCT FROM ${reason}`,
      tx,
    );
  }

  async markSubmitted(id: string, originatorConversationId: string | null, conversationId: string | null, tx?: Tx): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE reversals SET status = 'submitted', originator_conversation_id = ${originatorConversationId}, conversation_id = ${conversationId},
                 submitted_at = now(), updated_at = now()
           WHERE id = ${id} AND status = 'pending' RETURNING id`,
      tx,
    );
    return rows.length > 0;
  }

  /** Daraja refused the request (failed), or its answer was lost (unknown). */
  async markUnsent(
    id: string,
    to: ReversalStatus.Failed | ReversalStatus.Unknown,
    resultCode: string | null,
    resultDesc: string,
    tx?: Tx,
  ): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE reversals SET status = ${to}::varchar, result_code = ${resultCode}, result_desc = ${resultDesc},
                 failed_at = CASE WHEN ${to}::varchar = 'failed' THEN now() END, updated_at = now()
           WHERE id = ${id} AND status = 'pending' RETURNING id`,
      tx,
    );
    return rows.length > 0;
  }

  /** The outcome: completed or failed, from any state still open (or, by a person's decision, from `from`). */
  async finish(
    tx: Tx,
    id: string,
    to: ReversalStatus.Completed | ReversalStatus.Failed,
    result: { transactionId: string | null; resultCode: string | null; resultDesc: string; payload: unknown },
    from: ReversalStatus[] = OPEN_REVERSAL_STATUSES,
  ): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE reversals SET status = ${to}::varchar, transaction_id = ${result.transactionId}, result_code = ${result.resultCode},
                 result_desc = ${result.resultDesc}, result_payload = COALESCE(${result.payload === undefined ? null : json(result.payload)}::jsonb, result_payload),
                 completed_at = CASE WHEN ${to}::varchar = 'completed' THEN now() END,
                 failed_at = CASE WHEN ${to}::varchar = 'failed' THEN now() END, updated_at = now()
           WHERE id = ${id} AND status = ANY(${from}) RETURNING id`,
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
