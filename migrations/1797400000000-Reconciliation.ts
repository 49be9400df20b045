import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reconciliation (src/reconciliation, docs/reconciliation.md):
 * - `pull_runs`: every Pull Transactions run, its window, pages, what it saw and recovered, and Daraja's answers;
 * - `reconciliation_reports` and their `reconciliation_items`: a statement import or a daily Pull reconciliation, one
 *   item per M-Pesa line or per record of ours M-Pesa does not show; a report is never made twice from the same
 *   statement (its fingerprint) or for the same day;
 * - reviews may be about a reconciliation item (`reconciliation_item` is longer than the 16 characters allowed so far).
 */
export class Reconciliation1797400000000 implements MigrationInterface {
  name = 'Reconciliation1797400000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "pull_runs" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "trigger" varchar(16) NOT NULL,
        "short_code" varchar(16) NOT NULL,
        "window_start" timestamptz NOT NULL,
        "window_end" timestamptz NOT NULL,
        "status" varchar(16) NOT NULL DEFAULT 'running',
        "pages" integer NOT NULL DEFAULT 0,
        "transactions_seen" integer NOT NULL DEFAULT 0,
        "already_known" integer NOT NULL DEFAULT 0,
        "ingested" integer NOT NULL DEFAULT 0,
        "recovered" integer NOT NULL DEFAULT 0,
        "flagged" integer NOT NULL DEFAULT 0,
        "unreadable" integer NOT NULL DEFAULT 0,
        "offset_reading" varchar(8),
        "response_codes" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "errors" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "recovered_receipts" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "payments_recorded_in_window" integer,
        "note" text,
        "requested_by" varchar(64) NOT NULL,
        "started_at" timestamptz NOT NULL DEFAULT now(),
        "finished_at" timestamptz,
        CONSTRAINT "pk_pull_runs" PRIMARY KEY ("id"),
        CONSTRAINT "chk_pull_runs_trigger" CHECK ("trigger" IN ('scheduled', 'manual', 'daily')),
        CONSTRAINT "chk_pull_runs_status" CHECK ("status" IN ('running', 'succeeded', 'ambiguous', 'failed')),
        CONSTRAINT "chk_pull_runs_window" CHECK ("window_start" < "window_end"),
        CONSTRAINT "chk_pull_runs_finished" CHECK (("status" = 'running') = ("finished_at" IS NULL))
      )`);
    await q.query(`CREATE INDEX "ix_pull_runs_started" ON "pull_runs" ("started_at")`);
    // The next run starts where the last good one ended (a worker that was down catches up).
    await q.query(`CREATE INDEX "ix_pull_runs_succeeded_end" ON "pull_runs" ("window_end") WHERE "status" = 'succeeded'`);

    await q.query(`
      CREATE TABLE "reconciliation_reports" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "kind" varchar(16) NOT NULL,
        "fingerprint" varchar(80) NOT NULL,
        "short_code" varchar(16),
        "period_start" timestamptz NOT NULL,
        "period_end" timestamptz NOT NULL,
        "period_source" varchar(16) NOT NULL,
        "layout" varchar(16),
        "pull_run_id" uuid,
        "rows_read" integer NOT NULL DEFAULT 0,
        "counts" jsonb NOT NULL DEFAULT '{}'::jsonb,
        "totals" jsonb NOT NULL DEFAULT '{}'::jsonb,
        "notes" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "created_by" varchar(64) NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_reconciliation_reports" PRIMARY KEY ("id"),
        CONSTRAINT "fk_reconciliation_reports_pull_run" FOREIGN KEY ("pull_run_id") REFERENCES "pull_runs" ("id"),
        CONSTRAINT "chk_reconciliation_reports_kind" CHECK ("kind" IN ('statement', 'pull_daily')),
        CONSTRAINT "chk_reconciliation_reports_period" CHECK ("period_start" <= "period_end")
      )`);
    // Re-importing the same statement (or reconciling the same day again) finds the first report.
    await q.query(`CREATE UNIQUE INDEX "ux_reconciliation_reports_fingerprint" ON "reconciliation_reports" ("kind", "fingerprint")`);
    await q.query(`CREATE INDEX "ix_reconciliation_reports_created" ON "reconciliation_reports" ("created_at")`);

    await q.query(`
      CREATE TABLE "reconciliation_items" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "report_id" uuid NOT NULL,
        "kind" varchar(24) NOT NULL,
        "direction" varchar(3) NOT NULL,
        "line_no" integer,
        "receipt" varchar(32),
        "amount" numeric(14, 2),
        "recorded_amount" numeric(14, 2),
        "occurred_at" timestamptz,
        "account_reference" varchar(64),
        "party" varchar(160),
        "transaction_type" varchar(128),
        "details" text,
        "record_type" varchar(16),
        "record_id" uuid,
        "record_status" varchar(24),
        "review_id" uuid,
        "resolution" varchar(24),
        "resolution_detail" jsonb,
        "resolved_at" timestamptz,
        "raw" jsonb,
        CONSTRAINT "pk_reconciliation_items" PRIMARY KEY ("id"),
        CONSTRAINT "fk_reconciliation_items_report" FOREIGN KEY ("report_id") REFERENCES "reconciliation_reports" ("id") ON DELETE CASCADE,
        CONSTRAINT "chk_reconciliation_items_kind" CHECK ("kind" IN ('matched', 'amount_mismatch', 'missing_here', 'missing_at_mpesa',
          'charge', 'internal', 'recovered', 'stk_not_listed', 'ignored')),
        CONSTRAINT "chk_reconciliation_items_direction" CHECK ("direction" IN ('in', 'out')),
        CONSTRAINT "chk_reconciliation_items_record_type" CHECK ("record_type" IS NULL OR "record_type" IN ('payment', 'payout', 'reversal'))
      )`);
    await q.query(`CREATE INDEX "ix_reconciliation_items_report" ON "reconciliation_items" ("report_id", "kind", "occurred_at")`);
    // A difference seen again in a later report joins the review the first one opened.
    await q.query(`CREATE INDEX "ix_reconciliation_items_receipt" ON "reconciliation_items" ("receipt") WHERE "review_id" IS NOT NULL`);
    await q.query(`CREATE INDEX "ix_reconciliation_items_record" ON "reconciliation_items" ("record_id") WHERE "review_id" IS NOT NULL`);

    await q.query(`ALTER TABLE "reviews" ALTER COLUMN "entity_type" TYPE varchar(32)`);
    await q.query(`ALTER TABLE "reviews" DROP CONSTRAINT "CHK_reviews_entity_type"`);
    await q.query(
      `ALTER TABLE "reviews" ADD CONSTRAINT "CHK_reviews_entity_type" CHECK ("entity_type" IN ('payment', 'payout', 'reversal', 'reconciliation_item'))`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM "reviews" WHERE "entity_type" = 'reconciliation_item'`);
    await q.query(`ALTER TABLE "reviews" DROP CONSTRAINT "CHK_reviews_entity_type"`);
    await q.query(
      `ALTER TABLE "reviews" ADD CONSTRAINT "CHK_reviews_entity_type" CHECK ("entity_type" IN ('payment', 'payout', 'reversal'))`,
    );
    await q.query(`ALTER TABLE "reviews" ALTER COLUMN "entity_type" TYPE varchar(16)`);
    await q.query(`DROP TABLE "reconciliation_items"`);
    await q.query(`DROP TABLE "reconciliation_reports"`);
    await q.query(`DROP TABLE "pull_runs"`);
  }
}
