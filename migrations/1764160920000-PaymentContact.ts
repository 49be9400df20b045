import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Client notifications by email and SMS.
 * - payments.customer_name / customer_email_encrypted: the client's name and email, given (optionally) with the STK
 *   push. The email is personal data: stored AES-256-GCM encrypted like the phone (FieldEncryptionService), never in
 *   clear. No look-up hash: nothing searches payments by email.
 * - notification_attempts.recipient: the masked address or number an attempt went to (`w***@example.com`,
 *   `2547****149`), so a delivery record says where it went without holding the address.
 */
export class PaymentContact1764160920000 implements MigrationInterface {
  name = 'PaymentContact1764160920000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "payments" ADD COLUMN "customer_name" varchar(100) NULL`);
    await q.query(`ALTER TABLE "payments" ADD COLUMN "customer_email_encrypted" text NULL`);
    await q.query(`ALTER TABLE "notification_attempts" ADD COLUMN "recipient" varchar(64) NULL`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "notification_attempts" DROP COLUMN "recipient"`);
    await q.query(`ALTER TABLE "payments" DROP COLUMN "customer_email_encrypted"`);
    await q.query(`ALTER TABLE "payments" DROP COLUMN "customer_name"`);
  }
}
