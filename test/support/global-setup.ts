// Jest globalSetup of the e2e project: one app for the whole run, like a deployment would run it.
//   1. scripts/services.sh start (PostgreSQL + Redis; installs them on a fresh Debian box)
//   2. a fresh database legalpro_test_<pid>_<hex> and a fresh Redis key prefix
//   3. node dist/src/cli/migrate.js, then node dist/src/main.js with the env of test-env.ts
//   4. waits for GET /health/live = 200 and writes the state file that test/support/app.ts reads
// Any failure releases what was set up and throws a message that says what to look at.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LOG_DIR, PROJECT_ROOT, STATE_ENV_VAR, stateFileFor, writeState } from './e2e-state';
import { E2eRun, releaseRun } from './global-teardown';
import {
  createDatabase,
  deleteAbandonedRedisKeys,
  dropAbandonedDatabases,
  freePorts,
  redact,
} from './resources';
import { childEnv, isLocalHost, serviceUrls, testEnvOverrides, withDatabase } from './test-env';

const APP_ENTRY = 'dist/src/main.js';
const MIGRATE_ENTRY = 'dist/src/cli/migrate.js';
const MIGRATE_TIMEOUT_MS = 120_000;
const HEALTH_TIMEOUT_MS = 60_000;
const HEALTH_PATH = '/health/live';

const rel = (p: string) => relative(PROJECT_ROOT, p) || '.';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tail(file: string, lines = 60): string {
  if (!existsSync(file)) return '(no log file)';
  const text = readFileSync(file, 'utf8').trimEnd();
  return text ? text.split('\n').slice(-lines).join('\n') : '(the log is empty)';
}

class E2eSetupError extends Error {
  constructor(message: string) {
    super(`\n\ne2e setup failed: ${message}\n`);
    this.name = 'E2eSetupError';
    this.stack = this.message; // the message says everything; jest need not print this file's frames
  }
}

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
          '(`npm test` and `npm run test:integration` do it for you).',
      );
    }
  }
  const built = statSync(join(PROJECT_ROOT, APP_ENTRY)).mtimeMs;
  const sources = Math.max(newestMtime(join(PROJECT_ROOT, 'src')), newestMtime(join(PROJECT_ROOT, 'migrations')));
  if (sources > built) {
    console.warn(`e2e: warning: src/ or migrations/ changed after ${APP_ENTRY} was built; these tests run the old build (\`npm run build\`)`);
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

function appendLog(file: string, text: string): void {
  const fd = openSync(file, 'a');
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

function runMigrations(env: NodeJS.ProcessEnv, logFile: string): void {
  appendLog(logFile, `===== ${new Date().toISOString()} node ${MIGRATE_ENTRY}\n`);
  const r = spawnSync(process.execPath, [MIGRATE_ENTRY], {
    cwd: PROJECT_ROOT,
    env,
    encoding: 'utf8',
    timeout: MIGRATE_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  appendLog(logFile, output);
  if (r.status !== 0) {
    const why = r.error ? r.error.message : r.signal ? `was killed (${r.signal}) after ${MIGRATE_TIMEOUT_MS / 1000} s` : `exited with ${r.status}`;
    throw new E2eSetupError(`\`node ${MIGRATE_ENTRY}\` ${why}. Its output (also in ${rel(logFile)}):\n${output.trim().split('\n').slice(-60).join('\n') || '(none)'}`);
  }
}

function startApp(env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  appendLog(logFile, `===== ${new Date().toISOString()} node ${APP_ENTRY} (PORT=${env.PORT})\n`);
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(process.execPath, [APP_ENTRY], { cwd: PROJECT_ROOT, env, stdio: ['ignore', fd, fd] });
    // If jest dies without running globalTeardown, the app must not outlive it.
    const killOnExit = () => child.exitCode === null && child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.removeListener('exit', killOnExit));
    child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}

async function waitForHealthy(child: ChildProcess, url: string, logFile: string): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new E2eSetupError(
        `the app exited (${child.exitCode !== null ? `code ${child.exitCode}` : child.signalCode}) before ${HEALTH_PATH} answered. ` +
          `Last lines of ${rel(logFile)}:\n${tail(logFile)}`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}: ${(await res.text()).slice(0, 500)}`;
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      last = err.cause?.code ?? err.message;
    }
    await sleep(250);
  }
  throw new E2eSetupError(
    `GET ${url} did not answer 200 within ${HEALTH_TIMEOUT_MS / 1000} s (last: ${last}). Last lines of ${rel(logFile)}:\n${tail(logFile)}`,
  );
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
