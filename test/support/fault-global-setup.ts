// Jest globalSetup of the `faults` and `model` projects: the suite's own Postgres and two Redis servers (see
// fault-servers.ts). Each test file then starts its own fleet (API + workers) on a fresh database: fault-fleet.ts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { APP_ENTRY, E2eSetupError } from './app-process';
import { PROJECT_ROOT } from './e2e-state';
import { startAllFaultServers } from './fault-servers';

/** One set of servers per jest worker: files running side by side break only their own (fault-servers.ts). */
export default async function faultGlobalSetup(globalConfig: { maxWorkers: number }): Promise<void> {
  if (!existsSync(join(PROJECT_ROOT, APP_ENTRY))) {
    throw new E2eSetupError(`${APP_ENTRY} is missing: run \`npm run build\` first`, 'faults');
  }
  const started = Date.now();
  const sets = Math.max(1, globalConfig.maxWorkers);
  startAllFaultServers(sets);
  console.log(`\nfaults: ${sets} set(s) of own Postgres and Redis servers up in ${Date.now() - started} ms`);
}
