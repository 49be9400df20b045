import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764136800000 implements MigrationInterface {
  name = 'InitialSchema1764136800000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pgcrypto`);
    await q.query(`
      CREATE TABLE "payments" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "client_id" varchar(64) NOT NULL,
        "appointment_id" varchar(64),
        "amount" integer NOT NULL,
        "currency" char(3) NOT NULL DEFAULT 'KES',
        "status" varchar(16) NOT NULL DEFAULT 'pending',
        "method" varchar(16) NOT NULL DEFAULT 'mpesa',
        "payment_type" varchar(32) NOT NULL,
        "description" varchar(255),
        "mpesa_transaction_id" varchar(64),
        "checkout_request_id" varchar(64),
        "merchant_request_id" varchar(64),
        "mpesa_receipt_number" varchar(32),
        "transaction_date" timestamptz,
        "phone_number_encrypted" text NOT NULL,
        "phone_number_hash" char(64) NOT NULL,
        "account_reference" varchar(12) NOT NULL,
        "transaction_desc" varchar(13) NOT NULL,
        "stk_push_status" varchar(24) NOT NULL DEFAULT 'initiating',
        "callback_received" boolean NOT NULL DEFAULT false,
        "result_code" varchar(32),
        "result_desc" text,
        "settled_by" varchar(16),
        "review_reason" varchar(64),
        "retry_count" integer NOT NULL DEFAULT 0,
        "last_retry_at" timestamptz,
        "max_retries" integer NOT NULL DEFAULT 3,
        "request_payload" jsonb,
        "response_payload" jsonb,
        "callback_payload" jsonb,
        "error_logs" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "idempotency_key" varchar(255),
        "request_id" varchar(64),
        "initiated_at" timestamptz NOT NULL DEFAULT now(),
        "completed_at" timestamptz,
        "failed_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        "version" integer NOT NULL DEFAULT 1,
        CONSTRAINT "PK_payments" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_payments_checkout_request_id" UNIQUE ("checkout_request_id"),
        CONSTRAINT "UQ_payments_mpesa_receipt_number" UNIQUE ("mpesa_receipt_number"),
        CONSTRAINT "CHK_payments_amount" CHECK ("amount" BETWEEN 1 AND 250000),
        CONSTRAINT "CHK_payments_status" CHECK ("status" IN ('pending', 'completed', 'failed', 'cancelled', 'timeout'))
      )`);
    await q.query(`CREATE INDEX "ix_payments_client_created" ON "payments" ("client_id", "created_at")`);
    await q.query(`CREATE INDEX "ix_payments_created" ON "payments" ("created_at")`);
    // The sweep's query: pending payments by age. Partial, so it stays small however many payments settle.
    await q.query(`CREATE INDEX "ix_payments_pending_initiated" ON "payments" ("initiated_at") WHERE "status" = 'pending'`);
    // One open push per phone: Daraja itself refuses a second one ("Unable to lock subscriber").
    await q.query(
      `CREATE UNIQUE INDEX "ux_payments_one_pending_per_phone" ON "payments" ("phone_number_hash") WHERE "status" = 'pending' AND "review_reason" IS NULL`,
    );

    // The database's own guarantee that one Idempotency-Key never creates two payments.
    await q.query(
      `CREATE UNIQUE INDEX "ux_payments_client_idempotency" ON "payments" ("client_id", "idempotency_key") WHERE "idempotency_key" IS NOT NULL`,
    );

    await q.query(`
      CREATE TABLE "transaction_logs" (
        "id" bigserial NOT NULL,
        "transaction_id" varchar(64),
        "reference" varchar(64),
        "transaction_type" varchar(32) NOT NULL,
        "endpoint" varchar(128),
        "request_data" jsonb,
        "response_data" jsonb,
        "status_code" integer,
        "duration" integer,
        "outcome" varchar(32),
        "ip_address" varchar(64),
        "user_agent" varchar(255),
        "user_id" varchar(64),
        "request_id" varchar(64),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_transaction_logs" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE INDEX "ix_txlog_transaction" ON "transaction_logs" ("transaction_id")`);
    await q.query(`CREATE INDEX "ix_txlog_reference" ON "transaction_logs" ("reference")`);
    await q.query(`CREATE INDEX "ix_txlog_type_created" ON "transaction_logs" ("transaction_type", "created_at")`);

    await q.query(`
      CREATE TABLE "audit_events" (
        "id" bigserial NOT NULL,
        "actor_type" varchar(16) NOT NULL,
        "actor_id" varchar(64),
        "action" varchar(64) NOT NULL,
        "entity_type" varchar(32) NOT NULL,
        "entity_id" varchar(64),
        "before" jsonb,
        "after" jsonb,
        "metadata" jsonb,
        "ip_address" varchar(64),
        "request_id" varchar(64),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_audit_events" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE INDEX "ix_audit_entity" ON "audit_events" ("entity_type", "entity_id", "created_at")`);
    await q.query(`CREATE INDEX "ix_audit_action_created" ON "audit_events" ("action", "created_at")`);
    await q.query(`
      CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
      BEGIN
        RAISE EXCEPTION 'audit_events is append-only';
      END;
      $$ LANGUAGE plpgsql`);
    await q.query(`
      CREATE TRIGGER "trg_audit_events_append_only" BEFORE UPDATE OR DELETE ON "audit_events"
      FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`);

    await q.query(`
      CREATE TABLE "notifications" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "channel" varchar(16) NOT NULL,
        "event" varchar(64) NOT NULL,
        "subject_id" varchar(64) NOT NULL,
        "payload" jsonb NOT NULL,
        "status" varchar(16) NOT NULL DEFAULT 'pending',
        "attempts" integer NOT NULL DEFAULT 0,
        "last_error" text,
        "delivered_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_notifications" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE INDEX "ix_notifications_status_created" ON "notifications" ("status", "created_at")`);
    await q.query(`CREATE INDEX "ix_notifications_subject" ON "notifications" ("subject_id")`);
    await q.query(`
      CREATE TABLE "notification_attempts" (
        "id" bigserial NOT NULL,
        "notification_id" uuid NOT NULL,
        "attempt" integer NOT NULL,
        "status_code" integer,
        "error" text,
        "duration" integer NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_notification_attempts" PRIMARY KEY ("id"),
        CONSTRAINT "FK_notification_attempts_notification" FOREIGN KEY ("notification_id") REFERENCES "notifications" ("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "ix_notification_attempts_notification" ON "notification_attempts" ("notification_id")`);

    await q.query(`
      CREATE TABLE "idempotency_records" (
        "client_id" varchar(64) NOT NULL,
        "key" varchar(255) NOT NULL,
        "request_hash" char(64) NOT NULL,
        "state" varchar(16) NOT NULL,
        "response_status" integer,
        "response_body" jsonb,
        "locked_until" timestamptz NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_idempotency_records" PRIMARY KEY ("client_id", "key")
      )`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "idempotency_records"`);
    await q.query(`DROP TABLE "notification_attempts"`);
    await q.query(`DROP TABLE "notifications"`);
    await q.query(`DROP TRIGGER "trg_audit_events_append_only" ON "audit_events"`);
    await q.query(`DROP FUNCTION audit_events_append_only()`);
    await q.query(`DROP TABLE "audit_events"`);
    await q.query(`DROP TABLE "transaction_logs"`);
    await q.query(`DROP TABLE "payments"`);
  }
}
