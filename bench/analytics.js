#!/usr/bin/env node
'use strict';
// Payment analytics on a million payments: `node bench/analytics.js` (after `npm run build`). See bench/README.md.
//
// Creates a throw-away database legalpro_bench_analytics_<ts>, migrates it, seeds BENCH_ANALYTICS_ROWS payments
// (1,000,000) over 180 days with one INSERT ... SELECT FROM generate_series, VACUUM ANALYZEs, then times the very
// statement GET /api/payments/analytics runs (required from dist/) for 30 and 366 days, grouped by day and by
// payment type: with the indexes of migration AnalyticsIndexes1764151200000, then without them. Prints median and
// max of BENCH_ANALYTICS_RUNS runs (5) and EXPLAIN (ANALYZE, BUFFERS) summary lines; drops the database.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const { Client } = require(require.resolve('pg', { paths: [ROOT] }));
const SQL_MODULE = path.join(ROOT, 'dist/src/payments/analytics/payment-analytics.sql.js');

const intEnv = (name, fallback) => {
  const v = Number(process.env[name]);
  return process.env[name] && Number.isInteger(v) && v > 0 ? v : fallback;
};
const ROWS = intEnv('BENCH_ANALYTICS_ROWS', 1_000_000);
const RUNS = intEnv('BENCH_ANALYTICS_RUNS', 5);
const SPREAD_DAYS = 180;
const DAY_MS = 86_400_000;
const log = (...a) => console.log(...a);

/**
 * Payments as the service leaves them, in insert order (so created_at follows the physical order, as in a live
 * table): 180 days up to now, the last two minutes still pending; 66 % completed, 2 % partially refunded, 2 %
 * refunded, 1 % reversed, 10 % failed, 13 % cancelled, 6 % timed out; four payment types with their own amounts;
 * Daraja-like result codes, receipts and JSON payloads, so that rows are as wide as real ones (about 1.5 kB).
 */
const SEED_SQL = `
INSERT INTO payments (
  id, client_id, amount, status, payment_type, description, checkout_request_id, merchant_request_id,
  mpesa_receipt_number, mpesa_transaction_id, transaction_date, phone_number_encrypted, phone_number_hash,
  account_reference, transaction_desc, stk_push_status, callback_received, result_code, result_desc, settled_by,
  refunded_amount, request_payload, response_payload, callback_payload, request_id,
  initiated_at, completed_at, failed_at, created_at, updated_at)
SELECT gen_random_uuid(), 'client-' || (i % 40000), amount, status, payment_type, 'Payment ' || i,
       'ws_CO_' || i, 'mr-' || i,
       CASE WHEN paid THEN 'R' || lpad(to_hex(i), 9, '0') END,
       CASE WHEN paid THEN 'R' || lpad(to_hex(i), 9, '0') END,
       CASE WHEN paid THEN created_at + seconds * interval '1 second' END,
       'v1:' || md5(i::text) || md5((i + 1)::text) || md5((i + 2)::text),
       md5(i::text) || md5((-i)::text),
       'LP' || upper(substr(md5(i::text), 1, 10)), 'Consultation', 'accepted',
       status NOT IN ('pending', 'timeout'),
       result_code,
       CASE WHEN result_code = '0' THEN 'The service request is processed successfully.'
            WHEN result_code IS NOT NULL THEN 'Request failed: ' || result_code END,
       CASE WHEN status = 'pending' THEN NULL WHEN status = 'timeout' THEN 'timeout' ELSE 'callback' END,
       CASE status WHEN 'refunded' THEN amount WHEN 'partially_refunded' THEN amount / 2 ELSE 0 END,
       jsonb_build_object('amount', amount, 'paymentType', payment_type, 'phoneNumber', '2547****' || (i % 1000),
                          'description', 'Payment ' || i, 'accountReference', 'LP' || upper(substr(md5(i::text), 1, 10)),
                          'transactionDesc', 'Consultation'),
       jsonb_build_object('MerchantRequestID', 'mr-' || i, 'CheckoutRequestID', 'ws_CO_' || i, 'ResponseCode', '0',
                          'ResponseDescription', 'Success. Request accepted for processing',
                          'CustomerMessage', 'Success. Request accepted for processing'),
       CASE WHEN status NOT IN ('pending', 'timeout') THEN jsonb_build_object('Body', jsonb_build_object('stkCallback', jsonb_build_object(
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
       CASE WHEN status IN ('failed', 'cancelled', 'timeout') THEN created_at + seconds * interval '1 second' END,
       created_at,
       created_at + seconds * interval '1 second'
  FROM (
    SELECT i, created_at, seconds, status, payment_type, amount,
           status IN ('completed', 'partially_refunded', 'refunded', 'reversed') AS paid,
           CASE WHEN status IN ('completed', 'partially_refunded', 'refunded', 'reversed') THEN '0'
                WHEN status = 'cancelled' THEN '1032'
                WHEN status = 'timeout' THEN CASE WHEN r2 < 0.7 THEN '1037' END
                WHEN status = 'failed' THEN CASE WHEN r2 < 0.55 THEN '1' WHEN r2 < 0.85 THEN '2001' WHEN r2 < 0.97 THEN '1001' ELSE 'SFC_IC0003' END
           END AS result_code
      FROM (
        SELECT i, created_at, r2,
               5 + floor(r2 * 55) AS seconds,
               CASE WHEN created_at > now() - interval '2 minutes' THEN 'pending'
                    WHEN r < 0.66 THEN 'completed' WHEN r < 0.68 THEN 'partially_refunded' WHEN r < 0.70 THEN 'refunded'
                    WHEN r < 0.71 THEN 'reversed' WHEN r < 0.81 THEN 'failed' WHEN r < 0.94 THEN 'cancelled' ELSE 'timeout' END AS status,
               CASE WHEN t < 0.45 THEN 'consultation_fee' WHEN t < 0.75 THEN 'appointment_fee'
                    WHEN t < 0.95 THEN 'case_filing_fee' ELSE 'other' END AS payment_type,
               CASE WHEN t < 0.45 THEN 500 + floor(r3 * 4500) WHEN t < 0.75 THEN 1000 + floor(r3 * 9000)
                    WHEN t < 0.95 THEN 2000 + floor(r3 * 48000) ELSE 1 + floor(r3 * 249999) END::int AS amount
          FROM (
            -- random() in a subquery's target list: evaluated once per row, then reused by the CASEs above
            SELECT i, now() - interval '${SPREAD_DAYS} days' + (i / $1::float8) * interval '${SPREAD_DAYS} days' AS created_at,
                   random() AS r, random() AS r2, random() AS r3, random() AS t
              FROM generate_series(1, $1::int) AS g(i)
          ) AS raw
      ) AS typed
  ) AS s`;

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { cwd: ROOT, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout.trim();
}

