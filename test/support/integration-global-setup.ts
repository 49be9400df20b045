// Jest globalSetup of the integration project: real Postgres, no app process and no HTTP.
//   1. scripts/services.sh start (the same servers as the e2e tier)
//   2. a fresh database legalpro_int_<pid>_<hex>
//   3. node dist/src/cli/migrate.js with DATABASE_URL pointing at it, as the e2e setup migrates its own
// Test files reach the database through test/support/integration.ts; the repositories and services they test are
// compiled from src/ by jest, so only migrations/ needs `npm run build` to be current.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { E2eSetupError, MIGRATE_ENTRY, runMigrations } from './app-process';
import { LOG_DIR, PROJECT_ROOT } from './e2e-state';
import {
  INTEGRATION_DATABASE_PREFIX,
  INTEGRATION_DATABASE_URL_VAR,
  IntegrationRun,
  releaseIntegrationRun,
} from './integration-global-teardown';
import { createDatabase, dropAbandonedDatabases, redact } from './resources';
import { childEnv, isLocalHost, serviceUrls, TEST_DATA_ENCRYPTION_KEY, TEST_JWT_SECRET, withDatabase } from './test-env';

const TIER = 'integration';

function checkBuild(): void {
  const entry = join(PROJECT_ROOT, MIGRATE_ENTRY);
  if (!existsSync(entry)) {
    throw new E2eSetupError(
      `${MIGRATE_ENTRY} does not exist. The integration tier migrates with the build: run \`npm run build\` first.`,
      TIER,
    );
  }
  const dir = join(PROJECT_ROOT, 'migrations');
  const newest = Math.max(0, ...readdirSync(dir).map((name) => statSync(join(dir, name)).mtimeMs));
  if (newest > statSync(entry).mtimeMs) {
    console.warn(`integration: warning: migrations/ changed after ${MIGRATE_ENTRY} was built; the old schema is used (\`npm run build\`)`);
  }
}

function startServices(): void {
  const r = spawnSync('bash', ['scripts/services.sh', 'start'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    throw new E2eSetupError(`\`bash scripts/services.sh start\` exited with ${r.status ?? r.signal}: its message is above.`, TIER);
  }
}

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  checkBuild();
  startServices();

  const { databaseUrl: adminDatabaseUrl, redisUrl } = serviceUrls();
  const run: IntegrationRun = { adminDatabaseUrl };
  globalThis.__LEGALPRO_INTEGRATION_RUN__ = run;
  try {
    if (isLocalHost(adminDatabaseUrl)) await dropAbandonedDatabases(adminDatabaseUrl, INTEGRATION_DATABASE_PREFIX).catch(() => []);
    const database = `${INTEGRATION_DATABASE_PREFIX}_${process.pid}_${randomBytes(4).toString('hex')}`;
    await createDatabase(adminDatabaseUrl, database);
    run.database = database;
    const databaseUrl = withDatabase(adminDatabaseUrl, database);

    mkdirSync(LOG_DIR, { recursive: true });
    const logFile = join(LOG_DIR, `integration-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
    // The migration CLI validates the app's config: the e2e tier's test values, with every other app variable blanked.
    const env = childEnv({
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      MPESA_ENVIRONMENT: 'simulator',
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      JWT_SECRET: TEST_JWT_SECRET,
      DATA_ENCRYPTION_KEY: TEST_DATA_ENCRYPTION_KEY,
    });
    runMigrations(env, logFile, TIER);

    // Test files (in band or in workers started after this) find the database through this variable.
    process.env[INTEGRATION_DATABASE_URL_VAR] = databaseUrl;
    console.log(
      `\nintegration: database ${database} migrated in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(on ${redact(adminDatabaseUrl).replace(/\/[^/]*$/, '')})`,
    );
  } catch (e) {
    globalThis.__LEGALPRO_INTEGRATION_RUN__ = undefined;
    await releaseIntegrationRun(run);
    throw e;
  }
}
