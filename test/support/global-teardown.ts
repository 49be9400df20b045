// Jest globalTeardown of the e2e project: stops the app, drops the test database and deletes the run's Redis
// keys. The servers keep running for the next run (`npm run services:stop` stops them), except in CI.
import { ChildProcess } from 'node:child_process';
import { releaseServices } from './ci-services';
import { readStateFile, removeState, STATE_ENV_VAR } from './e2e-state';
import { simulatorDatabaseOf } from '../../src/config/configuration';
import { deleteRedisKeys, dropDatabase, stopProcess } from './resources';

/** What one e2e run holds; global-setup fills it in as it goes, so a half-done setup can be released too. */
export interface E2eRun {
  child?: ChildProcess;
  appPid?: number;
  adminDatabaseUrl: string;
  database?: string;
  redisUrl: string;
  redisKeyPrefix: string;
  stateFile?: string;
}

declare global {
  var __LEGALPRO_E2E_RUNS__: E2eRun[] | undefined;
}

/** Best effort: every step runs even if an earlier one failed; problems are printed, not thrown. */
export async function releaseRun(run: E2eRun, appGraceMs = 15_000): Promise<void> {
  const warn = (what: string, e: unknown) => console.warn(`e2e teardown: ${what}: ${(e as Error)?.message ?? e}`);

  const target = run.child ?? run.appPid;
  if (target !== undefined) {
    try {
      const outcome = await stopProcess(target, appGraceMs);
      if (outcome === 'killed') {
        console.warn(
          `e2e teardown: the app did not exit within ${appGraceMs / 1000} s of SIGTERM and was killed (check its shutdown hooks)`,
        );
      }
    } catch (e) {
      warn('stopping the app', e);
    }
  }
  if (run.database) {
    await dropDatabase(run.adminDatabaseUrl, run.database).catch((e) => warn(`dropping database ${run.database}`, e));
  }
  await deleteRedisKeys(run.redisUrl, `${run.redisKeyPrefix}*`).catch((e) => warn(`deleting Redis keys ${run.redisKeyPrefix}*`, e));
  // The embedded simulator's keys (`<prefix>-daraja:…`) live in the next logical database (SIMULATOR_REDIS_URL's default).
  const simulatorRedisUrl = simulatorDatabaseOf(run.redisUrl);
  await deleteRedisKeys(simulatorRedisUrl, `${run.redisKeyPrefix}*`).catch((e) =>
    warn(`deleting simulator keys ${run.redisKeyPrefix}*`, e),
  );
  if (run.stateFile) removeState(run.stateFile);
}

/** Releases a run's apps side by side (the servers are left to releaseServices). */
export async function releaseRuns(runs: E2eRun[], appGraceMs = 15_000): Promise<void> {
  await Promise.all(runs.map((run) => releaseRun(run, appGraceMs)));
}

export default async function globalTeardown(): Promise<void> {
  const runs = globalThis.__LEGALPRO_E2E_RUNS__;
  globalThis.__LEGALPRO_E2E_RUNS__ = undefined;
  try {
    await releaseE2eRuns(runs);
  } finally {
    releaseServices('e2e');
  }
}

async function releaseE2eRuns(runs: E2eRun[] | undefined): Promise<void> {
  if (runs) return releaseRuns(runs);

  // Not started in this process (setup failed before recording it): fall back to the state file, if any.
  const stateFile = process.env[STATE_ENV_VAR];
  const state = stateFile ? readStateFile(stateFile) : undefined;
  if (!state) return;
  await releaseRuns(
    state.apps.map((app, index) => ({
      appPid: app.appPid,
      adminDatabaseUrl: app.adminDatabaseUrl,
      database: app.database,
      redisUrl: app.redisUrl,
      redisKeyPrefix: app.redisKeyPrefix,
      ...(index === 0 ? { stateFile } : {}),
    })),
  );
}
