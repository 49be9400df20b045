#!/usr/bin/env node
'use strict';
// Bench entry: `node bench/run.js [stk|callbacks|all]` (default all). See bench/README.md.
//
// Starts Postgres and Redis (scripts/services.sh), creates a throw-away database legalpro_bench_<ts>, migrates
// it, starts the built app on free ports, runs the benches, then stops the app, drops the database and deletes
// the run's Redis keys. Prints a summary and writes it to bench/results/<ts>.json.
//
// Layouts (BENCH_LAYOUT): `split` (default) runs the Daraja stand-in as its own process (dist/src/main.js,
// MODE=api, SIMULATOR_ENABLED=true; only its /simulator routes are used) and the app under test (MODE=all,
// SIMULATOR_ENABLED=false, MPESA_BASE_URL pointing at the stand-in) as another; `single` runs one MODE=all
// process with the embedded simulator, so one Node thread serves both the API and the stand-in.

const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const { Client } = require(require.resolve('pg', { paths: [ROOT] }));
const Redis = require(require.resolve('ioredis', { paths: [ROOT] }));
const jwt = require(require.resolve('jsonwebtoken', { paths: [ROOT] }));

const { createPhoneSource, httpJson, sleep, round } = require('./lib');
const { runStkBench } = require('./stk-push');
const { runCallbackBench } = require('./callbacks');

// The issue's reference figures for a bare Fastify + pg handler doing the same work, and the targets derived from them.
const BARE = { stk: { rps: 1100, p99: 120 }, callbacks: { rps: 2100, p99: 80 } };
const TARGET = {
  stk: { rps: BARE.stk.rps / 2, p99: BARE.stk.p99 * 2 },
  callbacks: { rps: BARE.callbacks.rps / 2, p99: BARE.callbacks.p99 * 2 },
};

/** A whole number from the environment, at least `min`; the fallback when unset or invalid. */
const intEnv = (name, fallback, min = 1) => {
  const raw = process.env[name];
  const v = Number(raw);
  return raw !== undefined && raw !== '' && Number.isFinite(v) && v >= min ? Math.floor(v) : fallback;
};

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

const LAYOUTS = {
  split: 'split: the app under test (MODE=all) and the Daraja stand-in (MODE=api, simulator) as two processes',
  single: 'single: one process (MODE=all) serving both the API and the embedded Daraja simulator',
};

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

