'use strict';
// Reads at scale: `node bench/run.js reads`. See bench/README.md, "Reads at scale".
//
// Two throw-away databases, BENCH_READS_SMALL (10,000) and BENCH_READS_LARGE (1,000,000) payments, each seeded,
// VACUUM ANALYZEd (autovacuum's state of an old table) and served by its own API process (MODE=api). Measures
// GET /api/payments (a mix of the common filters, for a client token and an admin token) and
// GET /api/payments/:id/status with autocannon in rounds A B B A, and prints p50/p99 per size and the 1M/10k p99
// ratio (target: at most 1.5).

const crypto = require('node:crypto');
const path = require('node:path');

const { ROOT, dropDatabase, freePort, run, stopApp, deleteRedisKeys, startApp, logTail, cpuByGroup, cpuDelta } = require('./harness');

const { fieldEncryption, seedPhone } = require('./seed');
const { cannon, summarize, round } = require('./lib');

const { Client } = require(require.resolve('pg', { paths: [ROOT] }));
const jwt = require(require.resolve('jsonwebtoken', { paths: [ROOT] }));

const SEED_BATCH = 10_000;
const SPREAD_DAYS = 180;
/** The bench's client: one of the 100 busy clients that together make a fifth of the payments. */
const BENCH_CLIENT = 'client-busy-7';

/**
 * Payments as the service leaves them, spread over 180 days in insert order (created_at follows the physical order,
 * as in a live table); row `i` of `total`. 85 % STK, 15 % C2B; 66 % completed, 2 % partially refunded, 2 % refunded,
 * 1 % reversed, 10 % failed, 13 % cancelled, 6 % expired, the newest minute pending; four payment types; a fifth of
 * the payments belong to 100 busy clients, the rest to 20,000 others. Phones sealed per row by the app's own code.
 */
