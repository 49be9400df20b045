// The integration and e2e tiers share one Postgres and one Redis (scripts/services.sh). In CI they are stopped once,
// after the last tier that started them has released its run: jest runs every project's globalSetup and
// globalTeardown in its one main process, in an order of its own, so each tier holds the servers while it needs them.
import { spawnSync } from 'node:child_process';
import { PROJECT_ROOT } from './e2e-state';

declare global {
  var __LEGALPRO_SERVICE_HOLDERS__: Set<string> | undefined;
}

const isCi = () => ['true', '1'].includes((process.env.CI ?? '').toLowerCase());

/** Starts scripts/services.sh (a no-op for servers that already answer) and records that `tier` uses them. */
export function holdServices(tier: string, start: () => void): void {
  (globalThis.__LEGALPRO_SERVICE_HOLDERS__ ??= new Set()).add(tier);
  start();
}

/** `tier` is done with the servers; in CI the last tier to say so stops them. Outside CI they keep running. */
export function releaseServices(tier: string): void {
  const holders = globalThis.__LEGALPRO_SERVICE_HOLDERS__;
  holders?.delete(tier);
  if (!isCi() || (holders && holders.size > 0)) return;
  const r = spawnSync('bash', ['scripts/services.sh', 'stop'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  if (r.status !== 0) console.warn(`test teardown: scripts/services.sh stop exited with ${r.status}`);
}
