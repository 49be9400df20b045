import 'dotenv/config';
import { DataSource } from 'typeorm';
import { ConfigValidationError } from '../config/env.validation';
import { cliDataSourceOptions } from '../database/data-source';

// Any number of processes may start at once: an advisory lock makes exactly one of them migrate.
const MIGRATION_LOCK_ID = 7_340_021;

async function main(): Promise<void> {
  const dataSource = new DataSource(cliDataSourceOptions());
  await dataSource.initialize();
  const runner = dataSource.createQueryRunner();
  try {
    await runner.connect();
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    console.log(applied.length ? `Applied migrations: ${applied.map((m) => m.name).join(', ')}` : 'Database schema is up to date');
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
  } finally {
    await runner.release();
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigValidationError ? error.message : error);
  process.exit(1);
});
