'use strict';
// Process and database plumbing shared by bench/run.js's phases: free ports, the build check, starting and stopping
// the built app, throw-away databases, Redis key clean-up, CPU and memory readings from /proc.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const Redis = require(require.resolve('ioredis', { paths: [ROOT] }));
const { httpJson, sleep, round } = require('./lib');

const log = (...a) => console.log(...a);

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** dist is stale when main.js is missing or older than any file under src/ or migrations/. */
function distIsStale() {
  const main = path.join(ROOT, 'dist/src/main.js');
  if (!fs.existsSync(main)) return true;
  const built = fs.statSync(main).mtimeMs;
  const newer = (dir) =>
    fs.readdirSync(dir, { withFileTypes: true }).some((e) => {
      const p = path.join(dir, e.name);
      return e.isDirectory() ? newer(p) : fs.statSync(p).mtimeMs > built;
    });
  return ['src', 'migrations'].some((d) => fs.existsSync(path.join(ROOT, d)) && newer(path.join(ROOT, d)));
}

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { cwd: ROOT, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout.trim();
}

/**
 * CPU seconds used so far, per group: the app under test, the Daraja stand-in (its own process in the split
 * layout; 0 in the single one, where the app's figure includes it), every postgres process, every redis-server,
 * and this load generator. Linux only (reads /proc); on a shared box it shows who was busy while the bench ran.
 */
function cpuByGroup(appPid, simulatorPid) {
  const groups = { app: 0, simulator: 0, postgres: 0, redis: 0, loadgen: 0 };
  let names;
  try {
    names = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return undefined;
  }
  for (const pid of names) {
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const secs = (Number(fields[11]) + Number(fields[12])) / 100;
    if (Number(pid) === appPid) groups.app += secs;
    else if (simulatorPid !== undefined && Number(pid) === simulatorPid) groups.simulator += secs;
    else if (Number(pid) === process.pid) groups.loadgen += secs;
    else if (comm === 'postgres' || comm.startsWith('postgres')) groups.postgres += secs;
    else if (comm.startsWith('redis-server')) groups.redis += secs;
  }
  return groups;
}

/** CPU seconds per group between two cpuByGroup() readings, and the wall time, so "cores busy" can be read off. */
function cpuDelta(before, after, wallMs) {
  if (!before || !after) return undefined;
  const out = { wallSeconds: round(wallMs / 1000, 1) };
  for (const k of Object.keys(after)) out[k] = round(after[k] - before[k], 1);
  return out;
}

async function waitLive(baseUrl, child, name = 'the app', timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode} before it was live`);
    try {
      const r = await httpJson('GET', `${baseUrl}/health/live`);
      if (r.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await sleep(200);
  }
  throw new Error(`${name} was not live within ${timeoutMs / 1000} s`);
}

function stopApp(child, name = 'the app', timeoutMs = 20_000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      log(`  ${name} did not stop within ${timeoutMs / 1000} s: SIGKILL`);
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function deleteRedisKeys(url, pattern) {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** Resident memory of a process in MB (VmRSS), or undefined once it is gone. */
function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? round(Number(m[1]) / 1024, 1) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far, or undefined once it is gone. */
function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Starts `node dist/src/main.js` with `env`, its output to `logPath`; resolves once /health/live answers. */
async function startApp({ env, logPath, name, baseUrl, nodeArgs = [] }) {
  const out = fs.openSync(logPath, 'w');
  const child = spawn(process.execPath, [...nodeArgs, 'dist/src/main.js'], { cwd: ROOT, env, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  if (baseUrl) await waitLive(baseUrl, child, name);
  return child;
}

/** The last lines of a log file, for a failure report. */
function logTail(file, lines = 30) {
  if (!file || !fs.existsSync(file)) return '';
  return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

/** Drops a bench database; a stopped app's connections may take a moment to go, so it tries again once. */
async function dropDatabase(admin, dbName, log) {
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      return;
    } catch (e) {
      if (attempt >= 3) return log(`  could not drop ${dbName}: ${e.message}`);
      await sleep(2_000);
    }
  }
}

module.exports = {
  dropDatabase,
  ROOT,
  freePort,
  distIsStale,
  run,
  cpuByGroup,
  cpuDelta,
  waitLive,
  stopApp,
  deleteRedisKeys,
  rssMb,
  cpuSeconds,
  startApp,
  logTail,
  sleep,
  httpJson,
};
