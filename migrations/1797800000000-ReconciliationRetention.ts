import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The retention sweep masks the payer names a reconciliation report's items keep (`party`, the `details` narration,
 * the `raw` row of an unexplained line) once the report is past the retention age; `personal_data_masked_at` marks
 * a report whose items are done, so the daily sweep takes each report once. Nullable, no default: instant.
 */
export class ReconciliationRetention1797800000000 implements MigrationInterface {
  name = 'ReconciliationRetention1797800000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "reconciliation_reports" ADD COLUMN IF NOT EXISTS "personal_data_masked_at" timestamptz`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "reconciliation_reports" DROP COLUMN IF EXISTS "personal_data_masked_at"`);
  }
}
