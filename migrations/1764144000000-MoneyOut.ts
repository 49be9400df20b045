import { MigrationInterface, QueryRunner } from 'typeorm';

export class MoneyOut1764144000000 implements MigrationInterface {
  name = 'MoneyOut1764144000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "payments" DROP CONSTRAINT "CHK_payments_status"`);
    await q.query(`ALTER TABLE "payments" ALTER COLUMN "status" TYPE varchar(24)`);
    await q.query(
      `ALTER TABLE "payments" ADD CONSTRAINT "CHK_payments_status" CHECK ("status" IN ('pending', 'completed', 'failed', 'cancelled', 'timeout', 'partially_refunded', 'refunded', 'reversed'))`,
    );
    await q.query(`ALTER TABLE "payments" ADD "refunded_amount" integer NOT NULL DEFAULT 0`);

    await q.query(`
      CREATE TABLE "payouts" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "kind" varchar(16) NOT NULL,
        "payment_id" uuid,
        "client_id" varchar(64),
        "amount" integer NOT NULL,
        "currency" char(3) NOT NULL DEFAULT 'KES',
        "command_id" varchar(24) NOT NULL,
        "phone_number_encrypted" text NOT NULL,
        "phone_number_hash" char(64) NOT NULL,
        "remarks" varchar(100) NOT NULL,
        "occasion" varchar(100),
        "reason" varchar(255),
        "status" varchar(16) NOT NULL DEFAULT 'pending',
        "originator_conversation_id" varchar(64) NOT NULL,
        "conversation_id" varchar(64),
        "transaction_id" varchar(32),
        "result_code" varchar(32),
        "result_desc" text,
        "result_payload" jsonb,
        "settled_by" varchar(24),
        "status_checks" integer NOT NULL DEFAULT 0,
        "review_reason" varchar(64),
        "retry_of" uuid,
        "requested_by" varchar(64) NOT NULL,
        "request_id" varchar(64),
        "error_logs" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "submitted_at" timestamptz,
        "completed_at" timestamptz,
        "failed_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        "version" integer NOT NULL DEFAULT 1,
        CONSTRAINT "PK_payouts" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_payouts_originator_conversation_id" UNIQUE ("originator_conversation_id"),
        CONSTRAINT "UQ_payouts_transaction_id" UNIQUE ("transaction_id"),
        CONSTRAINT "FK_payouts_payment" FOREIGN KEY ("payment_id") REFERENCES "payments" ("id"),
        CONSTRAINT "FK_payouts_retry_of" FOREIGN KEY ("retry_of") REFERENCES "payouts" ("id"),
        CONSTRAINT "CHK_payouts_amount" CHECK ("amount" BETWEEN 10 AND 250000),
        CONSTRAINT "CHK_payouts_kind" CHECK ("kind" IN ('refund', 'disbursement')),
        CONSTRAINT "CHK_payouts_status" CHECK ("status" IN ('pending', 'sending', 'submitted', 'unknown', 'completed', 'failed'))
      )`);
    await q.query(`CREATE INDEX "ix_payouts_payment" ON "payouts" ("payment_id")`);
    await q.query(`CREATE INDEX "ix_payouts_kind_created" ON "payouts" ("kind", "created_at")`);
    // The resolver's query: payouts whose outcome is not known yet.
    await q.query(
      `CREATE INDEX "ix_payouts_open" ON "payouts" ("updated_at") WHERE "status" IN ('pending', 'sending', 'submitted', 'unknown')`,
    );

    await q.query(`
      CREATE TABLE "balance_snapshots" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "status" varchar(16) NOT NULL DEFAULT 'pending',
        "shortcode" varchar(8) NOT NULL,
        "originator_conversation_id" varchar(64),
        "conversation_id" varchar(64),
        "accounts" jsonb,
        "raw_balance" text,
        "result_code" varchar(32),
        "result_desc" text,
        "requested_by" varchar(64) NOT NULL,
        "completed_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_balance_snapshots" PRIMARY KEY ("id"),
        CONSTRAINT "CHK_balance_snapshots_status" CHECK ("status" IN ('pending', 'completed', 'failed'))
      )`);
    await q.query(`CREATE INDEX "ix_balance_snapshots_completed" ON "balance_snapshots" ("completed_at") WHERE "status" = 'completed'`);

    await q.query(`
      CREATE TABLE "reversals" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "payment_id" uuid NOT NULL,
        "amount" integer NOT NULL,
        "reason" varchar(255) NOT NULL,
        "status" varchar(16) NOT NULL DEFAULT 'pending',
        "originator_conversation_id" varchar(64),
        "conversation_id" varchar(64),
        "transaction_id" varchar(32),
        "result_code" varchar(32),
        "result_desc" text,
        "result_payload" jsonb,
        "requested_by" varchar(64) NOT NULL,
        "completed_at" timestamptz,
        "failed_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_reversals" PRIMARY KEY ("id"),
        CONSTRAINT "FK_reversals_payment" FOREIGN KEY ("payment_id") REFERENCES "payments" ("id"),
        CONSTRAINT "CHK_reversals_status" CHECK ("status" IN ('pending', 'submitted', 'unknown', 'completed', 'failed'))
      )`);
    // At most one reversal in flight or done per payment; failed ones may be tried again.
    await q.query(`CREATE UNIQUE INDEX "ux_reversals_one_active_per_payment" ON "reversals" ("payment_id") WHERE "status" <> 'failed'`);

    await q.query(`
      CREATE TABLE "transaction_status_queries" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "status" varchar(16) NOT NULL DEFAULT 'pending',
        "transaction_id" varchar(32),
        "queried_conversation_id" varchar(64),
        "payout_id" uuid,
        "originator_conversation_id" varchar(64),
        "conversation_id" varchar(64),
        "result_code" varchar(32),
        "result_desc" text,
        "result" jsonb,
        "requested_by" varchar(64) NOT NULL,
        "completed_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_transaction_status_queries" PRIMARY KEY ("id"),
        CONSTRAINT "FK_tsq_payout" FOREIGN KEY ("payout_id") REFERENCES "payouts" ("id"),
        CONSTRAINT "CHK_tsq_status" CHECK ("status" IN ('pending', 'completed', 'failed'))
      )`);
    await q.query(`CREATE INDEX "ix_tsq_payout" ON "transaction_status_queries" ("payout_id")`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "transaction_status_queries"`);
    await q.query(`DROP TABLE "reversals"`);
    await q.query(`DROP TABLE "balance_snapshots"`);
    await q.query(`DROP TABLE "payouts"`);
    await q.query(`ALTER TABLE "payments" DROP COLUMN "refunded_amount"`);
    await q.query(`ALTER TABLE "payments" DROP CONSTRAINT "CHK_payments_status"`);
    await q.query(`ALTER TABLE "payments" ALTER COLUMN "status" TYPE varchar(16)`);
    await q.query(
      `ALTER TABLE "payments" ADD CONSTRAINT "CHK_payments_status" CHECK ("status" IN ('pending', 'completed', 'failed', 'cancelled', 'timeout'))`,
    );
  }
}
