import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhooks as data (docs/webhooks.md):
 * - `webhook_endpoints`: URLs LegalPro's admins register, the events each wants (patterns such as `payment.*`), its
 *   signing secret sealed with the field encryption (bound to the row), the previous secret while a rotation overlaps,
 *   and since when every delivery to it has failed (it is disabled after WEBHOOK_DISABLE_AFTER_HOURS of that);
 * - `webhook_deliveries`: one row per event (an outbox row of `notifications`, whose id is the event's id) and matching
 *   endpoint, with its retry schedule in Postgres (`next_attempt_at`), so a Redis flush loses no pending delivery;
 * - `webhook_delivery_attempts`: every attempt, as `notification_attempts` records the default endpoint's;
 * - `notifications.next_attempt_at` and `endpoints_fanned_out_at`: the default endpoint (WEBHOOK_URL) keeps its
 *   delivery record in the outbox row, and follows the same schedule; and when the event was handed to the endpoints.
 *   `attempts_before_redelivery` (both tables): a redelivery starts a new run of attempts without renumbering old ones.
 */
export class WebhookEndpoints1797500000000 implements MigrationInterface {
  name = 'WebhookEndpoints1797500000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "webhook_endpoints" (
        "id" uuid NOT NULL,
        "url" text NOT NULL,
        "events" text[] NOT NULL,
        "description" varchar(500),
        "enabled" boolean NOT NULL DEFAULT true,
        "secret_encrypted" text NOT NULL,
        "previous_secret_encrypted" text,
        "previous_secret_expires_at" timestamptz,
        "failing_since" timestamptz,
        "disabled_at" timestamptz,
        "disabled_reason" varchar(32),
        "created_by" varchar(128),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_webhook_endpoints" PRIMARY KEY ("id"),
        CONSTRAINT "chk_webhook_endpoints_events" CHECK (cardinality("events") > 0),
        CONSTRAINT "chk_webhook_endpoints_disabled_reason" CHECK ("disabled_reason" IN ('admin', 'failing'))
      )`);
    await q.query(`
      CREATE TABLE "webhook_deliveries" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "notification_id" uuid NOT NULL,
        "endpoint_id" uuid NOT NULL,
        "event" varchar(64) NOT NULL,
        "status" varchar(16) NOT NULL DEFAULT 'pending',
        "attempts" integer NOT NULL DEFAULT 0,
        "attempts_before_redelivery" integer NOT NULL DEFAULT 0,
        "next_attempt_at" timestamptz NOT NULL DEFAULT now(),
        "last_status_code" integer,
        "last_error" text,
        "delivered_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_webhook_deliveries" PRIMARY KEY ("id"),
        CONSTRAINT "uq_webhook_deliveries_event_endpoint" UNIQUE ("notification_id", "endpoint_id"),
        CONSTRAINT "fk_webhook_deliveries_notification" FOREIGN KEY ("notification_id") REFERENCES "notifications"("id") ON DELETE CASCADE,
        CONSTRAINT "fk_webhook_deliveries_endpoint" FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoints"("id") ON DELETE CASCADE,
        CONSTRAINT "chk_webhook_deliveries_status" CHECK ("status" IN ('pending', 'delivered', 'failed'))
      )`);
    await q.query(`CREATE INDEX "ix_webhook_deliveries_due" ON "webhook_deliveries" ("next_attempt_at") WHERE "status" = 'pending'`);
    await q.query(`CREATE INDEX "ix_webhook_deliveries_endpoint_created" ON "webhook_deliveries" ("endpoint_id", "created_at")`);
    await q.query(`CREATE INDEX "ix_webhook_deliveries_status_created" ON "webhook_deliveries" ("status", "created_at")`);
    await q.query(`
      CREATE TABLE "webhook_delivery_attempts" (
        "id" bigserial NOT NULL,
        "delivery_id" uuid NOT NULL,
        "attempt" integer NOT NULL,
        "status_code" integer,
        "error" text,
        "duration" integer NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_webhook_delivery_attempts" PRIMARY KEY ("id"),
        CONSTRAINT "fk_webhook_delivery_attempts_delivery" FOREIGN KEY ("delivery_id") REFERENCES "webhook_deliveries"("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "ix_webhook_delivery_attempts_delivery" ON "webhook_delivery_attempts" ("delivery_id")`);
    await q.query(`ALTER TABLE "notifications" ADD COLUMN "next_attempt_at" timestamptz`);
    await q.query(`ALTER TABLE "notifications" ADD COLUMN "endpoints_fanned_out_at" timestamptz`);
    await q.query(`ALTER TABLE "notifications" ADD COLUMN "attempts_before_redelivery" integer NOT NULL DEFAULT 0`);
    await q.query(
      `CREATE INDEX "ix_notifications_webhook_status_created" ON "notifications" ("status", "created_at") WHERE "channel" = 'webhook'`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "ix_notifications_webhook_status_created"`);
    await q.query(`ALTER TABLE "notifications" DROP COLUMN "attempts_before_redelivery"`);
    await q.query(`ALTER TABLE "notifications" DROP COLUMN "endpoints_fanned_out_at"`);
    await q.query(`ALTER TABLE "notifications" DROP COLUMN "next_attempt_at"`);
    await q.query(`DROP TABLE "webhook_delivery_attempts"`);
    await q.query(`DROP TABLE "webhook_deliveries"`);
    await q.query(`DROP TABLE "webhook_endpoints"`);
  }
}