const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;
const fmt = (n) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

/** The plan's lines worth a glance: nodes (without costs), sorts, heap fetches, total buffers, timings. */
function planSummary(lines) {
  const keep = /(Scan|Aggregate|Sort|Gather|Workers Launched|Heap Fetches|Execution Time|Planning Time|JIT:|^ {2}Timing:)/;
  const summary = lines
    .filter((l) => keep.test(l) && !/^\s*(Sort Key|Group Key|Hash Key|Planning:)/.test(l) && !/Subquery Scan/.test(l))
    .map((l) =>
      l
        .replace(/\s*\(cost=[^)]*\)/, '')
        .replace(/ \(actual time=[\d.]+\.\.([\d.]+) rows=(\d+) loops=(\d+)\)/, ' ($1 ms, $2 rows x $3 loops)'),
    );
  const buffers = lines.find((l) => /Buffers: shared/.test(l));
  if (buffers) summary.splice(1, 0, `  total ${buffers.trim()}`);
  return summary;
}

async function timeCases(db, paymentAnalyticsSql, label) {
  const results = [];
  const now = Date.now();
  for (const days of [30, 366]) {
    for (const groupBy of ['day', 'paymentType']) {
      const sql = paymentAnalyticsSql(groupBy);
      const params = [new Date(now - days * DAY_MS), new Date(now)];
      const first = process.hrtime.bigint();
      const { rows } = await db.query(sql, params);
      const firstMs = ms(first);
      const times = [];
      for (let i = 0; i < RUNS; i++) {
        const t = process.hrtime.bigint();
        await db.query(sql, params);
        times.push(ms(t));
      }
      times.sort((a, b) => a - b);
      const total = rows.find((r) => r.kind === 'total');
      const plan = (await db.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params)).rows.map((r) => r['QUERY PLAN']);
      const result = {
        label,
        days,
        groupBy,
        payments: total.count,
        rows: rows.length,
        firstMs,
        medianMs: times[Math.floor(times.length / 2)],
        maxMs: times.at(-1),
      };
      results.push(result);
      log(
        `  ${days} days, groupBy=${groupBy}: ${total.count} payments, ${rows.length} rows; first ${fmt(firstMs)} ms, then median ${fmt(result.medianMs)} ms, max ${fmt(result.maxMs)} ms (${RUNS} runs)`,
      );
      for (const line of planSummary(plan)) log(`      ${line}`);
    }
  }
  return results;
}

