// The fault suite's own PostgreSQL and Redis servers: never the shared ones on 55432/56379, because the suite stops,
// kills and flushes them. Started once per jest run by fault-global-setup.ts with scripts/services.sh (data and pid
// files under .data/faults), stopped by fault-global-teardown.ts. Tests break them with signals to the recorded pids
// and bring them back with services.sh.
//
// One set of servers per jest worker (JEST_WORKER_ID): `npm test` runs two files at a time, and a file that kills
// Redis or stops Postgres must not break the fleet of the file running beside it. Set N uses the base ports + 10*(N-1)
// and its own data folder.
//
// Two Redis servers per set: one for the service (REDIS_URL) and one for the embedded simulator (SIMULATOR_REDIS_URL,
// when the app knows that setting), so that flushing the service's Redis is not flushing "Daraja".
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

/**
 * Base ports of the first set (FAULTS_PG_PORT, FAULTS_REDIS_PORT, FAULTS_SIM_REDIS_PORT override them). Below Linux's
 * ephemeral range (32768-60999): these servers restart mid-run, and a port in that range can meanwhile be the local
 * end of one of the run's many client connections (a Redis once could not bind 56442 for that reason).
 */
const BASE = { pg: int('FAULTS_PG_PORT', 32442), redis: int('FAULTS_REDIS_PORT', 32542), simRedis: int('FAULTS_SIM_REDIS_PORT', 32543) };
const PORT_STEP = 10;

/** The ports, folder and URLs of one set of servers. */
export function faultServerSet(set: number) {
  const offset = (set - 1) * PORT_STEP;
  const pgPort = BASE.pg + offset;
  const redisPort = BASE.redis + offset;
  const simRedisPort = BASE.simRedis + offset;
  return {
    pgPort,
    redisPort,
    simRedisPort,
    dataDir: join(PROJECT_ROOT, '.data', 'faults', set === 1 ? '' : `set-${set}`),
    adminDatabaseUrl: `postgres://legalpro:legalpro@127.0.0.1:${pgPort}/legalpro`,
    redisUrl: `redis://127.0.0.1:${redisPort}`,
    simRedisUrl: `redis://127.0.0.1:${simRedisPort}`,
  };
}

/** This jest worker's set (1 outside a worker, e.g. in the global setup or with --runInBand). */
const OWN = faultServerSet(int('JEST_WORKER_ID', 1));

export const FAULT_PG_PORT = OWN.pgPort;
export const FAULT_REDIS_PORT = OWN.redisPort;
export const FAULT_SIM_REDIS_PORT = OWN.simRedisPort;
export const FAULT_DATA_DIR = OWN.dataDir;
export const FAULT_ADMIN_DATABASE_URL = OWN.adminDatabaseUrl;
export const FAULT_REDIS_URL = OWN.redisUrl;
export const FAULT_SIM_REDIS_URL = OWN.simRedisUrl;

export type RedisRole = 'service' | 'simulator';
const redisUrlOf = (role: RedisRole) => (role === 'service' ? FAULT_REDIS_URL : FAULT_SIM_REDIS_URL);
const redisPortOf = (role: RedisRole) => (role === 'service' ? FAULT_REDIS_PORT : FAULT_SIM_REDIS_PORT);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `services.sh start|stop` on the suite's data folder. It always handles one Postgres and one Redis (those of the URLs):
 * `start` starts whichever is down and leaves a running one alone; `stop` stops both. So faults are injected with
 * signals to the pids it recorded, and `start` brings back whatever a fault took down.
 */
function services(command: 'start' | 'stop', redisUrl: string, set = OWN): void {
  const r = spawnSync('bash', ['scripts/services.sh', command], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATA_DIR: set.dataDir, DATABASE_URL: set.adminDatabaseUrl, REDIS_URL: redisUrl },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0) {
    throw new Error(`DATA_DIR=${set.dataDir} scripts/services.sh ${command} failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
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

/** Starts `sets` sets of servers (one per jest worker that may run a fault or model file). */
export function startAllFaultServers(sets: number): void {
  for (let n = 1; n <= sets; n++) {
    const set = faultServerSet(n);
    services('start', set.redisUrl, set);
    services('start', set.simRedisUrl, set);
  }
}

/** Only what has a pid file in a set's folder: each Redis, and Postgres with the first; every set that was started. */
export function stopAllFaultServers(sets: number): void {
  for (let n = 1; n <= sets; n++) {
    const set = faultServerSet(n);
    if (n > 1 && !existsSync(set.dataDir)) continue;
    for (const redisUrl of [set.simRedisUrl, set.redisUrl]) {
      try {
        services('stop', redisUrl, set);
      } catch (e) {
        console.warn((e as Error).message);
      }
    }
  }
}

/** True when this build's config declares SIMULATOR_REDIS_URL (the simulator's state apart from the service's). */
export function simulatorRedisSupported(): boolean {
  const file = join(PROJECT_ROOT, 'src', 'config', 'env.validation.ts');
  return existsSync(file) && /\bSIMULATOR_REDIS_URL\?:/.test(readFileSync(file, 'utf8'));
}