async function main() {
  const mode = process.argv[2] ?? 'all';
  if (!['stk', 'callbacks', 'all'].includes(mode)) {
    console.error('usage: node bench/run.js [stk|callbacks|all]');
    process.exit(2);
  }
  const duration = intEnv('BENCH_DURATION', 20);
  const connections = intEnv('BENCH_CONNECTIONS', 100);
  const callbackCount = intEnv('BENCH_CALLBACKS', 20_000);
  const setupSeconds = intEnv('BENCH_SETUP_SECONDS', 50);
  const warmupSeconds = intEnv('BENCH_WARMUP_SECONDS', 10);
  const duplicates = intEnv('BENCH_DUPLICATES', 2_000, 0);
  const layout = process.env.BENCH_LAYOUT || 'split';
  if (!LAYOUTS[layout]) {
    console.error(`BENCH_LAYOUT must be one of ${Object.keys(LAYOUTS).join(', ')} (got ${layout})`);
    process.exit(2);
  }
  const build = process.env.BENCH_BUILD || 'stale';
  if (!['stale', 'missing'].includes(build)) {
    console.error(`BENCH_BUILD must be stale or missing (got ${build})`);
    process.exit(2);
  }
  const ts = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const resultsDir = path.join(__dirname, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });

  if (!fs.existsSync(path.join(ROOT, 'dist/src/main.js'))) {
    log('dist/src/main.js is missing: npm run build...');
    run('npm', ['run', 'build']);
  } else if (distIsStale()) {
    if (build === 'stale') {
      log('dist/ is older than src/: npm run build...');
      run('npm', ['run', 'build']);
    } else log('NOTE: dist/ is older than src/ and BENCH_BUILD=missing: benchmarking the existing build as it is');
  }
  log('Services: bash scripts/services.sh start');
  log(
    run('bash', ['scripts/services.sh', 'start'])
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
  );

  const baseDbUrl = process.env.DATABASE_URL || 'postgres://legalpro:legalpro@127.0.0.1:55432/legalpro';
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:56379';
  const dbName = `legalpro_bench_${ts}`;
  const dbUrl = new URL(baseDbUrl);
  dbUrl.pathname = `/${dbName}`;
  const redisPrefix = `lpbench${ts}`;
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  let simPort = port;
  if (layout === 'split')
    do simPort = await freePort();
    while (simPort === port);
  const simulatorUrl = `http://127.0.0.1:${simPort}`;
  const jwtSecret = crypto.randomBytes(32).toString('hex');

  // Shared by both processes (same database, Redis prefix and secrets); the per-process settings follow.
  const appEnv = {
    ...process.env,
    NODE_ENV: 'development',
    MODE: 'all',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: dbUrl.toString(),
    DATABASE_POOL_SIZE: '30',
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: redisPrefix,
    LOG_LEVEL: 'warn',
    MPESA_ENVIRONMENT: 'simulator',
    // Callbacks from the simulator would land in the middle of the STK bench: push them out of it (and the
    // callback bench switches them off altogether).
    SIMULATOR_CALLBACK_DELAY_MS: '60000',
    STATUS_SWEEP_INTERVAL_MS: '600000',
    STATUS_QUERY_MIN_AGE_MS: '600000',
    PAYMENT_MAX_PENDING_MS: '3600000',
    JWT_SECRET: jwtSecret,
    // One token from one IP at full speed is the bench, not a flood: measure the service, not its 429s (the
    // limits are still counted in Redis on every request, so their cost is in the figures).
    RATE_LIMIT_CLIENT_PER_MINUTE: '1000000',
    RATE_LIMIT_IP_PER_MINUTE: '1000000',
    MPESA_CALLBACK_SECRET: crypto.randomBytes(32).toString('hex'),
    DATA_ENCRYPTION_KEY: crypto.randomBytes(32).toString('hex'),
  };
  for (const k of [
    'PUBLIC_BASE_URL',
    'MPESA_BASE_URL',
    'MPESA_STK_CALLBACK_URL',
    'MPESA_CALLBACK_ALLOWED_IPS',
    'WEBHOOK_URL',
    'TRUSTED_PROXIES',
    'SIMULATOR_ENABLED',
  ])
    delete appEnv[k];
  let simEnv;
  if (layout === 'split') {
    // The stand-in boots the whole app, but only its /simulator routes are used, and MODE=api runs no BullMQ workers.
    simEnv = { ...appEnv, MODE: 'api', PORT: String(simPort), SIMULATOR_ENABLED: 'true', DATABASE_POOL_SIZE: '4' };
    // The app calls the stand-in for Daraja; the CallBackURLs it hands out default to its own port.
    Object.assign(appEnv, { SIMULATOR_ENABLED: 'false', MPESA_BASE_URL: `${simulatorUrl}/simulator/daraja` });
  } else appEnv.SIMULATOR_ENABLED = 'true';

  const admin = new Client({ connectionString: baseDbUrl });
  let child;
  let simChild;
  let db;
  let appLogPath;
  let simLogPath;
  let profilePath;
  const report = {
    startedAt: new Date().toISOString(),
    mode,
    layout,
    layoutDescription: LAYOUTS[layout],
    machine: { cpus: require('node:os').cpus().length, cpuModel: require('node:os').cpus()[0]?.model, node: process.version },
    settings: { connections, duration, warmupSeconds, callbackCount, setupSeconds, duplicates, databasePoolSize: 30 },
    bare: BARE,
    targets: TARGET,
    results: {},
    errors: [],
  };

  let cleaning;
  const cleanup = () => (cleaning ??= doCleanup());
  const doCleanup = async () => {
    log('Cleaning up...');
    if (db) await db.end().catch(() => {});
    if (profilePath) for (const f of ['.label', '.done']) fs.rmSync(`${profilePath}${f}`, { force: true });
    await Promise.all([stopApp(child), stopApp(simChild, 'the Daraja stand-in')]);
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      log(`  dropped ${dbName}`);
    } catch (e) {
      log(`  could not drop ${dbName}: ${e.message}`);
    }
    await admin.end().catch(() => {});
    try {
      const deleted = await deleteRedisKeys(redisUrl, `${redisPrefix}:*`);
      log(`  deleted ${deleted} Redis keys ${redisPrefix}:*`);
    } catch (e) {
      log(`  could not delete Redis keys: ${e.message}`);
    }
  };
  // Ctrl-C: still stop the app, drop the database and delete the keys.
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
    log('\nInterrupted: cleaning up, no results written.');
    cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onInterrupt);

  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE "${dbName}"`);
    log(`Database: created ${dbName}; migrating...`);
    log(`  ${run('node', ['dist/src/cli/migrate.js'], appEnv)}`);

    if (layout === 'split') {
      simLogPath = path.join(resultsDir, `${ts}.sim.log`);
      const simLog = fs.openSync(simLogPath, 'w');
      simChild = spawn(process.execPath, ['dist/src/main.js'], { cwd: ROOT, env: simEnv, stdio: ['ignore', simLog, simLog] });
      fs.closeSync(simLog);
      log(
        `Daraja stand-in: pid ${simChild.pid} on ${simulatorUrl} (MODE=api, SIMULATOR_ENABLED=true), log ${path.relative(ROOT, simLogPath)}`,
      );
    }
    appLogPath = path.join(resultsDir, `${ts}.app.log`);
    const appLog = fs.openSync(appLogPath, 'w');
    const nodeArgs = [];
    if (process.env.BENCH_CPU_PROF) {
      profilePath = path.join(resultsDir, `${ts}`);
      nodeArgs.push('-r', path.join(__dirname, 'profile-preload.js'));
      appEnv.BENCH_CPU_PROF_FILE = profilePath;
    }
    child = spawn(process.execPath, [...nodeArgs, 'dist/src/main.js'], { cwd: ROOT, env: appEnv, stdio: ['ignore', appLog, appLog] });
    fs.closeSync(appLog);
    log(
      `App: pid ${child.pid} on ${baseUrl} (MODE=all, ` +
        `${layout === 'split' ? `Daraja at ${simulatorUrl}/simulator/daraja` : 'embedded Daraja simulator in the same process'}), log ${path.relative(ROOT, appLogPath)}`,
    );
    await Promise.all([waitLive(baseUrl, child), simChild && waitLive(simulatorUrl, simChild, 'the Daraja stand-in')]);

    // Nothing in these benches wants the simulator's own callbacks.
    const off = await httpJson('POST', `${simulatorUrl}/simulator/control/callbacks`, { enabled: false });
    if (off.status !== 200) throw new Error(`POST /simulator/control/callbacks: ${off.status} ${off.text}`);

    db = new Client({ connectionString: dbUrl.toString() });
    await db.connect();

    const token = jwt.sign({ sub: 'bench-client', role: 'client' }, jwtSecret, { algorithm: 'HS256', expiresIn: '1h' });
    const phones = createPhoneSource();
    const accepted = [];
    log('');
    log(`Layout: ${LAYOUTS[layout]}.`);
    log(
      `NOTE: Postgres, Redis, the app${layout === 'split' ? ', the Daraja stand-in' : ''} and this load generator share this machine's ` +
        `${report.machine.cpus} CPU(s): figures are for this box only.`,
    );
    log('');

    const cpuProbe = () => cpuByGroup(child.pid, simChild?.pid);
    // With BENCH_CPU_PROF: profileMark('-') discards the profile so far, profileMark('x') writes it as <ts>.x.cpuprofile.
    const profileMark = async (label) => {
      if (!profilePath || child.exitCode !== null) return;
      fs.rmSync(`${profilePath}.done`, { force: true });
      fs.writeFileSync(`${profilePath}.label`, label);
      child.kill('SIGWINCH');
      for (let i = 0; i < 200 && !fs.existsSync(`${profilePath}.done`); i++) await sleep(50);
      if (!label.startsWith('-')) log(`  CPU profile of the app: ${path.relative(ROOT, `${profilePath}.${label}.cpuprofile`)}`);
    };
    if (mode === 'stk' || mode === 'all') {
      report.results.stk = await runStkBench({
        baseUrl,
        token,
        phones,
        connections,
        duration,
        warmupSeconds,
        acceptedPhones: accepted,
        log,
        cpuProbe,
        cpuDelta,
        profileMark,
      });
      log('');
    }
    if (mode === 'callbacks' || mode === 'all') {
      const r = await runCallbackBench({
        baseUrl,
        simulatorUrl,
        token,
        phones,
        db,
        count: callbackCount,
        connections,
        duplicates,
        setupSeconds,
        reusePhones: accepted,
        log,
        cpuProbe,
        cpuDelta,
        profileMark,
      });
      report.results.callbacks = r;
      if (!r.verification.ok || (r.duplicates && !r.duplicates.unchanged)) process.exitCode = 1;
      log('');
    }
    const stats = await httpJson('GET', `${simulatorUrl}/simulator/control/stats`);
    report.simulatorStats = stats.json;
  } catch (error) {
    if (interrupted) return;
    report.errors.push(String(error?.stack ?? error));
    console.error(`\nBENCH FAILED: ${error?.stack ?? error}`);
    for (const [name, file] of [
      ['app', appLogPath],
      ['Daraja stand-in', simLogPath],
    ]) {
      if (!file || !fs.existsSync(file)) continue;
      const tail = fs.readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
      if (tail.trim()) console.error(`--- ${name} log tail ---\n${tail}`);
    }
    process.exitCode = 1;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    await cleanup();
  }
  if (interrupted) return;

  report.finishedAt = new Date().toISOString();
  printSummary(report);
  const out = path.join(resultsDir, `${ts}.json`);
  fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  log(`\nWritten ${path.relative(ROOT, out)}`);
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

