'use strict';
// The status sweep at scale: `node bench/run.js sweep`. See bench/README.md, "Status sweep".
//
// Its own throw-away database and processes: a Daraja stand-in (bench/daraja-stand-in.js) answering STK Query after
// BENCH_SWEEP_QUERY_LATENCY_MS (50), and BENCH_SWEEP_WORKERS (1) worker processes (MODE=worker) with the service's
// own sweep settings and DARAJA_MAX_CALLS_PER_SECOND=5000. Once the workers are up, BENCH_SWEEP_PAYMENTS (10,000)
// pending payments are seeded in one transaction, accepted by Daraja a minute ago (so all are due for a status
// query, none past its maximum age); the clock starts at the commit and stops when none is pending. The workers'
// RSS is sampled every second. Then Postgres and the stand-in are checked: every payment settled by the status query
// as the stand-in answered, one audit event each, and each payment asked about once.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

const {
  ROOT,
  dropDatabase,
  freePort,
  run,
  stopApp,
  deleteRedisKeys,
  rssMb,
  cpuSeconds,
  startApp,
  logTail,
  sleep,
  httpJson,
} = require('./harness');

const { fieldEncryption, seedPhone } = require('./seed');
const { round } = require('./lib');

const { Client } = require(require.resolve('pg', { paths: [ROOT] }));

const SEED_BATCH = 2_000;

function startStandIn(latencyMs, logPath) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'daraja-stand-in.js'), '--query-latency-ms', String(latencyMs)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', fs.openSync(logPath, 'w')],
    });
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const line = buffered.split('\n').find((l) => l.includes('"listening"'));
      if (line) resolve({ child, port: JSON.parse(line).port });
    });
    child.once('exit', (code) => reject(new Error(`the Daraja stand-in exited with code ${code}`)));
  });
}

async function waitMetrics(port, child, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`a worker exited with code ${child.exitCode} before it was up`);
    try {
      if ((await httpJson('GET', `http://127.0.0.1:${port}/metrics`)).status === 200) return;
    } catch {
      /* not listening yet */
    }
    await sleep(200);
  }
  throw new Error(`a worker did not answer /metrics within ${timeoutMs / 1000} s`);
}

/** Pending payments accepted by Daraja `ageSeconds` ago, written as stk-push.service.ts leaves them. */
async function seedPending(db, count, dataKey, tag, ageSeconds) {
  const fe = fieldEncryption(dataKey);
  await db.query('BEGIN');
  for (let start = 0; start < count; start += SEED_BATCH) {
    const rows = { id: [], enc: [], hash: [], checkout: [], ref: [] };
    for (let i = start; i < Math.min(count, start + SEED_BATCH); i++) {
      const p = fe.paymentPhone(seedPhone(i));
      rows.id.push(p.id);
      rows.enc.push(p.phoneEncrypted);
      rows.hash.push(p.phoneHash);
      rows.checkout.push(`ws_CO_${tag}${String(i).padStart(7, '0')}`);
      rows.ref.push(`LP${String(i).padStart(8, '0')}`);
    }
    await db.query(
      `INSERT INTO payments (id, client_id, amount, payment_type, description, phone_number_encrypted, phone_number_hash,
                             account_reference, transaction_desc, stk_push_status, checkout_request_id, merchant_request_id,
                             request_payload, response_payload, initiated_at, created_at, updated_at)
       SELECT v.id, 'client-' || (v.n % 500), 100 + (v.n % 50) * 100, 'consultation_fee', 'Consultation', v.enc, v.hash,
              v.ref, 'Consultation', 'accepted', v.checkout, 'mr-' || v.checkout,
              jsonb_build_object('amount', 100, 'paymentType', 'consultation_fee', 'phoneNumber', '2547****000'),
              jsonb_build_object('MerchantRequestID', 'mr-' || v.checkout, 'CheckoutRequestID', v.checkout, 'ResponseCode', '0',
                                 'ResponseDescription', 'Success. Request accepted for processing'),
              now() - make_interval(secs => $6), now() - make_interval(secs => $6), now() - make_interval(secs => $6)
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS v(id, enc, hash, checkout, ref, n)`,
      [rows.id, rows.enc, rows.hash, rows.checkout, rows.ref, ageSeconds],
    );
  }
  await db.query('COMMIT');
}