const INSERT_SQL = `
INSERT INTO payments (
  id, client_id, channel, amount, status, payment_type, description, checkout_request_id, merchant_request_id,
  mpesa_receipt_number, mpesa_transaction_id, transaction_date, phone_number_encrypted, phone_number_hash,
  account_reference, transaction_desc, stk_push_status, callback_received, result_code, result_desc, settled_by,
  refunded_amount, request_payload, response_payload, callback_payload, request_id,
  initiated_at, completed_at, failed_at, created_at, updated_at)
SELECT id, client_id, channel, amount, status, payment_type, 'Payment ' || i,
       CASE WHEN channel = 'stk' THEN 'ws_CO_' || i END, CASE WHEN channel = 'stk' THEN 'mr-' || i END,
       CASE WHEN paid THEN 'R' || lpad(to_hex(i), 9, '0') END,
       CASE WHEN paid THEN 'R' || lpad(to_hex(i), 9, '0') END,
       CASE WHEN paid THEN created_at + seconds * interval '1 second' END,
       enc, hash,
       'LP' || upper(substr(md5(i::text), 1, 10)), 'Consultation',
       CASE WHEN channel = 'stk' THEN 'accepted' ELSE 'not_applicable' END,
       status NOT IN ('pending', 'expired'), result_code,
       CASE WHEN result_code = '0' THEN 'The service request is processed successfully.'
            WHEN result_code IS NOT NULL THEN 'Request failed: ' || result_code END,
       CASE WHEN status = 'pending' THEN NULL WHEN status = 'expired' THEN 'expiry' WHEN channel = 'c2b' THEN 'c2b_confirmation' ELSE 'callback' END,
       CASE status WHEN 'refunded' THEN amount WHEN 'partially_refunded' THEN amount / 2 ELSE 0 END,
       jsonb_build_object('amount', amount, 'paymentType', payment_type, 'phoneNumber', '2547****' || (i % 1000),
                          'description', 'Payment ' || i, 'accountReference', 'LP' || upper(substr(md5(i::text), 1, 10)),
                          'transactionDesc', 'Consultation'),
       jsonb_build_object('MerchantRequestID', 'mr-' || i, 'CheckoutRequestID', 'ws_CO_' || i, 'ResponseCode', '0',
                          'ResponseDescription', 'Success. Request accepted for processing',
                          'CustomerMessage', 'Success. Request accepted for processing'),
       CASE WHEN status NOT IN ('pending', 'expired') THEN jsonb_build_object('Body', jsonb_build_object('stkCallback', jsonb_build_object(
         'MerchantRequestID', 'mr-' || i, 'CheckoutRequestID', 'ws_CO_' || i, 'ResultCode', result_code,
         'ResultDesc', 'The service request is processed successfully.',
         'CallbackMetadata', jsonb_build_object('Item', jsonb_build_array(
           jsonb_build_object('Name', 'Amount', 'Value', amount),
           jsonb_build_object('Name', 'MpesaReceiptNumber', 'Value', 'R' || lpad(to_hex(i), 9, '0')),
           jsonb_build_object('Name', 'TransactionDate', 'Value', 20250101120000),
           jsonb_build_object('Name', 'PhoneNumber', 'Value', '2547****' || (i % 1000))))))) END,
       md5(i::text),
       created_at,
       CASE WHEN paid THEN created_at + seconds * interval '1 second' END,
       CASE WHEN status IN ('failed', 'cancelled', 'expired') THEN created_at + seconds * interval '1 second' END,
       created_at,
       created_at + seconds * interval '1 second'
  FROM (
    SELECT i, id, enc, hash, created_at, seconds, status, payment_type, amount, channel, client_id,
           status IN ('completed', 'partially_refunded', 'refunded', 'reversed') AS paid,
           CASE WHEN status IN ('completed', 'partially_refunded', 'refunded', 'reversed') THEN '0'
                WHEN status = 'cancelled' THEN '1032'
                WHEN status = 'expired' THEN NULL
                WHEN status = 'failed' THEN CASE WHEN r2 < 0.55 THEN '1' WHEN r2 < 0.85 THEN '2001' WHEN r2 < 0.97 THEN '1001' ELSE 'SFC_IC0003' END
           END AS result_code
      FROM (
        SELECT i, id, enc, hash, created_at, r2,
               5 + floor(r2 * 55) AS seconds,
               CASE WHEN c < 0.15 THEN 'completed'
                    WHEN created_at > now() - interval '1 minute' THEN 'pending'
                    WHEN r < 0.66 THEN 'completed' WHEN r < 0.68 THEN 'partially_refunded' WHEN r < 0.70 THEN 'refunded'
                    WHEN r < 0.71 THEN 'reversed' WHEN r < 0.81 THEN 'failed' WHEN r < 0.94 THEN 'cancelled' ELSE 'expired' END AS status,
               CASE WHEN c < 0.15 THEN 'c2b' ELSE 'stk' END AS channel,
               CASE WHEN k < 0.2 THEN 'client-busy-' || floor(k * 500)::int ELSE 'client-' || floor(k * 25000)::int END AS client_id,
               CASE WHEN t < 0.45 THEN 'consultation_fee' WHEN t < 0.75 THEN 'appointment_fee'
                    WHEN t < 0.95 THEN 'case_filing_fee' ELSE 'other' END AS payment_type,
               CASE WHEN t < 0.45 THEN 500 + floor(r3 * 4500) WHEN t < 0.75 THEN 1000 + floor(r3 * 9000)
                    WHEN t < 0.95 THEN 2000 + floor(r3 * 48000) ELSE 1 + floor(r3 * 249999) END::int AS amount
          FROM (
            -- random() in a subquery's target list: evaluated once per row, then reused by the CASEs above
            SELECT v.i, v.id, v.enc, v.hash,
                   now() - interval '${SPREAD_DAYS} days' + (v.i / $4::float8) * interval '${SPREAD_DAYS} days' AS created_at,
                   random() AS r, random() AS r2, random() AS r3, random() AS t, random() AS c, random() AS k
              FROM unnest($1::uuid[], $2::text[], $3::text[], $5::int[]) AS v(id, enc, hash, i)
          ) AS raw
      ) AS typed
  ) AS s`;

/**
 * Rows `from`..`to`-1 of a table of `total` (row i is created at i/total of the 180 days). Growing the table to a
 * larger total keeps the rows seeded first, so the small table's payments are spread the same way as the big one's.
 */
