import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Everything the e2e tests need to know about the app that global-setup started. */
export interface E2eState {
  /** http://127.0.0.1:<port> */
  appUrl: string;
  appPort: number;
  appPid: number;
  /** The port of WEBHOOK_URL: tests start `WebhookReceiver` on it. */
  webhookPort: number;
  webhookUrl: string;
  /** The throw-away test database and a URL to it with the app role's credentials. */
  database: string;
  databaseUrl: string;
  /** The database the test database was created from (DATABASE_URL of the dev box); used to drop it. */
  adminDatabaseUrl: string;
  redisUrl: string;
  redisKeyPrefix: string;
  /** The exact overrides the app was started with (secrets here are test values). */
  env: Record<string, string>;
  logFile: string;
  /** When the app answered /health/live (ISO 8601). */
  startedAt: string;
}

/**
 * One run's apps: one per jest worker (at most E2E_MAX_APPS), so that test files running side by side never share an
 * app, a database, a simulator or a webhook port. Worker n uses `apps[(n - 1) % apps.length]`.
 */
export interface E2eRunState {
  apps: E2eState[];
}

/**
 * How many apps a run starts at most. Two cores: two jest workers, each with its own app, is where the suite's wall
 * time stops falling (the tests mostly wait on timers, not on CPU).
 */
export const E2E_MAX_APPS = 2;

export const PROJECT_ROOT = resolve(__dirname, '..', '..');
/** Same folder scripts/services.sh uses; git-ignored. */
export const DATA_ROOT = resolve(PROJECT_ROOT, process.env.DATA_DIR ?? '.data');
export const LOG_DIR = join(DATA_ROOT, 'test-logs');
export const STATE_ENV_VAR = 'LEGALPRO_E2E_STATE';

/** One state file per jest run, so two runs on one machine do not read each other's app. */
export function stateFileFor(pid: number): string {
  return join(DATA_ROOT, 'e2e', `run-${pid}.json`);
}

export function writeState(file: string, state: E2eRunState): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

export function readStateFile(file: string): E2eRunState | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as E2eRunState;
}

export function removeState(file: string): void {
  rmSync(file, { force: true });
}
