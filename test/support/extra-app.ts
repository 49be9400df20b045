// An app of a test's own, for settings the run's shared app must not have (low rate limits, info-level logs...).
// It gets its own database, Redis key prefix and port, starts from the same build, and is released by stop().
import { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { HEALTH_PATH, runMigrations, startApp, waitForHealthy } from './app-process';
import { LOG_DIR } from './e2e-state';
import { releaseRun } from './global-teardown';
import { createDatabase, freePorts, stopProcess } from './resources';
import { childEnv, serviceUrls, testEnvOverrides, withDatabase } from './test-env';

export interface ExtraApp {
  url: string;
  port: number;
  databaseUrl: string;
  redisKeyPrefix: string;
  /** Every variable the app was started with (after the overrides). */
  env: Readonly<Record<string, string>>;
  logFile: string;
  child: ChildProcess;
  /** SIGTERM (then SIGKILL), drop the database, delete the Redis keys. */
  stop(): Promise<void>;
}

export interface ExtraAppOptions {
  /**
   * Another process of that app: the same database and Redis key prefix (so one fleet), its own port and log.
   * Migrations are not run again; stop() stops only this process and leaves the shared data to `shareWith`.
   */
  shareWith?: ExtraApp;
}

/** Starts `node dist/src/main.js` with the e2e settings of test-env.ts, then `overrides` on top. */
export async function startExtraApp(
  overrides: Record<string, string> = {},
  name = 'extra',
  options: ExtraAppOptions = {},
): Promise<ExtraApp> {
  if (options.shareWith) return startSecondProcess(options.shareWith, overrides, name);
  const { databaseUrl: adminDatabaseUrl, redisUrl } = serviceUrls();
  const suffix = randomBytes(4).toString('hex');
  const database = `legalpro_test_${process.pid}_${suffix}`;
  const redisKeyPrefix = `lptest${process.pid}x${suffix}`;
  const run: Parameters<typeof releaseRun>[0] = { adminDatabaseUrl, redisUrl, redisKeyPrefix };
  try {
    await createDatabase(adminDatabaseUrl, database);
    run.database = database;
    const [port, webhookPort] = await freePorts(2);
    const appDatabaseUrl = withDatabase(adminDatabaseUrl, database);
    const env = {
      ...testEnvOverrides({ port, webhookPort, databaseUrl: appDatabaseUrl, redisUrl, redisKeyPrefix }),
      ...overrides,
      PORT: String(port),
    };
    mkdirSync(LOG_DIR, { recursive: true });
    const logFile = join(LOG_DIR, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}-${suffix}.log`);
    const childEnvironment = childEnv(env);
    runMigrations(childEnvironment, logFile);
    const child = startApp(childEnvironment, logFile);
    run.child = child;
    const url = `http://127.0.0.1:${port}`;
    await waitForHealthy(child, `${url}${HEALTH_PATH}`, logFile);
    return {
      url,
      port,
      databaseUrl: appDatabaseUrl,
      redisKeyPrefix,
      env,
      logFile,
      child,
      // The run's services stay up: the shared app and other tests still use them.
      stop: () => releaseRun({ ...run }, 10_000),
    };
  } catch (e) {
    await releaseRun(run, 5_000);
    throw e;
  }
}

async function startSecondProcess(first: ExtraApp, overrides: Record<string, string>, name: string): Promise<ExtraApp> {
  const [port] = await freePorts(1);
  const env = { ...first.env, ...overrides, PORT: String(port) };
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = join(
    LOG_DIR,
    `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}-${randomBytes(4).toString('hex')}.log`,
  );
  const child = startApp(childEnv(env), logFile);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHealthy(child, `${url}${HEALTH_PATH}`, logFile);
  } catch (e) {
    await stopProcess(child, 5_000).catch(() => undefined);
    throw e;
  }
  return {
    url,
    port,
    databaseUrl: first.databaseUrl,
    redisKeyPrefix: first.redisKeyPrefix,
    env,
    logFile,
    child,
    stop: async () => void (await stopProcess(child, 10_000)),
  };
}