async function seed(db, fe, from, to, total, log) {
  const started = Date.now();
  for (let start = from; start < to; start += SEED_BATCH) {
    const ids = [];
    const enc = [];
    const hash = [];
    const ix = [];
    for (let i = start; i < Math.min(to, start + SEED_BATCH); i++) {
      const p = fe.paymentPhone(seedPhone(i));
      ids.push(p.id);
      enc.push(p.phoneEncrypted);
      hash.push(p.phoneHash);
      ix.push(i);
    }
    await db.query(INSERT_SQL, [ids, enc, hash, total, ix]);
    if ((start - from) % 100_000 === 0 && start > from)
      log(`    ${start.toLocaleString()} rows (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
}

async function measure({ appPid, baseUrl, adminToken, clientToken, statusIds, connections, seconds, warmupSeconds, log, label }) {
  const now = Date.now();
  const iso = (ms) => new Date(ms).toISOString();
  const lists = [
    [clientToken, ''],
    [clientToken, '?status=completed'],
    [clientToken, '?page=2&limit=20'],
    [clientToken, `?from=${iso(now - 30 * 86_400_000)}&to=${iso(now)}`],
    [adminToken, ''],
    [adminToken, '?status=failed&limit=50'],
    [adminToken, '?status=pending'],
    [adminToken, '?paymentType=case_filing_fee'],
    [adminToken, '?paymentType=other&status=completed'],
    [adminToken, '?channel=c2b'],
    [adminToken, `?from=${iso(now - 7 * 86_400_000)}&to=${iso(now - 6 * 86_400_000)}`],
    [adminToken, '?page=5&limit=20'],
  ].map(([token, query]) => ({ method: 'GET', path: `/api/payments${query}`, headers: { authorization: `Bearer ${token}` } }));
  const caseName = (request) =>
    `${request.headers.authorization.endsWith(clientToken) ? 'client' : 'admin'} ${request.path.replace('/api/payments', '').replace(/from=[^&]+&to=[^&]+/, 'from=…&to=…') || '-'}`;
  const statuses = statusIds.map(({ id, own }) => ({
    method: 'GET',
    path: `/api/payments/${id}/status`,
    headers: { authorization: `Bearer ${own ? clientToken : adminToken}` },
  }));
  const out = { perCase: {} };
  // Each list case alone, one at a time (median of 5 after one untimed): which filter costs what at this size.
  for (const request of lists) {
    const times = [];
    for (let i = 0; i < 6; i++) {
      const t = process.hrtime.bigint();
      const r = await fetch(`${baseUrl}${request.path}`, { headers: request.headers });
      await r.arrayBuffer();
      if (i) times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    out.perCase[caseName(request)] = round(times[2], 1);
  }
  log(
    `    ${label} list cases alone, median ms: ${Object.entries(out.perCase)
      .map(([k, v]) => `${k} ${v}`)
      .join('; ')}`,
  );
  for (const [name, requests] of [
    ['list', lists],
    ['status', statuses],
  ]) {
    // Each connection cycles through the whole list of requests.
    const opts = { url: baseUrl, connections, requests };
    if (warmupSeconds) await cannon({ ...opts, duration: warmupSeconds });
    const before = cpuByGroup(appPid);
    const t0 = Date.now();
    const result = summarize(await cannon({ ...opts, duration: seconds }));
    result.cpuSeconds = cpuDelta(before, cpuByGroup(appPid), Date.now() - t0);
    out[name] = result;
    log(
      `    ${label} ${name.padEnd(6)}: ${result.reqPerSecMean} req/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, ` +
        `max ${result.latencyMs.max} ms, non-2xx ${result.non2xx}`,
    );
  }
  return out;
}

async function runReadsBench({ baseDbUrl, redisUrl, ts, resultsDir, log, baseEnv }) {
  const small = baseEnv.intEnv('BENCH_READS_SMALL', 10_000);
  const large = baseEnv.intEnv('BENCH_READS_LARGE', 1_000_000);
  const seconds = baseEnv.intEnv('BENCH_READS_SECONDS', 10);
  const warmupSeconds = baseEnv.intEnv('BENCH_READS_WARMUP_SECONDS', 3, 0);
  const connections = baseEnv.intEnv('BENCH_READS_CONNECTIONS', 20);
  const dataKey = crypto.randomBytes(32).toString('hex');
  const jwtSecret = crypto.randomBytes(32).toString('hex');
  const admin = new Client({ connectionString: baseDbUrl });
  // One database and one API process per size, measured A B B A (small, large, large, small) so that the box's
  // load drifting during the run weighs on both sizes alike; each size's figures are the mean of its two rounds.
  const sizes = [small, large].map((size) => ({ size, dbName: `legalpro_bench_reads_${label(size).toLowerCase()}_${ts}` }));
  const fe = fieldEncryption(dataKey);
  const adminToken = jwt.sign({ sub: 'bench-admin', role: 'admin' }, jwtSecret, { algorithm: 'HS256', expiresIn: '2h' });
  const clientToken = jwt.sign({ sub: BENCH_CLIENT, role: 'client' }, jwtSecret, { algorithm: 'HS256', expiresIn: '2h' });
  const result = { small, large, connections, seconds, rounds: [], bySize: {} };
  try {
    await admin.connect();
    for (const s of sizes) {
      await admin.query(`CREATE DATABASE "${s.dbName}"`);
      const dbUrl = new URL(baseDbUrl);
      dbUrl.pathname = `/${s.dbName}`;
      s.port = await freePort();
      s.baseUrl = `http://127.0.0.1:${s.port}`;
      s.env = {
        ...baseEnv.common,
        MODE: 'api',
        PORT: String(s.port),
        DATABASE_URL: dbUrl.toString(),
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: `lpbenchreads${label(s.size).toLowerCase()}${ts}`,
        SIMULATOR_ENABLED: 'false',
        DATA_ENCRYPTION_KEY: dataKey,
        JWT_SECRET: jwtSecret,
      };
      delete s.env.MPESA_BASE_URL;
      log(`  migrating ${s.dbName}...`);
      run('node', ['dist/src/cli/migrate.js'], s.env);
      s.db = new Client({ connectionString: dbUrl.toString() });
      await s.db.connect();
      const t = Date.now();
      await seed(s.db, fe, 0, s.size, s.size, log);
      await s.db.query('VACUUM (ANALYZE) payments');
      const { rows } = await s.db.query(
        `SELECT pg_size_pretty(pg_total_relation_size('payments')) AS size, count(*)::int AS n,
                (SELECT count(*)::int FROM payments WHERE client_id = $1) AS mine FROM payments`,
        [BENCH_CLIENT],
      );
      log(
        `  ${rows[0].n.toLocaleString()} payments (${rows[0].size} with indexes; ${rows[0].mine} of the bench client), ` +
          `seeded and vacuumed in ${((Date.now() - t) / 1000).toFixed(0)} s`,
      );
      const { rows: idRows } = await s.db.query(
        `(SELECT id, true AS own FROM payments WHERE client_id = $1 ORDER BY random() LIMIT 200)
         UNION ALL (SELECT id, false FROM payments TABLESAMPLE SYSTEM (5) LIMIT 800)`,
        [BENCH_CLIENT],
      );
      s.statusIds = idRows.map((r) => ({ id: r.id, own: r.own }));
      s.logPath = path.join(resultsDir, `${ts}.reads-${label(s.size).toLowerCase()}.log`);
      s.app = await startApp({ env: s.env, logPath: s.logPath, name: `the app (${label(s.size)})`, baseUrl: s.baseUrl });
    }
    log(`  ${connections} connections, ${seconds} s per endpoint after ${warmupSeconds} s warm-up; rounds A B B A`);
    for (const s of [sizes[0], sizes[1], sizes[1], sizes[0]]) {
      const r = await measure({
        appPid: s.app.pid,
        baseUrl: s.baseUrl,
        adminToken,
        clientToken,
        statusIds: s.statusIds,
        connections,
        seconds,
        warmupSeconds,
        log,
        label: label(s.size),
      });
      result.rounds.push({ size: s.size, ...r });
    }
    for (const { size } of sizes) {
      const rounds = result.rounds.filter((r) => r.size === size);
      const mean = (f) => round(rounds.reduce((sum, r) => sum + f(r), 0) / rounds.length, 1);
      result.bySize[size] = Object.fromEntries(
        ['list', 'status'].map((name) => [
          name,
          {
            reqPerSecMean: mean((r) => r[name].reqPerSecMean),
            latencyMs: { p50: mean((r) => r[name].latencyMs.p50), p99: mean((r) => r[name].latencyMs.p99) },
          },
        ]),
      );
    }
    const ratio = (name) => round(result.bySize[large][name].latencyMs.p99 / result.bySize[small][name].latencyMs.p99, 2);
    result.p99Ratio = { list: ratio('list'), status: ratio('status') };
    for (const name of ['list', 'status'])
      log(
        `  ${name}: p99 ${label(small)} ${result.bySize[small][name].latencyMs.p99} ms, ${label(large)} ${result.bySize[large][name].latencyMs.p99} ms ` +
          `(means of two rounds) => ratio ${result.p99Ratio[name]} (target <= 1.5)`,
      );
    return result;
  } catch (error) {
    for (const s of sizes) {
      const tail = logTail(s.logPath);
      if (tail.trim()) console.error(`--- app (${label(s.size)}) log tail ---\n${tail}`);
    }
    throw error;
  } finally {
    for (const s of sizes) {
      if (s.db) await s.db.end().catch(() => {});
      await stopApp(s.app);
      await dropDatabase(admin, s.dbName, log);
      await deleteRedisKeys(redisUrl, `${s.env?.REDIS_KEY_PREFIX}:*`).catch((e) => log(`  could not delete Redis keys: ${e.message}`));
    }
    await admin.end().catch(() => {});
  }
}

const label = (n) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));

module.exports = { runReadsBench };
