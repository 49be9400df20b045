import { Injectable } from '@nestjs/common';
import { Database, Tx } from '../database/database';
import { json, sql } from '../database/sql';
import { TransactionStatusQuery } from './transaction-status-query.entity';

type QueryResult = Partial<Pick<TransactionStatusQuery, 'status' | 'resultCode' | 'resultDesc' | 'result' | 'completedAt'>>;

/** The only writer of `transaction_status_queries`; a query leaves `pending` once (a guarded UPDATE). */
@Injectable()
export class TransactionStatusRepository {
  constructor(private readonly db: Database) {}

  insert(
    query: Pick<TransactionStatusQuery, 'transactionId' | 'queriedConversationId' | 'payoutId' | 'reversalId' | 'requestedBy'>,
  ): Promise<TransactionStatusQuery> {
    const manager = this.db.manager;
    return manager.save(manager.create(TransactionStatusQuery, { ...query, status: 'pending' }));
  }

  async markAccepted(id: string, originatorConversationId: string, conversationId: string): Promise<void> {
    await this.db.manager.update(TransactionStatusQuery, { id, status: 'pending' }, { originatorConversationId, conversationId });
  }

  async settle(id: string, result: QueryResult): Promise<boolean> {
    const update = await this.db.manager.update(TransactionStatusQuery, { id, status: 'pending' }, result);
    return Boolean(update.affected);
  }

  findById(id: string): Promise<TransactionStatusQuery | null> {
    return this.db.manager.findOneBy(TransactionStatusQuery, { id });
  }

  /** Replaces stored results (personal data scrubbed, src/privacy); only rows whose result changes are written. */
  async rewriteResults(tx: Tx, rows: { id: string; value: unknown }[]): Promise<number> {
    if (!rows.length) return 0;
    const changed = await this.db.query(
      sql`UPDATE transaction_status_queries t SET result = NULLIF(v.value, 'null'::jsonb)
            FROM jsonb_to_recordset(${json(rows)}::jsonb) AS v(id uuid, value jsonb)
           WHERE t.id = v.id AND t.result IS DISTINCT FROM NULLIF(v.value, 'null'::jsonb)
           RETURNING t.id`,
      tx,
    );
    return changed.length;
  }

  /** Requests still pending after `before`: their result will not come (M-Pesa does not resend these). */
  async expireOlderThan(before: Date, why: string): Promise<number> {
    const rows = await this.db.query(
      sql`UPDATE transaction_status_queries SET status = 'expired', result_desc = ${why}, completed_at = now(), updated_at = now()
           WHERE status = 'pending' AND created_at < ${before} RETURNING id`,
    );
    return rows.length;
  }
}