async function runSweepBench({ baseDbUrl, redisUrl, ts, resultsDir, log, baseEnv }) {
  const count = baseEnv.intEnv('BENCH_SWEEP_PAYMENTS', 10_000);
  const latencyMs = baseEnv.intEnv('BENCH_SWEEP_QUERY_LATENCY_MS', 50, 0);
  const workers = baseEnv.intEnv('BENCH_SWEEP_WORKERS', 1);
  const timeoutSeconds = baseEnv.intEnv('BENCH_SWEEP_TIMEOUT_SECONDS', 300);
  const dbName = `legalpro_bench_sweep_${ts}`;
  const dbUrl = new URL(baseDbUrl);
  dbUrl.pathname = `/${dbName}`;
  const redisPrefix = `lpbenchsweep${ts}`;
  const dataKey = crypto.randomBytes(32).toString('hex');
  const admin = new Client({ connectionString: baseDbUrl });
  const children = [];
  let standIn;
  let db;
  const result = { payments: count, queryLatencyMs: latencyMs, workers, settings: {} };
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE "${dbName}"`);
    const standInLog = path.join(resultsDir, `${ts}.sweep-daraja.log`);
    standIn = await startStandIn(latencyMs, standInLog);
    const env = {
      ...baseEnv.common,
      MODE: 'worker',
      DATABASE_URL: dbUrl.toString(),
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: redisPrefix,
      MPESA_ENVIRONMENT: 'simulator',
      SIMULATOR_ENABLED: 'false',
      MPESA_BASE_URL: `http://127.0.0.1:${standIn.port}`,
      // The setting: the budget out of the way of 10,000 queries (Daraja's own limit is the stand-in's business).
      DARAJA_MAX_CALLS_PER_SECOND: process.env.DARAJA_MAX_CALLS_PER_SECOND ?? '5000',
      // The stand-in speaks OAuth and STK Query only: no scheduled Pull Transactions runs against it.
      PULL_ENABLED: 'false',
      DATA_ENCRYPTION_KEY: dataKey,
    };
    // The service's own sweep settings unless the caller set them (BENCH_SWEEP_ENV passes them through).
    for (const k of ['STATUS_SWEEP_INTERVAL_MS', 'STATUS_QUERY_MIN_AGE_MS', 'PAYMENT_MAX_PENDING_MS']) delete env[k];
    for (const [k, v] of Object.entries(process.env)) if (/^(STATUS_|SWEEP_|WORKER_|DATABASE_POOL_SIZE$)/.test(k)) env[k] = v;
    result.settings = Object.fromEntries(
      Object.entries(env).filter(([k]) => /^(STATUS_|SWEEP_|WORKER_|DATABASE_POOL_SIZE$|DARAJA_MAX_CALLS)/.test(k)),
    );
    log(`  migrating ${dbName}...`);
    run('node', ['dist/src/cli/migrate.js'], env);
    for (let w = 0; w < workers; w++) {
      const metricsPort = await freePort();
      const logPath = path.join(resultsDir, `${ts}.sweep-worker${w}.log`);
      // BENCH_CPU_PROF=1: each worker writes a CPU profile (bench/results/*.cpuprofile) when it stops.
      const nodeArgs = process.env.BENCH_CPU_PROF
        ? ['--cpu-prof', '--cpu-prof-dir', resultsDir, '--cpu-prof-name', `${ts}.sweep-worker${w}.cpuprofile`]
        : [];
      const child = await startApp({ env: { ...env, METRICS_PORT: String(metricsPort) }, logPath, name: `worker ${w}`, nodeArgs });
      children.push({ child, logPath });
      await waitMetrics(metricsPort, child);
      log(`  worker ${w}: pid ${child.pid} (MODE=worker), log ${path.relative(ROOT, logPath)}`);
    }
    log(`  Daraja stand-in: pid ${standIn.child.pid} on 127.0.0.1:${standIn.port}, STK Query answers after ${latencyMs} ms`);

    db = new Client({ connectionString: dbUrl.toString() });
    await db.connect();
    const pids = children.map((c) => c.child.pid);
    const rss = () => pids.map((pid) => rssMb(pid) ?? 0);
    const cpu = () => pids.reduce((s, pid) => s + (cpuSeconds(pid) ?? 0), 0);
    const rssBeforeSeed = rss();
    const seedStart = Date.now();
    await seedPending(db, count, dataKey, ts.slice(-6), 60);
    const t0 = Date.now();
    const cpu0 = cpu();
    log(`  seeded ${count} pending payments (accepted 60 s ago) in ${((t0 - seedStart) / 1000).toFixed(1)} s; sweeping...`);

    const samples = [];
    let pending = count;
    let lastSample = 0;
    const deadline = t0 + timeoutSeconds * 1000;
    while (pending > 0 && Date.now() < deadline) {
      if (Date.now() - lastSample >= 1000) {
        lastSample = Date.now();
        const { rows } = await db.query(`SELECT count(*)::int AS n FROM payments WHERE status = 'pending'`);
        pending = rows[0].n;
        samples.push({ t: round((Date.now() - t0) / 1000, 1), pending, rssMb: rss() });
        const s = samples[samples.length - 1];
        if (samples.length % 5 === 1 || pending === 0) log(`    t=${s.t}s pending ${pending}, worker RSS ${s.rssMb.join(' / ')} MB`);
      } else await sleep(100);
    }
    const seconds = (Date.now() - t0) / 1000;
    result.sweptSeconds = pending === 0 ? round(seconds, 1) : null;
    result.leftPending = pending;
    result.workerCpuSeconds = round(cpu() - cpu0, 1);
    const perWorker = pids.map((_, i) => samples.map((s) => s.rssMb[i]));
    result.rssMb = perWorker.map((series, i) => ({
      beforeSeed: rssBeforeSeed[i],
      start: series[0],
      peak: Math.max(...series),
      end: series[series.length - 1],
    }));
    result.samples = samples;

    // Every payment settled by the status query, as the stand-in answered; one audit event each; asked once each.
    const { rows: statuses } = await db.query(
      `SELECT status, settled_by, count(*)::int AS n FROM payments GROUP BY status, settled_by ORDER BY status, settled_by`,
    );
    const { rows: wrong } = await db.query(
      `SELECT count(*)::int AS n FROM payments
        WHERE status <> 'pending' AND status <> CASE WHEN right(checkout_request_id, 1) = '0' THEN 'cancelled' ELSE 'completed' END`,
    );
    const { rows: audits } = await db.query(
      `SELECT count(*)::int AS events, count(DISTINCT entity_id)::int AS payments FROM audit_events
        WHERE entity_type = 'payment' AND action IN ('payment.completed', 'payment.cancelled')`,
    );
    const stats = (await httpJson('GET', `http://127.0.0.1:${standIn.port}/__bench/stats`)).json;
    result.verification = {
      statuses: statuses.map((r) => `${r.status}/${r.settled_by ?? '-'}: ${r.n}`),
      notAsAnswered: wrong[0].n,
      auditEvents: audits[0].events,
      auditedPayments: audits[0].payments,
      stkQueries: stats.queries,
      maxQueriesInFlight: stats.maxInFlight,
      refusedByStandIn: stats.refused,
    };
    result.verification.ok =
      pending === 0 && wrong[0].n === 0 && audits[0].events === count && audits[0].payments === count && stats.refused === 0;
    const r = result.rssMb.map((m) => `${m.start} / ${m.peak} / ${m.end}`).join('; ');
    log(
      `  swept ${count - pending}/${count} in ${seconds.toFixed(1)} s (${round((count - pending) / seconds, 0)}/s); ` +
        `worker RSS start/peak/end ${r} MB; worker CPU ${result.workerCpuSeconds} s; ` +
        `STK queries ${stats.queries} (at most ${stats.maxInFlight} in flight)`,
    );
    log(
      `  statuses: ${result.verification.statuses.join(', ')}; audit events ${audits[0].events} => ${result.verification.ok ? 'OK' : 'FAILED'}`,
    );
    return result;
  } catch (error) {
    for (const { logPath } of children) {
      const tail = logTail(logPath);
      if (tail.trim()) console.error(`--- ${path.basename(logPath)} tail ---\n${tail}`);
    }
    throw error;
  } finally {
    if (db) await db.end().catch(() => {});
    await Promise.all(children.map(({ child }, i) => stopApp(child, `worker ${i}`)));
    if (standIn) await stopApp(standIn.child, 'the Daraja stand-in');
    await dropDatabase(admin, dbName, log);
    await admin.end().catch(() => {});
    await deleteRedisKeys(redisUrl, `${redisPrefix}:*`).catch((e) => log(`  could not delete Redis keys: ${e.message}`));
  }
}

module.exports = { runSweepBench, seedPending };
