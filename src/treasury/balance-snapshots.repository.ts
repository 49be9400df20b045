import { Injectable } from '@nestjs/common';
import { sql } from '../database/sql';
import { Database } from '../database/database';
import { MoreThan } from 'typeorm';
import { BalanceSnapshot } from './balance-snapshot.entity';

type SnapshotResult = Partial<
  Pick<BalanceSnapshot, 'status' | 'accounts' | 'rawBalance' | 'resultCode' | 'resultDesc' | 'conversationId' | 'completedAt'>
>;

/** The only writer of `balance_snapshots`; a snapshot leaves `pending` once (a guarded UPDATE). */
@Injectable()
export class BalanceSnapshotsRepository {
  constructor(private readonly db: Database) {}

  insert(shortcode: string, requestedBy: string): Promise<BalanceSnapshot> {
    const manager = this.db.manager;
    return manager.save(manager.create(BalanceSnapshot, { status: 'pending', shortcode, requestedBy }));
  }

  /** Daraja accepted the query: its ids, the snapshot still pending. */
  async markAccepted(id: string, originatorConversationId: string, conversationId: string): Promise<void> {
    await this.db.manager.update(BalanceSnapshot, { id, status: 'pending' }, { originatorConversationId, conversationId });
  }

  /** Moves a pending snapshot to its result; false when it had already left `pending`. */
  async settle(id: string, result: SnapshotResult): Promise<boolean> {
    const update = await this.db.manager.update(BalanceSnapshot, { id, status: 'pending' }, result);
    return Boolean(update.affected);
  }

  findById(id: string): Promise<BalanceSnapshot | null> {
    return this.db.manager.findOneBy(BalanceSnapshot, { id });
  }

  latestCompleted(since?: Date): Promise<BalanceSnapshot | null> {
    return this.db.manager.findOne(BalanceSnapshot, {
      where: { status: 'completed', ...(since ? { completedAt: MoreThan(since) } : {}) },
      order: { completedAt: 'DESC' },
    });
  }

  /** Requests still pending after `before`: their result will not come (M-Pesa does not resend these). */
  async expireOlderThan(before: Date, why: string): Promise<number> {
    const rows = await this.db.query(
      sql`UPDATE balance_snapshots SET status = 'expired', result_desc = ${why}, completed_at = now(), updated_at = now()
           WHERE status = 'pending' AND created_at < ${before} RETURNING id`,
    );
    return rows.length;
  }
}
