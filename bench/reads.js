'use strict';
// Reads at scale: `node bench/run.js reads`. See bench/README.md, "Reads at scale".
//
// Its own throw-away database and one API process (MODE=api). Seeds BENCH_READS_SMALL (10,000) payments, measures
// GET /api/payments (a mix of the common filters, for a client token and an admin token) and
// GET /api/payments/:id/status with autocannon; tops the table up to BENCH_READS_LARGE (1,000,000) payments,
// VACUUM ANALYZEs (autovacuum's state of an old table) and measures the same again. Prints p50/p99 per size and the
// 1M/10k p99 ratio (target: at most 1.5).

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
  const statuses = statusIds.map(({ id, own }) => ({
    method: 'GET',
    path: `/api/payments/${id}/status`,
    headers: { authorization: `Bearer ${own ? clientToken : adminToken}` },
  }));
  const out = {};
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
  const seconds = baseEnv.intEnv('BENCH_READS_SECONDS', 15);
  const warmupSeconds = baseEnv.intEnv('BENCH_READS_WARMUP_SECONDS', 5, 0);
  const connections = baseEnv.intEnv('BENCH_READS_CONNECTIONS', 20);
  const dbName = `legalpro_bench_reads_${ts}`;
  const dbUrl = new URL(baseDbUrl);
  dbUrl.pathname = `/${dbName}`;
  const redisPrefix = `lpbenchreads${ts}`;
  const dataKey = crypto.randomBytes(32).toString('hex');
  const jwtSecret = crypto.randomBytes(32).toString('hex');
  const admin = new Client({ connectionString: baseDbUrl });
  let app;
  let appLog;
  let db;
  const result = { small, large, connections, seconds, bySize: {} };
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE "${dbName}"`);
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const env = {
      ...baseEnv.common,
      MODE: 'api',
      PORT: String(port),
      DATABASE_URL: dbUrl.toString(),
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: redisPrefix,
      SIMULATOR_ENABLED: 'false',
      DATA_ENCRYPTION_KEY: dataKey,
      JWT_SECRET: jwtSecret,
    };
    delete env.MPESA_BASE_URL;
    log(`  migrating ${dbName}...`);
    run('node', ['dist/src/cli/migrate.js'], env);
    db = new Client({ connectionString: dbUrl.toString() });
    await db.connect();
    const fe = fieldEncryption(dataKey);
    const adminToken = jwt.sign({ sub: 'bench-admin', role: 'admin' }, jwtSecret, { algorithm: 'HS256', expiresIn: '2h' });
    const clientToken = jwt.sign({ sub: BENCH_CLIENT, role: 'client' }, jwtSecret, { algorithm: 'HS256', expiresIn: '2h' });

    appLog = path.join(resultsDir, `${ts}.reads-app.log`);
    for (const [size, from] of [
      [small, 0],
      [large, small],
    ]) {
      if (app) await stopApp(app);
      const t = Date.now();
      // The small table is the large one's first rows, spread over the same 180 days by the large total.
      if (size === small) await seed(db, fe, 0, small, small, log);
      else await seed(db, fe, from, size, size, log);
      await db.query('VACUUM (ANALYZE) payments');
      const { rows: sizeRows } = await db.query(
        `SELECT pg_size_pretty(pg_total_relation_size('payments')) AS size, count(*)::int AS n FROM payments`,
      );
      log(
        `  ${sizeRows[0].n.toLocaleString()} payments (${sizeRows[0].size} with indexes), seeded and vacuumed in ${((Date.now() - t) / 1000).toFixed(0)} s`,
      );
      // A fresh process per size, so neither run inherits the other's warm caches in the app.
      app = await startApp({ env, logPath: appLog, name: 'the app', baseUrl });
      const { rows: idRows } = await db.query(
        `(SELECT id, true AS own FROM payments WHERE client_id = $1 ORDER BY random() LIMIT 200)
         UNION ALL (SELECT id, false FROM payments TABLESAMPLE SYSTEM (5) LIMIT 800)`,
        [BENCH_CLIENT],
      );
      const { rows: mine } = await db.query(`SELECT count(*)::int AS n FROM payments WHERE client_id = $1`, [BENCH_CLIENT]);
      log(
        `  ${label(size)}: ${mine[0].n} payments of the bench client; ${connections} connections, ${seconds} s per endpoint after ${warmupSeconds} s warm-up`,
      );
      result.bySize[size] = await measure({
        appPid: app.pid,
        baseUrl,
        adminToken,
        clientToken,
        statusIds: idRows.map((r) => ({ id: r.id, own: r.own })),
        connections,
        seconds,
        warmupSeconds,
        log,
        label: label(size),
      });
    }
    const ratio = (name) => round(result.bySize[large][name].latencyMs.p99 / result.bySize[small][name].latencyMs.p99, 2);
    result.p99Ratio = { list: ratio('list'), status: ratio('status') };
    log(`  p99 ${label(large)} / ${label(small)}: list ${result.p99Ratio.list}, status ${result.p99Ratio.status} (target <= 1.5)`);
    return result;
  } catch (error) {
    const tail = logTail(appLog);
    if (tail.trim()) console.error(`--- app log tail ---\n${tail}`);
    throw error;
  } finally {
    if (db) await db.end().catch(() => {});
    await stopApp(app);
    await dropDatabase(admin, dbName, log);
    await admin.end().catch(() => {});
    await deleteRedisKeys(redisUrl, `${redisPrefix}:*`).catch((e) => log(`  could not delete Redis keys: ${e.message}`));
  }
}

const label = (n) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));

module.exports = { runReadsBench };
