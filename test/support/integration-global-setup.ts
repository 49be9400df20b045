// Jest globalSetup of the integration project: real Postgres and Redis, no app process and no HTTP.
//   1. scripts/services.sh start (the same servers as the e2e tier)
//   2. a fresh database legalpro_int_<pid>_<hex> and a fresh Redis key prefix lpint<pid>x<hex>
//   3. node dist/src/cli/migrate.js with DATABASE_URL pointing at it, as the e2e setup migrates its own
// Test files reach the database and Redis through test/support/integration.ts; the repositories and services they
// test are compiled from src/ by jest, so only migrations/ needs `npm run build` to be current.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { E2eSetupError, MIGRATE_ENTRY, runMigrations } from './app-process';
import { LOG_DIR, PROJECT_ROOT } from './e2e-state';
import {
  INTEGRATION_DATABASE_PREFIX,
  INTEGRATION_DATABASE_COPY_URLS_VAR,
  INTEGRATION_DATABASE_URL_VAR,
  INTEGRATION_REDIS_KEY_PREFIX,
  INTEGRATION_REDIS_KEY_PREFIX_VAR,
  INTEGRATION_REDIS_URL_VAR,
  IntegrationRun,
  releaseIntegrationRun,
} from './integration-global-teardown';
import { createDatabase, deleteRedisKeys, dropAbandonedDatabases, isAlive, redact } from './resources';
import { childEnv, isLocalHost, serviceUrls, TEST_DATA_ENCRYPTION_KEY, TEST_JWT_SECRET, withDatabase } from './test-env';
import { holdServices } from './ci-services';

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

/** Deletes the keys of runs of this tier whose jest process is gone (interrupted before their teardown). */
async function deleteAbandonedRedisKeys(redisUrl: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: false, retryStrategy: () => null });
  // No reconnecting: a one-shot client whose server is gone must fail and let the process exit.
  await redis.connect().catch((e: unknown) => {
    redis.disconnect();
    throw e;
  });
  const prefixes = new Set<string>();
  const pattern = new RegExp(`^(${INTEGRATION_REDIS_KEY_PREFIX}(\\d+)x[0-9a-f]+)`);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${INTEGRATION_REDIS_KEY_PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const m = pattern.exec(key);
        if (m && !isAlive(Number(m[2]))) prefixes.add(m[1]);
      }
    } while (cursor !== '0');
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
  for (const prefix of prefixes) await deleteRedisKeys(redisUrl, `${prefix}*`);
}

export default async function globalSetup(globalConfig?: { maxWorkers?: number }): Promise<void> {
  const started = Date.now();
  checkBuild();
  holdServices('integration', startServices);

  const { databaseUrl: adminDatabaseUrl, redisUrl } = serviceUrls();
  const suffix = randomBytes(4).toString('hex');
  const run: IntegrationRun = { adminDatabaseUrl, redisUrl, redisKeyPrefix: `${INTEGRATION_REDIS_KEY_PREFIX}${process.pid}x${suffix}` };
  globalThis.__LEGALPRO_INTEGRATION_RUN__ = run;
  try {
    if (isLocalHost(adminDatabaseUrl)) await dropAbandonedDatabases(adminDatabaseUrl, INTEGRATION_DATABASE_PREFIX).catch(() => []);
    if (isLocalHost(redisUrl)) await deleteAbandonedRedisKeys(redisUrl).catch(() => undefined);
    const database = `${INTEGRATION_DATABASE_PREFIX}_${process.pid}_${suffix}`;
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
    // Files of this tier may run side by side (jest --maxWorkers): each worker gets a copy of the migrated database,
    // so one file's rows never show in another's counts. A template copy takes a fraction of a migration.
    const copies = Array.from({ length: Math.max(0, (globalConfig?.maxWorkers ?? 1) - 1) }, (_, i) => `${database}_w${i + 2}`);
    for (const copy of copies) {
      await createDatabase(adminDatabaseUrl, copy, database);
      (run.copies ??= []).push(copy);
    }

    // Test files (in band or in workers started after this) find the database and Redis through these variables.
    process.env[INTEGRATION_DATABASE_URL_VAR] = databaseUrl;
    process.env[INTEGRATION_DATABASE_COPY_URLS_VAR] = JSON.stringify(copies.map((copy) => withDatabase(adminDatabaseUrl, copy)));
    process.env[INTEGRATION_REDIS_URL_VAR] = redisUrl;
    process.env[INTEGRATION_REDIS_KEY_PREFIX_VAR] = run.redisKeyPrefix;
    console.log(
      `\nintegration: database ${database} migrated in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(on ${redact(adminDatabaseUrl).replace(/\/[^/]*$/, '')}), Redis prefix ${run.redisKeyPrefix} (on ${redact(redisUrl)})`,
    );
  } catch (e) {
    globalThis.__LEGALPRO_INTEGRATION_RUN__ = undefined;
    await releaseIntegrationRun(run);
    throw e;
  }
}
