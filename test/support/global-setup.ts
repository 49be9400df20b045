// Jest globalSetup of the e2e project: one app per jest worker (at most E2E_MAX_APPS), each like a deployment.
//   1. scripts/services.sh start (PostgreSQL + Redis; installs them on a fresh Debian box)
//   2. per app: a fresh database legalpro_test_<pid>_<hex> and a fresh Redis key prefix
//   3. per app: node dist/src/cli/migrate.js, then node dist/src/main.js with the env of test-env.ts
//   4. waits for GET /health/live = 200 and writes the state file that test/support/app.ts reads
// Any failure releases what was set up and throws a message that says what to look at.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { APP_ENTRY, E2eSetupError, HEALTH_PATH, MIGRATE_ENTRY, rel, runMigrations, startApp, waitForHealthy } from './app-process';
import { E2E_MAX_APPS, E2eState, LOG_DIR, PROJECT_ROOT, STATE_ENV_VAR, stateFileFor, writeState } from './e2e-state';
import { E2eRun, releaseRuns } from './global-teardown';
import { createDatabase, deleteAbandonedRedisKeys, dropAbandonedDatabases, freePorts, redact } from './resources';
import { childEnv, isLocalHost, serviceUrls, testEnvOverrides, withDatabase } from './test-env';
import { holdServices, releaseServices } from './ci-services';

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

/** Starts one app of the run; `run` is filled in as it goes, so a half-done start can be released. */
async function startOneApp(adminDatabaseUrl: string, redisUrl: string, run: E2eRun, index: number): Promise<E2eState> {
  const suffix = randomBytes(4).toString('hex');
  const database = `legalpro_test_${process.pid}_${suffix}`;
  await createDatabase(adminDatabaseUrl, database);
  run.database = database;

  const [appPort, webhookPort] = await freePorts(2);
  const databaseUrl = withDatabase(adminDatabaseUrl, database);
  const overrides = testEnvOverrides({ port: appPort, webhookPort, databaseUrl, redisUrl, redisKeyPrefix: run.redisKeyPrefix });
  const env = childEnv(overrides);

  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = join(LOG_DIR, `app-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}-${index + 1}.log`);
  runMigrations(env, logFile);

  const appUrl = `http://127.0.0.1:${appPort}`;
  run.child = startApp(env, logFile);
  await waitForHealthy(run.child, `${appUrl}${HEALTH_PATH}`, logFile);
  return {
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
  };
}

export default async function globalSetup(globalConfig?: { maxWorkers?: number }): Promise<void> {
  const started = Date.now();
  checkBuild();
  holdServices('e2e', startServices);

  const { databaseUrl: adminDatabaseUrl, redisUrl } = serviceUrls();
  // One app per worker: with --runInBand (maxWorkers 1) one app, as before.
  const count = Math.max(1, Math.min(E2E_MAX_APPS, globalConfig?.maxWorkers ?? 1));
  const runs: E2eRun[] = Array.from({ length: count }, () => ({
    adminDatabaseUrl,
    redisUrl,
    redisKeyPrefix: `lptest${process.pid}x${randomBytes(4).toString('hex')}`,
  }));
  globalThis.__LEGALPRO_E2E_RUNS__ = runs;

  try {
    await dropAbandoned(adminDatabaseUrl, redisUrl);
    const apps = await Promise.all(runs.map((run, index) => startOneApp(adminDatabaseUrl, redisUrl, run, index)));

    const stateFile = stateFileFor(process.pid);
    writeState(stateFile, { apps });
    runs[0].stateFile = stateFile;
    // Test files (in band or in workers started after this) find the state through this variable.
    process.env[STATE_ENV_VAR] = stateFile;

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const where = redact(adminDatabaseUrl).replace(/\/[^/]*$/, '');
    for (const app of apps) {
      console.log(
        `\ne2e: app ready on ${app.appUrl} in ${seconds} s (database ${app.database} on ${where}, Redis prefix ${app.redisKeyPrefix}, ` +
          `log ${rel(app.logFile)})`,
      );
    }
  } catch (e) {
    globalThis.__LEGALPRO_E2E_RUNS__ = undefined;
    await releaseRuns(runs, 5_000); // an app that failed to start gets less grace than one that ran the tests
    releaseServices('e2e');
    throw e;
  }
}
