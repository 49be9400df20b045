import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What GET /api/payments/analytics needs to stay fast on millions of payments (figures in bench/README.md,
 * "Payment analytics"):
 *
 * - ix_payments_created_analytics: created_at, carrying every column the analytics statement reads, so a window
 *   is answered by an index-only scan (about 80 bytes a payment) instead of visiting the wide payments rows
 *   (about 1.5 kB each with their Daraja payloads). TypeORM's @Index cannot express INCLUDE, so the entity does
 *   not declare this index (like the partial indexes of InitialSchema): a generated migration that proposes to
 *   drop it is wrong.
 * - st_payments_created_kenya_day: statistics on the Kenya-day expression the statement groups by. Without them
 *   Postgres guesses one day per payment, picks a sort that spills to disk instead of a small hash table, and
 *   the query takes up to twice as long.
 *
 * CONCURRENTLY, outside a transaction, so that payments keep being written while the index builds.
 */
export class AnalyticsIndexes1764151200000 implements MigrationInterface {
  name = 'AnalyticsIndexes1764151200000';
  transaction = false;

  public async up(q: QueryRunner): Promise<void> {
    // A concurrent build that failed leaves an invalid index behind; this migration then never got recorded.
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS "ix_payments_created_analytics"`);
    await q.query(
      `CREATE INDEX CONCURRENTLY "ix_payments_created_analytics" ON "payments" ("created_at")
         INCLUDE ("status", "payment_type", "result_code", "amount", "refunded_amount", "initiated_at", "completed_at")`,
    );
    await q.query(
      `CREATE STATISTICS IF NOT EXISTS "st_payments_created_kenya_day" ON (date_trunc('day', "created_at" AT TIME ZONE 'Africa/Nairobi')) FROM "payments"`,
    );
    // Fills the new statistics now rather than at autovacuum's next analyze.
    await q.query(`ANALYZE "payments"`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP STATISTICS IF EXISTS "st_payments_created_kenya_day"`);
    // Not CONCURRENTLY: TypeORM reverts inside a transaction whatever `transaction` says; dropping is quick anyway.
    await q.query(`DROP INDEX IF EXISTS "ix_payments_created_analytics"`);
  }
}
