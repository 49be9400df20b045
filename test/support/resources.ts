// The pieces global-setup and global-teardown share: test database, Redis keys, ports, child processes.
import Redis from 'ioredis';
import { ChildProcess } from 'node:child_process';
import { createServer, Server } from 'node:net';
import { Client } from 'pg';

async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Creates `name` owned by the URL's role (services.sh gives the app role CREATEDB). */
export async function createDatabase(adminUrl: string, name: string, template?: string): Promise<void> {
  try {
    const from = template ? ` TEMPLATE ${quoteIdent(template)}` : '';
    await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}${from}`));
  } catch (e) {
    const hint = /permission denied/i.test(String(e))
      ? ' (the role in DATABASE_URL needs CREATEDB: `bash scripts/services.sh start` grants it on our own server)'
      : '';
    throw new Error(`e2e: cannot create the test database ${name} via ${redact(adminUrl)}: ${(e as Error).message}${hint}`);
  }
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}

/**
 * Test databases are named `<prefix>_<jest pid>_<hex>` (`legalpro_test_...` for e2e, `legalpro_int_...` for the
 * integration tier); those whose jest process is gone were left by an interrupted run. Only called for a Postgres on
 * this machine, where the pid means something.
 */
export async function dropAbandonedDatabases(adminUrl: string, prefix = 'legalpro_test'): Promise<string[]> {
  const rows = await withClient(adminUrl, async (c) => {
    const r = await c.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1 AND pg_has_role(current_user, datdba, 'USAGE')`,
      [`${prefix.replace(/_/g, '\\_')}\\_%`],
    );
    return r.rows.map((row: { datname: string }) => row.datname);
  });
  const dropped: string[] = [];
  for (const name of rows) {
    const pid = Number(new RegExp(`^${prefix}_(\\d+)_[0-9a-f]+(_w\\d+)?$`).exec(name)?.[1]);
    if (!pid || isAlive(pid)) continue;
    await dropDatabase(adminUrl, name).then(
      () => dropped.push(name),
      () => undefined,
    );
  }
  return dropped;
}

/** Deletes every key starting with `prefix` (the app's keys and, with BullMQ's prefix under it, its queues). */
export async function deleteRedisKeys(redisUrl: string, match: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: false, retryStrategy: () => null });
  // No reconnecting: a one-shot client whose server is gone must fail and let the process exit.
  await redis.connect().catch((e: unknown) => {
    redis.disconnect();
    throw e;
  });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
  return deleted;
}

/** Key prefixes are `lptest<jest pid>x<hex>`; deletes those of jest processes that are gone. */
export async function deleteAbandonedRedisKeys(redisUrl: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: false, retryStrategy: () => null });
  // No reconnecting: a one-shot client whose server is gone must fail and let the process exit.
  await redis.connect().catch((e: unknown) => {
    redis.disconnect();
    throw e;
  });
  const prefixes = new Set<string>();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'lptest*', 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const m = /^(lptest(\d+)x[0-9a-f]+)/.exec(key);
        if (m && !isAlive(Number(m[2]))) prefixes.add(m[1]);
      }
    } while (cursor !== '0');
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
  let deleted = 0;
  for (const prefix of prefixes) deleted += await deleteRedisKeys(redisUrl, `${prefix}*`);
  return deleted;
}

/** Distinct free TCP ports on 127.0.0.1 (held open together so they differ, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves true when `done` settles within `ms`, false otherwise; leaves no timer behind either way. */
function settlesWithin(done: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([done.then(() => true), timeout]).finally(() => clearTimeout(timer));
}

/** SIGTERM, then SIGKILL after `graceMs`. Works from a ChildProcess or from a bare pid. */
export async function stopProcess(target: ChildProcess | number, graceMs = 15_000): Promise<'exited' | 'killed' | 'absent'> {
  const pid = typeof target === 'number' ? target : target.pid;
  if (!pid || !isAlive(pid) || (typeof target !== 'number' && target.exitCode !== null)) return 'absent';
  let polling = true;
  const exited =
    typeof target === 'number'
      ? (async () => {
          while (polling && isAlive(pid)) await sleep(100);
        })()
      : new Promise<void>((resolve) => target.once('exit', () => resolve()));
  try {
    process.kill(pid, 'SIGTERM');
    if (await settlesWithin(exited, graceMs)) return 'exited';
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await settlesWithin(exited, 2_000);
    return 'killed';
  } finally {
    polling = false;
  }
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid URL>';
  }
}
