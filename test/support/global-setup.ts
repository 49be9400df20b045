// Jest globalSetup of the e2e project: one app for the whole run, like a deployment would run it.
//   1. scripts/services.sh start (PostgreSQL + Redis; installs them on a fresh Debian box)
//   2. a fresh database legalpro_test_<pid>_<hex> and a fresh Redis key prefix
//   3. node dist/src/cli/migrate.js, then node dist/src/main.js with the env of test-env.ts
//   4. waits for GET /health/live = 200 and writes the state file that test/support/app.ts reads
// Any failure releases what was set up and throws a message that says what to look at.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { APP_ENTRY, E2eSetupError, HEALTH_PATH, MIGRATE_ENTRY, rel, runMigrations, startApp, waitForHealthy } from './app-process';
import { LOG_DIR, PROJECT_ROOT, STATE_ENV_VAR, stateFileFor, writeState } from './e2e-state';
import { E2eRun, releaseRun } from './global-teardown';
import { createDatabase, deleteAbandonedRedisKeys, dropAbandonedDatabases, freePorts, redact } from './resources';
import { childEnv, isLocalHost, serviceUrls, testEnvOverrides, withDatabase } from './test-env';

function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function checkBuild(): void {
  for (const entry of [APP_ENTRY, MIGRATE_ENTRY]) {
    if (!existsSync(join(PROJECT_ROOT, entry))) {
      throw new E2eSetupError(
        `${entry} does not exist. The e2e tests run the built app: run \`npm run build\` first ` +
          '(`npm test` and `npm run test:e2e` do it for you).',
      );
    }
  }
  const built = statSync(join(PROJECT_ROOT, APP_ENTRY)).mtimeMs;
  const sources = Math.max(newestMtime(join(PROJECT_ROOT, 'src')), newestMtime(join(PROJECT_ROOT, 'migrations')));
  if (sources > built) {
    console.warn(
      `e2e: warning: src/ or migrations/ changed after ${APP_ENTRY} was built; these tests run the old build (\`npm run build\`)`,
    );
  }
}

function startServices(): void {
  const r = spawnSync('bash', ['scripts/services.sh', 'start'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    throw new E2eSetupError(`\`bash scripts/services.sh start\` exited with ${r.status ?? r.signal}: its message is above.`);
  }
}

/** Leftovers of runs that were interrupted (Ctrl-C, crash) on this machine; failures here never fail the run. */
async function dropAbandoned(adminUrl: string, redisUrl: string): Promise<void> {
  if (isLocalHost(adminUrl)) {
    const dropped = await dropAbandonedDatabases(adminUrl).catch(() => []);
    if (dropped.length > 0) console.log(`e2e: dropped ${dropped.length} database(s) left by interrupted runs`);
  }
  if (isLocalHost(redisUrl)) await deleteAbandonedRedisKeys(redisUrl).catch(() => 0);
}

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  checkBuild();
  startServices();

  const { databaseUrl: adminDatabaseUrl, redisUrl } = serviceUrls();
  const suffix = randomBytes(4).toString('hex');
  const database = `legalpro_test_${process.pid}_${suffix}`;
  const run: E2eRun = { adminDatabaseUrl, redisUrl, redisKeyPrefix: `lptest${process.pid}x${suffix}` };
  globalThis.__LEGALPRO_E2E_RUN__ = run;

  try {
    await dropAbandoned(adminDatabaseUrl, redisUrl);
    await createDatabase(adminDatabaseUrl, database);
    run.database = database;

    const [appPort, webhookPort] = await freePorts(2);
    const databaseUrl = withDatabase(adminDatabaseUrl, database);
    const overrides = testEnvOverrides({ port: appPort, webhookPort, databaseUrl, redisUrl, redisKeyPrefix: run.redisKeyPrefix });
    const env = childEnv(overrides);

    mkdirSync(LOG_DIR, { recursive: true });
    const logFile = join(LOG_DIR, `app-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
    runMigrations(env, logFile);

    const appUrl = `http://127.0.0.1:${appPort}`;
    run.child = startApp(env, logFile);
    await waitForHealthy(run.child, `${appUrl}${HEALTH_PATH}`, logFile);

    const stateFile = stateFileFor(process.pid);
    writeState(stateFile, {
      appUrl,
      appPort,
      appPid: run.child.pid!,
      webhookPort,
      webhookUrl: overrides.WEBHOOK_URL,
      database,
      databaseUrl,
      adminDatabaseUrl,
      redisUrl,
      redisKeyPrefix: run.redisKeyPrefix,
      env: overrides,
      logFile,
      startedAt: new Date().toISOString(),
    });
    run.stateFile = stateFile;
    // Test files (in band or in workers started after this) find the state through this variable.
    process.env[STATE_ENV_VAR] = stateFile;

    console.log(
      `\ne2e: app ready on ${appUrl} in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(database ${database} on ${redact(adminDatabaseUrl).replace(/\/[^/]*$/, '')}, Redis prefix ${run.redisKeyPrefix}, log ${rel(logFile)})`,
    );
  } catch (e) {
    globalThis.__LEGALPRO_E2E_RUN__ = undefined;
    await releaseRun(run, 5_000); // an app that failed to start gets less grace than one that ran the tests
    throw e;
  }
}
