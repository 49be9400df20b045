import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reads and the status sweep at a million payments (figures in docs/performance-sweep.md and bench/README.md):
 *
 * - The list (GET /api/payments) orders by (created_at DESC, id DESC) and filters by client, status or payment type.
 *   Each index below is (filter, created_at, id), so a page is the first rows of one index range (or, with a cursor,
 *   the rows after a position in it), and the bounded count reads at most 1,001 matches: neither reads the whole
 *   table. Each also carries the other filter columns (INCLUDE), so a second filter (a client's completed payments,
 *   failed case-filing fees) is checked in the index and the count stays an index-only scan. The old
 *   (client_id, created_at) and (created_at) indexes are replaced by the same with `id`, so the tie-break needs no
 *   sort. TypeORM's @Index cannot express INCLUDE: the entity declares their key columns only.
 * - The sweep walks pending payments by keyset over (initiated_at, id); the old partial index had initiated_at only.
 * - needsReview=true: the few payments with a review open, newest first.
 *
 * CONCURRENTLY, outside a transaction, so that payments keep being written while the indexes build. Each new index
 * is built before the one it replaces is dropped.
 */
const INDEXES: { name: string; replaces?: string; definition: string }[] = [
  {
    name: 'ix_payments_created_id',
    replaces: 'ix_payments_created',
    definition: `("created_at", "id") INCLUDE ("status", "payment_type", "channel")`,
  },
  {
    name: 'ix_payments_client_created_id',
    replaces: 'ix_payments_client_created',
    definition: `("client_id", "created_at", "id") INCLUDE ("status", "payment_type", "channel")`,
  },
  { name: 'ix_payments_status_created', definition: `("status", "created_at", "id") INCLUDE ("payment_type", "channel")` },
  { name: 'ix_payments_type_created', definition: `("payment_type", "created_at", "id") INCLUDE ("status", "channel")` },
  { name: 'ix_payments_review_created', definition: `("created_at", "id") WHERE "review_reason" IS NOT NULL` },
  {
    name: 'ix_payments_pending_initiated_id',
    replaces: 'ix_payments_pending_initiated',
    definition: `("initiated_at", "id") WHERE "status" = 'pending'`,
  },
];

export class PaymentListIndexes1797600000000 implements MigrationInterface {
  name = 'PaymentListIndexes1797600000000';
  transaction = false;

  public async up(q: QueryRunner): Promise<void> {
    for (const index of INDEXES) {
      // A concurrent build that failed leaves an invalid index behind; this migration then never got recorded.
      await q.query(`DROP INDEX CONCURRENTLY IF EXISTS "${index.name}"`);
      await q.query(`CREATE INDEX CONCURRENTLY "${index.name}" ON "payments" ${index.definition}`);
      if (index.replaces) await q.query(`DROP INDEX CONCURRENTLY IF EXISTS "${index.replaces}"`);
    }
    await q.query(`ANALYZE "payments"`);
  }

  public async down(q: QueryRunner): Promise<void> {
    // Not CONCURRENTLY: TypeORM reverts inside a transaction whatever `transaction` says.
    await q.query(`CREATE INDEX IF NOT EXISTS "ix_payments_pending_initiated" ON "payments" ("initiated_at") WHERE "status" = 'pending'`);
    await q.query(`CREATE INDEX IF NOT EXISTS "ix_payments_client_created" ON "payments" ("client_id", "created_at")`);
    await q.query(`CREATE INDEX IF NOT EXISTS "ix_payments_created" ON "payments" ("created_at")`);
    for (const index of INDEXES) await q.query(`DROP INDEX IF EXISTS "${index.name}"`);
  }
}
