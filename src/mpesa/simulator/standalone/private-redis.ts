import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import Redis from 'ioredis';

/** A redis-server of the stand-alone simulator's own: in memory only, on loopback, gone when the simulator stops. */
export interface PrivateRedis {
  url: string;
  stop(): void;
}

const READY_TIMEOUT_MS = 10_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts `redis-server` with no persistence (`--save ''`, no AOF) on a free loopback port. It runs under a small
 * shell watchdog that stops it when this process is gone, even after a SIGKILL, so no orphan keeps the port.
 * Why a real Redis and not a map in memory: the simulator's atomic steps are Redis scripts (the subscriber lock, the
 * ledger, the call counter), and one implementation is the only way to keep the embedded and stand-alone Darajas
 * telling the same story.
 */
export async function startPrivateRedis(binary = 'redis-server'): Promise<PrivateRedis> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'];
  const watchdog =
    `"$0" "$@" & r=$!; trap 'kill $r 2>/dev/null; exit 0' TERM INT; ` +
    `while kill -0 ${process.pid} 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 1; done; kill $r 2>/dev/null`;
  const child: ChildProcess = spawn('sh', ['-c', watchdog, binary, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `redis://127.0.0.1:${port}`;
  const stop = () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`${binary} did not start (${stderr.trim() || `exit ${child.exitCode}`}); install Redis or set SIMULATOR_REDIS_URL`);
    }
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return { url, stop };
    } catch {
      probe.disconnect();
    }
    if (Date.now() > deadline) {
      stop();
      throw new Error(`${binary} did not answer on ${url} within ${READY_TIMEOUT_MS} ms; set SIMULATOR_REDIS_URL instead`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
