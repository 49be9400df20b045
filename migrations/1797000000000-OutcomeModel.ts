import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outcome model (docs/outcome-model.md):
 * - payments may be `expired` (our own give-up, which a later proof of payment still completes); settled_by gains
 *   late_callback, late_status_query and review, longer than 16 characters;
 * - `reviews`: every anomaly a person must decide, several per record, never two for the same evidence;
 * - money-out requests are idempotent (Idempotency-Key stored with the payout or reversal) and a failed payout can
 *   be retried once; Transaction Status's "not found" answers are counted; a payout may wait for a balance answer;
 * - reversals are resolved by Transaction Status like payouts;
 * - Account Balance and Transaction Status requests whose result never comes end `expired`.
 */
export class OutcomeModel1797000000000 implements MigrationInterface {
  name = 'OutcomeModel1797000000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "payments" DROP CONSTRAINT "CHK_payments_status"`);
    await q.query(
      `ALTER TABLE "payments" ADD CONSTRAINT "CHK_payments_status" CHECK ("status" IN ('pending', 'completed', 'failed', 'cancelled', 'timeout', 'expired', 'partially_refunded', 'refunded', 'reversed'))`,
    );
    await q.query(`ALTER TABLE "payments" ALTER COLUMN "settled_by" TYPE varchar(24)`);
    // The sweep asks again, a few times, about payments it let expire: a late "paid" still completes them.
    await q.query(`ALTER TABLE "payments" ADD "late_queries" smallint NOT NULL DEFAULT 0`);
    await q.query(
      `CREATE INDEX "ix_payments_expired_failed_at" ON "payments" ("failed_at") WHERE "status" = 'expired' AND "checkout_request_id" IS NOT NULL`,
    );
    // possible_double_payment: completed payments of one client for one appointment.
    await q.query(
      `CREATE INDEX "ix_payments_client_appointment" ON "payments" ("client_id", "appointment_id") WHERE "appointment_id" IS NOT NULL`,
    );

    await q.query(`
      CREATE TABLE "reviews" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "entity_type" varchar(16) NOT NULL,
        "entity_id" uuid NOT NULL,
        "reason" varchar(32) NOT NULL,
        "status" varchar(16) NOT NULL DEFAULT 'open',
        "evidence" jsonb NOT NULL DEFAULT '{}'::jsonb,
        "fingerprint" varchar(128) NOT NULL,
        "opened_at" timestamptz NOT NULL DEFAULT now(),
        "opened_by" varchar(64),
        "resolved_at" timestamptz,
        "resolved_by" varchar(64),
        "resolution" varchar(16),
        "note" text,
        "request_id" varchar(64),
        CONSTRAINT "PK_reviews" PRIMARY KEY ("id"),
        CONSTRAINT "CHK_reviews_entity_type" CHECK ("entity_type" IN ('payment', 'payout', 'reversal')),
        CONSTRAINT "CHK_reviews_status" CHECK ("status" IN ('open', 'resolved')),
        CONSTRAINT "CHK_reviews_resolution" CHECK ("resolution" IS NULL OR "resolution" IN ('complete', 'fail', 'dismiss')),
        CONSTRAINT "CHK_reviews_resolved" CHECK (("status" = 'resolved') = ("resolved_at" IS NOT NULL))
      )`);
    // The same evidence (a callback delivered three times) opens one review, not three.
    await q.query(`CREATE UNIQUE INDEX "ux_reviews_evidence" ON "reviews" ("entity_type", "entity_id", "reason", "fingerprint")`);
    await q.query(`CREATE INDEX "ix_reviews_entity" ON "reviews" ("entity_id", "opened_at")`);
    await q.query(`CREATE INDEX "ix_reviews_open" ON "reviews" ("opened_at") WHERE "status" = 'open'`);

    await q.query(`ALTER TABLE "payouts" ADD "idempotency_key" varchar(255)`);
    await q.query(`ALTER TABLE "payouts" ADD "not_found_answers" integer NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE "payouts" ADD "waiting_for" varchar(16)`);
    await q.query(
      `CREATE UNIQUE INDEX "ux_payouts_idempotency" ON "payouts" ("requested_by", "idempotency_key") WHERE "idempotency_key" IS NOT NULL`,
    );
    // A failed payout is retried at most once: a second retry of it is refused, naming the first.
    await q.query(`CREATE UNIQUE INDEX "ux_payouts_one_retry" ON "payouts" ("retry_of") WHERE "retry_of" IS NOT NULL`);

