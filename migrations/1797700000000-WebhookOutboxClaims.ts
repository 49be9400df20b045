import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * LegalPro's webhooks are claimed from the outbox by the workers (WebhookOutboxPoller) instead of one BullMQ job per
 * event (docs/performance.md, "Webhooks from the outbox"):
 *
 * - `request_id`: the request the event was written under, so its delivery is logged under it as a job's was.
 * - A partial index of the webhook rows still to deliver, in the order they fall due: a claim locks its first rows
 *   (FOR NO KEY UPDATE SKIP LOCKED); the lock, not a column, says which worker holds a row.
 *
 * CONCURRENTLY, outside a transaction, so that notifications keep being written while the index builds.
 */
export class WebhookOutboxClaims1797700000000 implements MigrationInterface {
  name = 'WebhookOutboxClaims1797700000000';
  transaction = false;

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "notifications" ADD COLUMN IF NOT EXISTS "request_id" varchar(64)`);
    // A concurrent build that failed leaves an invalid index behind; this migration then never got recorded.
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS "ix_notifications_webhook_due"`);
    await q.query(
      `CREATE INDEX CONCURRENTLY "ix_notifications_webhook_due" ON "notifications" ((COALESCE("next_attempt_at", "created_at")))
        WHERE "status" = 'pending' AND "channel" = 'webhook'`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS "ix_notifications_webhook_due"`);
    await q.query(`ALTER TABLE "notifications" DROP COLUMN IF EXISTS "request_id"`);
  }
}
