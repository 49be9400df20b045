// API_PROCESSES (src/common/api-cluster.ts): MODE=api with several HTTP processes behind one port, as an operator
// runs it to give the API more than one core (docs/deployment.md §6, docs/performance.md).
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { waitFor } from '../support/app';
import { ExtraApp, startExtraApp } from '../support/extra-app';

let app: ExtraApp;

/** GET on a connection of its own (so the cluster hands each one out in turn), filed under `requestId`. */
function getOnNewConnection(path: string, requestId: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${app.url}${path}`, { agent: false, headers: { connection: 'close', 'x-request-id': requestId } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The pids of the processes whose log lines pass `matches`. */
function pidsThatLogged(matches: (entry: { requestId?: string; msg?: string }) => boolean): Set<number> {
  const pids = new Set<number>();
  for (const line of readFileSync(app.logFile, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { pid?: number; requestId?: string; msg?: string };
    if (entry.pid && matches(entry)) pids.add(entry.pid);
  }
  return pids;
}

beforeAll(async () => {
  app = await startExtraApp({ MODE: 'api', API_PROCESSES: '2', LOG_LEVEL: 'info' }, 'api-processes');
}, 120_000);

afterAll(async () => {
  await app?.stop();
});

describe('API_PROCESSES=2', () => {
  it('serves one port from two processes', async () => {
    // The app is healthy once one process listens; the other may still be starting.
    await waitFor(() => pidsThatLogged((entry) => entry.msg?.startsWith('MODE=api ') === true).size === 2, {
      timeoutMs: 60_000,
      message: 'both HTTP processes listening',
    });
    const ids = Array.from({ length: 12 }, (_, i) => `api-processes-${i}`);
    for (const id of ids) expect(await getOnNewConnection('/docs-json', id)).toBe(200);
    expect(pidsThatLogged((entry) => entry.msg === 'request completed' && ids.includes(entry.requestId ?? '')).size).toBe(2);
  }, 90_000);

  it('stops every process on SIGTERM to the primary', async () => {
    const exited = new Promise<number | null>((resolve) => app.child.once('exit', (code) => resolve(code)));
    app.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(getOnNewConnection('/health/live', 'api-processes-after-stop')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  }, 60_000);
});
