import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bills, C2B and one receipt-keyed ledger (issue 10; docs/reconciliation.md):
 * - `bills`: what a client owes, with an account reference a customer can type on the phone; its status follows
 *   from `paid_amount` (a CHECK keeps them in step), so a bill can be `paid` only once;
 * - payments gain `channel` (stk | c2b) and `bill_id`; a C2B payment may match no client (client_id becomes
 *   nullable), may carry the account number the customer typed (up to 20 characters) and may exceed the STK maximum;
 * - `mpesa_receipts`: every M-Pesa receipt the service has seen, from STK callbacks, C2B confirmations, Pull and
 *   statements, and the one payment it belongs to. Receipts already on payments are copied in;
 * - the analytics covering index carries `channel`, so GET /api/payments/analytics keeps its index-only scan.
 *
 * The schema changes run in one transaction; the covering index is then rebuilt CONCURRENTLY (outside any
 * transaction), so payments keep being written while it builds.
 */
export class BillsAndC2b1797300000000 implements MigrationInterface {
  name = 'BillsAndC2b1797300000000';
  transaction = false;

  public async up(q: QueryRunner): Promise<void> {
    await q.startTransaction();
    try {
      await this.schemaUp(q);
      await q.commitTransaction();
    } catch (error) {
      await q.rollbackTransaction();
      throw error;
    }
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS "ix_payments_created_analytics_channel"`);
    await q.query(
      `CREATE INDEX CONCURRENTLY "ix_payments_created_analytics_channel" ON "payments" ("created_at")
         INCLUDE ("status", "payment_type", "result_code", "amount", "refunded_amount", "initiated_at", "completed_at", "channel")`,
    );
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS "ix_payments_created_analytics"`);
    await q.query(`ALTER INDEX "ix_payments_created_analytics_channel" RENAME TO "ix_payments_created_analytics"`);
  }

  private async schemaUp(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "bills" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "client_id" varchar(64) NOT NULL,
        "appointment_id" varchar(64),
        "amount" integer NOT NULL,
        "paid_amount" integer NOT NULL DEFAULT 0,
        "currency" char(3) NOT NULL DEFAULT 'KES',
        "payment_type" varchar(32) NOT NULL,
        "description" varchar(255) NOT NULL,
        "account_reference" varchar(12) NOT NULL,
        "status" varchar(16) NOT NULL DEFAULT 'open',
        "due_at" timestamptz,
        "created_by" varchar(64),
        "request_id" varchar(64),
        "paid_at" timestamptz,
        "cancelled_at" timestamptz,
        "cancelled_by" varchar(64),
        "cancel_reason" varchar(255),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        "version" integer NOT NULL DEFAULT 1,
        CONSTRAINT "PK_bills" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_bills_account_reference" UNIQUE ("account_reference"),
        CONSTRAINT "CHK_bills_amount" CHECK ("amount" BETWEEN 1 AND 100000000),
        CONSTRAINT "CHK_bills_paid_amount" CHECK ("paid_amount" >= 0),
        CONSTRAINT "CHK_bills_account_reference" CHECK ("account_reference" ~ '^[A-HJ-NP-Z2-9]{4,12}$'),
        CONSTRAINT "CHK_bills_status" CHECK ("status" IN ('open', 'partially_paid', 'paid', 'overpaid', 'cancelled')),
        CONSTRAINT "CHK_bills_status_follows_paid_amount" CHECK (
          "status" = 'cancelled' OR "status" = CASE
            WHEN "paid_amount" = 0 THEN 'open'
            WHEN "paid_amount" < "amount" THEN 'partially_paid'
            WHEN "paid_amount" = "amount" THEN 'paid'
            ELSE 'overpaid' END)
      )`);
    await q.query(`CREATE INDEX "ix_bills_client_created" ON "bills" ("client_id", "created_at")`);
    await q.query(`CREATE INDEX "ix_bills_status_created" ON "bills" ("status", "created_at")`);

    await q.query(`ALTER TABLE "payments" ADD "channel" varchar(8) NOT NULL DEFAULT 'stk'`);
    await q.query(`ALTER TABLE "payments" ADD CONSTRAINT "CHK_payments_channel" CHECK ("channel" IN ('stk', 'c2b'))`);
    await q.query(`ALTER TABLE "payments" ADD "bill_id" uuid`);
    await q.query(`ALTER TABLE "payments" ADD CONSTRAINT "FK_payments_bill" FOREIGN KEY ("bill_id") REFERENCES "bills" ("id")`);
    // An unmatched C2B payment belongs to no client until a person places it.
    await q.query(`ALTER TABLE "payments" ALTER COLUMN "client_id" DROP NOT NULL`);
    await q.query(`ALTER TABLE "payments" ADD CONSTRAINT "CHK_payments_client" CHECK ("client_id" IS NOT NULL OR "channel" = 'c2b')`);
    // A C2B BillRefNumber is up to 20 characters (docs/daraja.md §9.5); STK's AccountReference stays at most 12 (DTO).
    await q.query(`ALTER TABLE "payments" ALTER COLUMN "account_reference" TYPE varchar(32)`);
    // STK pushes stop at 250,000 (docs/daraja.md §21); a Paybill payment is what the customer sent.
    await q.query(`ALTER TABLE "payments" DROP CONSTRAINT "CHK_payments_amount"`);
    await q.query(
      `ALTER TABLE "payments" ADD CONSTRAINT "CHK_payments_amount" CHECK ("amount" >= 1 AND ("channel" = 'c2b' OR "amount" <= 250000))`,
    );
    // One push at a time per bill, like one per phone: two prompts for one balance would pay it twice.
    await q.query(
      `CREATE UNIQUE INDEX "ux_payments_one_pending_per_bill" ON "payments" ("bill_id") WHERE "status" = 'pending' AND "review_reason" IS NULL AND "bill_id" IS NOT NULL`,
    );
    await q.query(`CREATE INDEX "ix_payments_bill" ON "payments" ("bill_id", "created_at") WHERE "bill_id" IS NOT NULL`);
    // Matching money that arrives without our ids (C2B, Pull, statement) to a push of ours: by reference and time.
    await q.query(
      `CREATE INDEX "ix_payments_stk_reference" ON "payments" (upper("account_reference"), "initiated_at") WHERE "channel" = 'stk'`,
    );

    await q.query(`
      CREATE TABLE "mpesa_receipts" (
        "receipt" varchar(32) NOT NULL,
        "amount" integer NOT NULL,
        "occurred_at" timestamptz,
        "account_reference" varchar(32),
        "msisdn" varchar(100),
        "payer_name" varchar(150),
        "short_code" varchar(16),
        "transaction_type" varchar(64),
        "payment_id" uuid,
        "stk_callback_at" timestamptz,
        "c2b_confirmation_at" timestamptz,
        "pull_at" timestamptz,
        "statement_at" timestamptz,
        "payloads" jsonb NOT NULL DEFAULT '{}'::jsonb,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_mpesa_receipts" PRIMARY KEY ("receipt"),
        CONSTRAINT "CHK_mpesa_receipts_seen" CHECK (COALESCE("stk_callback_at", "c2b_confirmation_at", "pull_at", "statement_at") IS NOT NULL)
      )`);
    await q.query(`CREATE INDEX "ix_mpesa_receipts_payment" ON "mpesa_receipts" ("payment_id") WHERE "payment_id" IS NOT NULL`);
    await q.query(`CREATE INDEX "ix_mpesa_receipts_unplaced" ON "mpesa_receipts" ("created_at") WHERE "payment_id" IS NULL`);
    // Every receipt a payment holds came with an STK callback (the only channel before this migration).
    await q.query(`
      INSERT INTO "mpesa_receipts" ("receipt", "amount", "occurred_at", "account_reference", "payment_id", "stk_callback_at")
      SELECT "mpesa_receipt_number", "amount", "transaction_date", "account_reference", "id", COALESCE("completed_at", "updated_at")
        FROM "payments" WHERE "mpesa_receipt_number" IS NOT NULL
      ON CONFLICT DO NOTHING`);
  }

  public async down(q: QueryRunner): Promise<void> {
    // Down runs inside TypeORM's transaction whatever `transaction` says: the index is rebuilt without CONCURRENTLY.
    await q.query(`DROP INDEX IF EXISTS "ix_payments_created_analytics"`);
    await q.query(
      `CREATE INDEX "ix_payments_created_analytics" ON "payments" ("created_at")
         INCLUDE ("status", "payment_type", "result_code", "amount", "refunded_amount", "initiated_at", "completed_at")`,
    );
    await q.query(`DROP TABLE "mpesa_receipts"`);
    await q.query(`DROP INDEX "ix_payments_stk_reference"`);
    await q.query(`DROP INDEX "ix_payments_bill"`);
    await q.query(`DROP INDEX "ux_payments_one_pending_per_bill"`);
    // C2B payments cannot be kept in the old shape (no client, long references, large amounts).
    await q.query(`DELETE FROM "payments" WHERE "channel" = 'c2b'`);
    await q.query(`ALTER TABLE "payments" DROP CONSTRAINT "CHK_payments_amount"`);
    await q.query(`ALTER TABLE "payments" ADD CONSTRAINT "CHK_payments_amount" CHECK ("amount" BETWEEN 1 AND 250000)`);
    await q.query(`ALTER TABLE "payments" ALTER COLUMN "account_reference" TYPE varchar(12)`);
    await q.query(`ALTER TABLE "payments" DROP CONSTRAINT "CHK_payments_client"`);
    await q.query(`ALTER TABLE "payments" ALTER COLUMN "client_id" SET NOT NULL`);
    await q.query(`ALTER TABLE "payments" DROP CONSTRAINT "FK_payments_bill"`);
    await q.query(`ALTER TABLE "payments" DROP COLUMN "bill_id"`);
    await q.query(`ALTER TABLE "payments" DROP CONSTRAINT "CHK_payments_channel"`);
    await q.query(`ALTER TABLE "payments" DROP COLUMN "channel"`);
    await q.query(`DROP TABLE "bills"`);
  }
}
