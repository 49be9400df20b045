import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Data protection (src/privacy): payments and payouts record when and why their personal data (phone, name,
 * email) was replaced by masked forms, by the retention job or by an anonymisation request. The masked values
 * themselves go where the clear ones were (the phone and email columns keep ciphertext, now of the masked form),
 * so every reader keeps working; these columns are the marker the guarded UPDATEs and the refund path read.
 */
export class PersonalDataMasking1795702800000 implements MigrationInterface {
  name = 'PersonalDataMasking1795702800000';

  public async up(q: QueryRunner): Promise<void> {
    for (const table of ['payments', 'payouts']) {
      await q.query(`ALTER TABLE "${table}" ADD "personal_data_masked_at" timestamptz`);
      await q.query(`ALTER TABLE "${table}" ADD "personal_data_masked_by" varchar(16)`);
      await q.query(
        `ALTER TABLE "${table}" ADD CONSTRAINT "CHK_${table}_personal_data_masked_by" CHECK ("personal_data_masked_by" IN ('retention', 'anonymisation'))`,
      );
    }
    // The retention sweep's queries: settled rows not yet masked, oldest first. Partial, so they stay small once
    // the backlog is done.
    await q.query(
      `CREATE INDEX "ix_payments_retention_due" ON "payments" ("created_at") WHERE "personal_data_masked_at" IS NULL AND "status" <> 'pending'`,
    );
    await q.query(
      `CREATE INDEX "ix_payouts_retention_due" ON "payouts" ("created_at") WHERE "personal_data_masked_at" IS NULL AND "status" IN ('completed', 'failed')`,
    );
    // Data-subject requests find a client's rows by phone (the keyed hash) as well as by client id.
    await q.query(`CREATE INDEX "ix_payments_phone_hash" ON "payments" ("phone_number_hash")`);
    await q.query(`CREATE INDEX "ix_payouts_phone_hash" ON "payouts" ("phone_number_hash")`);
    await q.query(`CREATE INDEX "ix_payouts_client" ON "payouts" ("client_id")`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "ix_payouts_client"`);
    await q.query(`DROP INDEX "ix_payouts_phone_hash"`);
    await q.query(`DROP INDEX "ix_payments_phone_hash"`);
    await q.query(`DROP INDEX "ix_payouts_retention_due"`);
    await q.query(`DROP INDEX "ix_payments_retention_due"`);
    for (const table of ['payouts', 'payments']) {
      await q.query(`ALTER TABLE "${table}" DROP CONSTRAINT "CHK_${table}_personal_data_masked_by"`);
      await q.query(`ALTER TABLE "${table}" DROP COLUMN "personal_data_masked_by"`);
      await q.query(`ALTER TABLE "${table}" DROP COLUMN "personal_data_masked_at"`);
    }
  }
}