    await q.query(`ALTER TABLE "reversals" ADD "idempotency_key" varchar(255)`);
    await q.query(`ALTER TABLE "reversals" ADD "request_id" varchar(64)`);
    await q.query(`ALTER TABLE "reversals" ADD "status_checks" integer NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE "reversals" ADD "not_found_answers" integer NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE "reversals" ADD "review_reason" varchar(64)`);
    await q.query(`ALTER TABLE "reversals" ADD "submitted_at" timestamptz`);
    await q.query(
      `CREATE UNIQUE INDEX "ux_reversals_idempotency" ON "reversals" ("requested_by", "idempotency_key") WHERE "idempotency_key" IS NOT NULL`,
    );
    await q.query(`CREATE INDEX "ix_reversals_open" ON "reversals" ("updated_at") WHERE "status" IN ('pending', 'submitted', 'unknown')`);

    await q.query(`ALTER TABLE "balance_snapshots" DROP CONSTRAINT "CHK_balance_snapshots_status"`);
    await q.query(
      `ALTER TABLE "balance_snapshots" ADD CONSTRAINT "CHK_balance_snapshots_status" CHECK ("status" IN ('pending', 'completed', 'failed', 'expired'))`,
    );
    await q.query(`CREATE INDEX "ix_balance_snapshots_pending" ON "balance_snapshots" ("created_at") WHERE "status" = 'pending'`);
    await q.query(`ALTER TABLE "transaction_status_queries" DROP CONSTRAINT "CHK_tsq_status"`);
    await q.query(
      `ALTER TABLE "transaction_status_queries" ADD CONSTRAINT "CHK_tsq_status" CHECK ("status" IN ('pending', 'completed', 'failed', 'expired'))`,
    );
    await q.query(`ALTER TABLE "transaction_status_queries" ADD "reversal_id" uuid`);
    await q.query(`CREATE INDEX "ix_tsq_pending" ON "transaction_status_queries" ("created_at") WHERE "status" = 'pending'`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "ix_tsq_pending"`);
    await q.query(`ALTER TABLE "transaction_status_queries" DROP COLUMN "reversal_id"`);
    await q.query(`UPDATE "transaction_status_queries" SET "status" = 'failed' WHERE "status" = 'expired'`);
    await q.query(`ALTER TABLE "transaction_status_queries" DROP CONSTRAINT "CHK_tsq_status"`);
    await q.query(
      `ALTER TABLE "transaction_status_queries" ADD CONSTRAINT "CHK_tsq_status" CHECK ("status" IN ('pending', 'completed', 'failed'))`,
    );
    await q.query(`DROP INDEX "ix_balance_snapshots_pending"`);
    await q.query(`UPDATE "balance_snapshots" SET "status" = 'failed' WHERE "status" = 'expired'`);
    await q.query(`ALTER TABLE "balance_snapshots" DROP CONSTRAINT "CHK_balance_snapshots_status"`);
    await q.query(
      `ALTER TABLE "balance_snapshots" ADD CONSTRAINT "CHK_balance_snapshots_status" CHECK ("status" IN ('pending', 'completed', 'failed'))`,
    );
    await q.query(`DROP INDEX "ix_reversals_open"`);
    await q.query(`DROP INDEX "ux_reversals_idempotency"`);
    for (const column of ['idempotency_key', 'request_id', 'status_checks', 'not_found_answers', 'review_reason', 'submitted_at']) {
      await q.query(`ALTER TABLE "reversals" DROP COLUMN "${column}"`);
    }
    await q.query(`DROP INDEX "ux_payouts_one_retry"`);
    await q.query(`DROP INDEX "ux_payouts_idempotency"`);
    for (const column of ['idempotency_key', 'not_found_answers', 'waiting_for']) {
      await q.query(`ALTER TABLE "payouts" DROP COLUMN "${column}"`);
    }
    await q.query(`DROP TABLE "reviews"`);
    await q.query(`DROP INDEX "ix_payments_client_appointment"`);
    await q.query(`DROP INDEX "ix_payments_expired_failed_at"`);
    await q.query(`ALTER TABLE "payments" DROP COLUMN "late_queries"`);
    await q.query(`UPDATE "payments" SET "status" = 'timeout' WHERE "status" = 'expired'`);
    await q.query(`ALTER TABLE "payments" DROP CONSTRAINT "CHK_payments_status"`);
    await q.query(
      `ALTER TABLE "payments" ADD CONSTRAINT "CHK_payments_status" CHECK ("status" IN ('pending', 'completed', 'failed', 'cancelled', 'timeout', 'partially_refunded', 'refunded', 'reversed'))`,
    );
    await q.query(`ALTER TABLE "payments" ALTER COLUMN "settled_by" TYPE varchar(16)`);
  }
}
