import { MigrationInterface, QueryRunner } from 'typeorm';

/** Alert episodes of the database-evaluated alerts (src/alerts): at most one open episode per rule. */
export class AlertEpisodes1764154800000 implements MigrationInterface {
  name = 'AlertEpisodes1764154800000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "alert_episodes" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "rule" varchar(48) NOT NULL,
        "summary" text NOT NULL,
        "threshold" double precision NOT NULL,
        "opening_value" double precision NOT NULL,
        "peak_value" double precision NOT NULL,
        "last_value" double precision NOT NULL,
        "opened_at" timestamptz NOT NULL DEFAULT now(),
        "last_evaluated_at" timestamptz NOT NULL DEFAULT now(),
        "resolved_at" timestamptz,
        CONSTRAINT "pk_alert_episodes" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE INDEX "ix_alert_episodes_opened" ON "alert_episodes" ("opened_at")`);
    // "Once per episode": a second replica's INSERT for the same rule conflicts here and announces nothing.
    await q.query(`CREATE UNIQUE INDEX "ux_alert_episodes_one_open_per_rule" ON "alert_episodes" ("rule") WHERE "resolved_at" IS NULL`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "alert_episodes"`);
  }
}
