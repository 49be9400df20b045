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

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const { Client } = require(require.resolve('pg', { paths: [ROOT] }));
const jwt = require(require.resolve('jsonwebtoken', { paths: [ROOT] }));

const { createPhoneSource, httpJson, sleep } = require('./lib');
const { freePort, distIsStale, run, cpuByGroup, cpuDelta, waitLive, stopApp, deleteRedisKeys } = require('./harness');
const { runStkBench } = require('./stk-push');
const { runCallbackBench } = require('./callbacks');
const { runSweepBench } = require('./sweep');
const { runReadsBench } = require('./reads');

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

const PHASES = ['stk', 'callbacks', 'sweep', 'reads'];

const LAYOUTS = {
  split: 'split: the app under test (MODE=all) and the Daraja stand-in (MODE=api, simulator) as two processes',
  single: 'single: one process (MODE=all) serving both the API and the embedded Daraja simulator',
};

async function main() {
  // Phases: `all` (the default) is the hot path, stk and callbacks; sweep and reads are optional, named on their own.
  const args = process.argv.slice(2);
  const phases = new Set((args.length ? args : ['all']).flatMap((a) => (a === 'all' ? ['stk', 'callbacks'] : [a])));
  const unknownPhase = [...phases].find((p) => !PHASES.includes(p));
  if (unknownPhase) {
    console.error(`usage: node bench/run.js [all|${PHASES.join('|')} ...] (unknown: ${unknownPhase})`);
    process.exit(2);
  }
  const mode = [...phases].join(' ');
  const hotPath = phases.has('stk') || phases.has('callbacks');
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
    if (hotPath) {
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
      if (phases.has('stk')) {
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
      if (phases.has('callbacks')) {
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
      await Promise.all([stopApp(child), stopApp(simChild, 'the Daraja stand-in')]);
    }
    const phaseContext = { baseDbUrl, redisUrl, ts, resultsDir, log, baseEnv: { common: appEnv, intEnv } };
    if (phases.has('sweep')) {
      log('Status sweep (bench/sweep.js):');
      report.results.sweep = await runSweepBench(phaseContext);
      if (!report.results.sweep.verification.ok) process.exitCode = 1;
      log('');
    }
    if (phases.has('reads')) {
      log('Reads at scale (bench/reads.js):');
      report.results.reads = await runReadsBench(phaseContext);
      log('');
    }
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
  console.log(`\n=== Summary (${report.mode}) ===`);
  printPhaseSummary(report.results);
  if (!rows.length) {
    if (report.errors.length) console.log(`Errors: ${report.errors.length} (see the JSON)`);
    return;
  }
  const head = ['bench', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'non-2xx+err', 'target', 'verdict'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r) => r.map((c, i) => c.padEnd(widths[i])).join(' | ');
  console.log(`Layout: ${report.layoutDescription}`);
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

/** The sweep and reads phases' lines, against the issue's targets. */
function printPhaseSummary({ sweep, reads }) {
  if (sweep) {
    const rss = sweep.rssMb.map((m) => `${m.start}/${m.peak}/${m.end}`).join('; ');
    const met = sweep.sweptSeconds !== null && sweep.sweptSeconds < 60;
    console.log(
      `Status sweep: ${sweep.payments} pending, STK Query ${sweep.queryLatencyMs} ms: ` +
        `${sweep.sweptSeconds === null ? `NOT done (${sweep.leftPending} left after the time-out)` : `swept in ${sweep.sweptSeconds} s`}; ` +
        `worker RSS start/peak/end ${rss} MB; target < 60 s: ${met ? 'met' : 'NOT met'}; checks ${sweep.verification.ok ? 'OK' : 'FAILED'}`,
    );
  }
  if (reads) {
    const sizes = Object.keys(reads.bySize);
    for (const name of ['list', 'status']) {
      const figures = sizes.map(
        (n) =>
          `${Number(n).toLocaleString()}: p50 ${reads.bySize[n][name].latencyMs.p50} ms, p99 ${reads.bySize[n][name].latencyMs.p99} ms, ${reads.bySize[n][name].reqPerSecMean} req/s`,
      );
      const ratio = reads.p99Ratio?.[name];
      console.log(
        `Reads, ${name.padEnd(6)}: ${figures.join(' | ')}; p99 ratio ${ratio ?? '?'} (target <= 1.5: ${ratio !== undefined && ratio <= 1.5 ? 'met' : 'NOT met'})`,
      );
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