async function main() {
  if (!fs.existsSync(SQL_MODULE)) {
    console.error(`${path.relative(ROOT, SQL_MODULE)} is missing: run \`npm run build\` first`);
    process.exit(2);
  }
  const { paymentAnalyticsSql } = require(SQL_MODULE);
  log('Services: bash scripts/services.sh start');
  run('bash', ['scripts/services.sh', 'start']);

  const baseDbUrl = process.env.DATABASE_URL || 'postgres://legalpro:legalpro@127.0.0.1:55432/legalpro';
  const ts = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const dbName = `legalpro_bench_analytics_${ts}`;
  const dbUrl = new URL(baseDbUrl);
  dbUrl.pathname = `/${dbName}`;
  const admin = new Client({ connectionString: baseDbUrl });
  await admin.connect();
  let db;
  let cleaning;
  const cleanup = () =>
    (cleaning ??= (async () => {
      if (db) await db.end().catch(() => {});
      try {
        await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
        log(`Dropped ${dbName}`);
      } catch (e) {
        log(`Could not drop ${dbName}: ${e.message}`);
      }
      await admin.end().catch(() => {});
    })());
  process.once('SIGINT', () => {
    log('\nInterrupted: cleaning up.');
    cleanup().finally(() => process.exit(130));
  });

  try {
    await admin.query(`CREATE DATABASE "${dbName}"`);
    log(`Database: created ${dbName}; ${run('node', ['dist/src/cli/migrate.js'], { ...process.env, DATABASE_URL: dbUrl.toString() })}`);
    db = new Client({ connectionString: dbUrl.toString() });
    await db.connect();
    const settings = (
      await db.query(
        `SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem', 'max_parallel_workers_per_gather', 'jit')`,
      )
    ).rows;
    log(
      `Postgres ${(await db.query('SHOW server_version')).rows[0].server_version}: ${settings.map((s) => `${s.name}=${s.setting}${s.unit ?? ''}`).join(', ')}; ${require('node:os').cpus().length} CPU(s)`,
    );

    let t = process.hrtime.bigint();
    await db.query(SEED_SQL, [ROWS]);
    log(`Seeded ${ROWS.toLocaleString('en')} payments over ${SPREAD_DAYS} days in ${(ms(t) / 1000).toFixed(1)} s`);
    t = process.hrtime.bigint();
    // As autovacuum leaves a table whose old rows no longer change: all-visible pages, so index-only scans skip the heap.
    await db.query('VACUUM (ANALYZE) payments');
    log(`VACUUM (ANALYZE) in ${(ms(t) / 1000).toFixed(1)} s`);
    const sizes = (
      await db.query(`SELECT pg_size_pretty(pg_table_size('payments')) AS heap, pg_size_pretty(pg_relation_size('ix_payments_created')) AS created,
                             pg_size_pretty(pg_relation_size('ix_payments_created_analytics')) AS analytics`)
    ).rows[0];
    log(`Sizes: payments ${sizes.heap}, ix_payments_created ${sizes.created}, ix_payments_created_analytics ${sizes.analytics}`);
    const statuses = (await db.query(`SELECT status, count(*)::int AS n FROM payments GROUP BY 1 ORDER BY 2 DESC`)).rows;
    log(`Statuses: ${statuses.map((s) => `${s.status} ${s.n}`).join(', ')}`);

    log('\nWith ix_payments_created_analytics and st_payments_created_kenya_day (migration AnalyticsIndexes):');
    const withIndexes = await timeCases(db, paymentAnalyticsSql, 'with');

    await db.query('DROP STATISTICS st_payments_created_kenya_day');
    await db.query('DROP INDEX ix_payments_created_analytics');
    await db.query('ANALYZE payments');
    log('\nWithout them (only ix_payments_created (created_at), as before the migration):');
    const without = await timeCases(db, paymentAnalyticsSql, 'without');

    log('\nSummary (ms; median and max of the timed runs):');
    log('| window | groupBy | payments | with indexes: median / max | without: median / max |');
    log('|---|---|---|---|---|');
    withIndexes.forEach((w, i) => {
      const o = without[i];
      log(
        `| ${w.days} days | ${w.groupBy} | ${w.payments.toLocaleString('en')} | ${fmt(w.medianMs)} / ${fmt(w.maxMs)} | ${fmt(o.medianMs)} / ${fmt(o.maxMs)} |`,
      );
    });
  } catch (error) {
    console.error(`\nBENCH FAILED: ${error?.stack ?? error}`);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

main();
