// The fault suite's own PostgreSQL and Redis servers: never the shared ones on 55432/56379, because the suite stops,
// kills and flushes them. Started once per jest run by fault-global-setup.ts with scripts/services.sh (data and pid
// files under .data/faults), stopped by fault-global-teardown.ts. Tests break them with signals to the recorded pids
// and bring them back with services.sh.
//
// Two Redis servers: one for the service (REDIS_URL) and one for the embedded simulator (SIMULATOR_REDIS_URL, when the
// app knows that setting), so that flushing the service's Redis is not flushing "Daraja".
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { isAlive } from './resources';
import { PROJECT_ROOT } from './e2e-state';

const int = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
};

/** Ports of the suite's servers (FAULTS_PG_PORT, FAULTS_REDIS_PORT, FAULTS_SIM_REDIS_PORT override them). */
export const FAULT_PG_PORT = int('FAULTS_PG_PORT', 55442);
export const FAULT_REDIS_PORT = int('FAULTS_REDIS_PORT', 56442);
export const FAULT_SIM_REDIS_PORT = int('FAULTS_SIM_REDIS_PORT', 56443);

export const FAULT_DATA_DIR = join(PROJECT_ROOT, '.data', 'faults');

export const FAULT_ADMIN_DATABASE_URL = `postgres://legalpro:legalpro@127.0.0.1:${FAULT_PG_PORT}/legalpro`;
export const FAULT_REDIS_URL = `redis://127.0.0.1:${FAULT_REDIS_PORT}`;
export const FAULT_SIM_REDIS_URL = `redis://127.0.0.1:${FAULT_SIM_REDIS_PORT}`;

export type RedisRole = 'service' | 'simulator';
const redisUrlOf = (role: RedisRole) => (role === 'service' ? FAULT_REDIS_URL : FAULT_SIM_REDIS_URL);
const redisPortOf = (role: RedisRole) => (role === 'service' ? FAULT_REDIS_PORT : FAULT_SIM_REDIS_PORT);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `services.sh start|stop` on the suite's data folder. It always handles one Postgres and one Redis (those of the URLs):
 * `start` starts whichever is down and leaves a running one alone; `stop` stops both. So faults are injected with
 * signals to the pids it recorded, and `start` brings back whatever a fault took down.
 */
function services(command: 'start' | 'stop', redisUrl: string): void {
  const r = spawnSync('bash', ['scripts/services.sh', command], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATA_DIR: FAULT_DATA_DIR, DATABASE_URL: FAULT_ADMIN_DATABASE_URL, REDIS_URL: redisUrl },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0) {
    throw new Error(`DATA_DIR=${FAULT_DATA_DIR} scripts/services.sh ${command} failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
  }
}

function pidFrom(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0].trim());
  return pid > 0 && isAlive(pid) ? pid : undefined;
}

async function waitGone(pid: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) throw new Error(`pid ${pid} did not exit within ${timeoutMs} ms`);
}

/** The postmaster's pid, from the postmaster.pid services.sh's cluster keeps (its data folder or the /var/tmp fallback). */
export function postgresPid(): number | undefined {
  const own = join(FAULT_DATA_DIR, `pg-${FAULT_PG_PORT}`, 'data', 'postmaster.pid');
  const candidates = [
    own,
    ...readdirSync('/var/tmp', { withFileTypes: true })
      .filter((d) => d.isDirectory() && d.name.startsWith('legalpro-'))
      .map((d) => join('/var/tmp', d.name, `pg-${FAULT_PG_PORT}`, 'data', 'postmaster.pid')),
  ];
  for (const file of candidates) {
    const pid = pidFrom(file);
    if (pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`pg-${FAULT_PG_PORT}`)) return pid;
  }
  return undefined;
}

/** Starts whatever of the suite's Postgres and service Redis is down (services.sh leaves a running one alone). */
export function startPostgres(): void {
  services('start', FAULT_REDIS_URL);
}

/** SIGINT to the postmaster (PostgreSQL's "fast" shutdown: every connection is cut), then waits until it is gone. */
export async function stopPostgres(): Promise<void> {
  const pid = postgresPid();
  if (!pid) throw new Error(`the suite's Postgres (port ${FAULT_PG_PORT}) is not running`);
  process.kill(pid, 'SIGINT');
  await waitGone(pid);
}

/** Starts the Redis of `role` if it is down (the suite's Postgres must be up: services.sh checks it too). */
export function startRedis(role: RedisRole): void {
  services('start', redisUrlOf(role));
}

/** The pid services.sh recorded for the Redis of `role`, when it runs. */
export function redisPid(role: RedisRole): number | undefined {
  return pidFrom(join(FAULT_DATA_DIR, `redis-${redisPortOf(role)}`, 'redis.pid'));
}

/** `kill -9` of the Redis of `role`: no save, connections cut (appendonly keeps what was fsynced up to a second ago). */
export async function killRedis(role: RedisRole): Promise<void> {
  const pid = redisPid(role);
  if (!pid) throw new Error(`the ${role} Redis (port ${redisPortOf(role)}) is not running`);
  process.kill(pid, 'SIGKILL');
  await waitGone(pid);
}

export async function flushRedis(role: RedisRole): Promise<void> {
  const redis = new Redis(redisUrlOf(role), { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    await redis.flushall();
  } finally {
    redis.disconnect();
  }
}

export function startAllFaultServers(): void {
  services('start', FAULT_REDIS_URL);
  services('start', FAULT_SIM_REDIS_URL);
}

/** Only what has a pid file in .data/faults: each Redis, and Postgres with the first. */
export function stopAllFaultServers(): void {
  for (const redisUrl of [FAULT_SIM_REDIS_URL, FAULT_REDIS_URL]) {
    try {
      services('stop', redisUrl);
    } catch (e) {
      console.warn((e as Error).message);
    }
  }
}

/** True when this build's config declares SIMULATOR_REDIS_URL (the simulator's state apart from the service's). */
export function simulatorRedisSupported(): boolean {
  const file = join(PROJECT_ROOT, 'src', 'config', 'env.validation.ts');
  return existsSync(file) && /\bSIMULATOR_REDIS_URL\?:/.test(readFileSync(file, 'utf8'));
}
