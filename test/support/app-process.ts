// Starting the built app as a child process: migrations, spawn, wait for health. Used by global-setup for the
// run's shared app, and by tests that need an app of their own with different settings (test/support/extra-app.ts).
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { relative } from 'node:path';
import { PROJECT_ROOT } from './e2e-state';

export const APP_ENTRY = 'dist/src/main.js';
export const MIGRATE_ENTRY = 'dist/src/cli/migrate.js';
const MIGRATE_TIMEOUT_MS = 120_000;
const HEALTH_TIMEOUT_MS = 60_000;
export const HEALTH_PATH = '/health/live';

export const rel = (p: string) => relative(PROJECT_ROOT, p) || '.';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function tail(file: string, lines = 60): string {
  if (!existsSync(file)) return '(no log file)';
  const text = readFileSync(file, 'utf8').trimEnd();
  return text ? text.split('\n').slice(-lines).join('\n') : '(the log is empty)';
}

export class E2eSetupError extends Error {
  /** `tier` names the jest project whose setup failed (the integration tier migrates its database the same way). */
  constructor(message: string, tier = 'e2e') {
    super(`\n\n${tier} setup failed: ${message}\n`);
    this.name = 'E2eSetupError';
    this.stack = this.message; // the message says everything; jest need not print this file's frames
  }
}

function appendLog(file: string, text: string): void {
  const fd = openSync(file, 'a');
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

export function runMigrations(env: NodeJS.ProcessEnv, logFile: string, tier = 'e2e'): void {
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
    const why = r.error
      ? r.error.message
      : r.signal
        ? `was killed (${r.signal}) after ${MIGRATE_TIMEOUT_MS / 1000} s`
        : `exited with ${r.status}`;
    throw new E2eSetupError(
      `\`node ${MIGRATE_ENTRY}\` ${why}. Its output (also in ${rel(logFile)}):\n${output.trim().split('\n').slice(-60).join('\n') || '(none)'}`,
      tier,
    );
  }
}

export function startApp(env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
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

export async function waitForHealthy(child: ChildProcess, url: string, logFile: string): Promise<void> {
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