function printSummary(report) {
  const { stk, callbacks } = report.results;
  const rows = [];
  const line = (name, r, target, bare) => {
    if (!r) return;
    const rps = r.reqPerSecMean;
    const p99 = r.latencyMs.p99;
    rows.push([
      name,
      String(rps),
      String(r.latencyMs.p50),
      String(r.latencyMs.p90),
      String(p99),
      String(r.non2xx + r.errors),
      `>= ${target.rps} req/s, p99 <= ${target.p99} ms`,
      rps >= target.rps && p99 <= target.p99 ? 'met' : `NOT met (${Math.round((100 * rps) / bare.rps)}% of bare req/s)`,
    ]);
  };
  line('STK push initiation', stk, TARGET.stk, BARE.stk);
  line('Daraja STK callbacks', callbacks, TARGET.callbacks, BARE.callbacks);
  const head = ['bench', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'non-2xx+err', 'target', 'verdict'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r) => r.map((c, i) => c.padEnd(widths[i])).join(' | ');
  console.log(`\n=== Summary (layout ${report.layoutDescription}) ===`);
  console.log(fmt(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('-+-'));
  for (const r of rows) console.log(fmt(r));
  if (callbacks?.verification) {
    const v = callbacks.verification;
    console.log(
      `Callbacks applied: ${v.statuses.completed ?? 0}/${v.expected} completed, lost ${v.lost}, ` +
        `payment.completed audit events ${v.auditEvents} (not exactly once: ${v.auditNotExactlyOnce.length}) => ${v.ok ? 'OK' : 'FAILED'}`,
    );
    if (callbacks.duplicates)
      console.log(
        `Duplicates re-sent: ${callbacks.duplicates.sent}, state ${callbacks.duplicates.unchanged ? 'unchanged (OK)' : 'CHANGED'}`,
      );
  }
  const cpuRows = [
    ['STK push initiation', stk?.cpuSeconds],
    ['Daraja STK callbacks', callbacks?.cpuSeconds],
  ].filter(([, c]) => c);
  if (cpuRows.length) {
    console.log('CPU seconds during the timed runs:');
    for (const [name, c] of cpuRows) {
      console.log(
        `  ${name.padEnd(20)}: ${c.wallSeconds} s wall; app ${c.app}, simulator ${c.simulator}${report.layout === 'single' ? ' (inside app)' : ''}, ` +
          `postgres ${c.postgres}, redis ${c.redis}, loadgen ${c.loadgen}`,
      );
    }
  }
  console.log(
    `(bare Fastify + pg reference: STK ${BARE.stk.rps} req/s p99 ${BARE.stk.p99} ms; callbacks ${BARE.callbacks.rps} req/s p99 ${BARE.callbacks.p99} ms)`,
  );
  if (report.errors.length) console.log(`Errors: ${report.errors.length} (see the JSON)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
