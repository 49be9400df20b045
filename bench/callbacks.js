'use strict';
// Callback bench: N pending payments, then one Daraja success callback for each, POSTed at N connections to the
// payment's own CallBackURL (pid + HMAC token), then a check in Postgres that every callback was applied exactly
// once, and a second pass of duplicates that must change nothing.

const { cannon, createErrorSampler, summarize, pool, httpJson, fmtLatency } = require('./lib');

const CREATE_BODY = { amount: 100, paymentType: 'consultation_fee', description: 'Bench' };

/** Kenya time (UTC+3, no DST) as Daraja's YYYYMMDDHHmmss number. */
function darajaTimestamp(date = new Date()) {
  const d = new Date(date.getTime() + 3 * 3600_000);
  const p = (n) => String(n).padStart(2, '0');
  return Number(
    `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`,
  );
}

/** 10 uppercase alphanumerics, unique per index: `B` + the index in base 36, zero-padded. */
const receiptFor = (i) => `B${i.toString(36).toUpperCase().padStart(9, '0')}`;

/** Safaricom's success callback (docs/daraja.md §3.1), the same file test/fixtures/daraja.ts loads for the tests. */
const STK_SUCCESS_CALLBACK = require('../test/fixtures/daraja/stk-callback-success.json');

function callbackBody(t, receipt, when) {
  const body = structuredClone(STK_SUCCESS_CALLBACK);
  const callback = body.Body.stkCallback;
  callback.MerchantRequestID = t.merchantRequestId;
  callback.CheckoutRequestID = t.checkoutRequestId;
  const values = { Amount: t.amount, MpesaReceiptNumber: receipt, TransactionDate: when, PhoneNumber: Number(t.phone) };
  for (const item of callback.CallbackMetadata.Item) if (item.Name in values) item.Value = values[item.Name];
  return JSON.stringify(body);
}

/** Creates pending payments through the API (autocannon, fixed count) and returns the phones that got a 201. */
async function createPayments({ baseUrl, token, phones, count, connections, log, stopAfterMs }) {
  const accepted = [];
  const sampler = createErrorSampler();
  const result = await cannon({
    url: baseUrl,
    connections: Math.min(connections, count),
    amount: count,
    stopAfterMs,
    requests: [
      {
        method: 'POST',
        path: '/api/payments/stk-push',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        setupRequest(req, context) {
          context.phone = phones.next();
          req.body = JSON.stringify({ ...CREATE_BODY, phoneNumber: context.phone });
          return req;
        },
        onResponse(status, body, context) {
          if (status === 201) accepted.push(context.phone);
          else sampler.onResponse(status, body);
        },
      },
    ],
  });
  const s = summarize(result);
  log(
    `  created ${accepted.length}/${count}${accepted.length < count && s.durationSeconds * 1000 >= stopAfterMs - 1000 ? ' (stopped by the time budget)' : ''} in ${s.durationSeconds} s (${s.reqPerSecOverall} req/s, ${fmtLatency(s)})`,
  );
  if (s.non2xx || s.errors)
    log(`  creation: ${JSON.stringify(s.statusCounts)}, errors ${s.errors}; samples ${JSON.stringify(sampler.samples)}`);
  return accepted;
}

/** Looks each phone's push up in the simulator: CallBackURL (with pid and token) and the Daraja ids. */
async function lookupTargets({ simulatorUrl, phones, log }) {
  const problems = [];
  const found = await pool(phones, 32, async (phone) => {
    const r = await httpJson('GET', `${simulatorUrl}/simulator/control/stk?phone=${phone}`);
    const items = r.json?.items ?? [];
    if (r.status !== 200 || items.length !== 1) {
      if (problems.length < 5) problems.push({ phone, status: r.status, items: items.length, body: r.text.slice(0, 200) });
      return null;
    }
    const it = items[0];
    const url = new URL(it.callbackUrl);
    return {
      phone,
      pid: url.searchParams.get('pid'),
      path: url.pathname + url.search,
      checkoutRequestId: it.checkoutRequestId,
      merchantRequestId: it.merchantRequestId,
      amount: it.amount,
    };
  });
  if (problems.length) log(`  simulator look-up problems (first ${problems.length}): ${JSON.stringify(problems)}`);
  return found.filter(Boolean);
}

/** Fires one request per entry of `targets` (exactly targets.length requests) and summarizes. */
async function fire({ baseUrl, targets, connections, cpuProbe, cpuDelta }) {
  const c0 = cpuProbe?.();
  const t0 = Date.now();
  const sampler = createErrorSampler();
  let i = 0;
  const result = await cannon({
    url: baseUrl,
    connections: Math.min(connections, targets.length),
    amount: targets.length,
    requests: [
      {
        method: 'POST',
        path: '/api/payments/mpesa/stk-callback',
        headers: { 'content-type': 'application/json' },
        setupRequest(req) {
          const t = targets[i++ % targets.length];
          req.path = t.path;
          req.body = t.body;
          return req;
        },
        onResponse: sampler.onResponse,
      },
    ],
  });
  const s = summarize(result);
  if (c0) s.cpuSeconds = cpuDelta(c0, cpuProbe(), Date.now() - t0);
  s.errorSamples = sampler.samples;
  return s;
}

async function verify(db, targets) {
  const ids = targets.map((t) => t.pid);
  const receipts = targets.map((t) => t.receipt);
  const q = async (sql, params) => (await db.query(sql, params)).rows;
  // One client: the queries run one after another.
  const statusRows = await q(`SELECT status, count(*)::int AS n FROM payments WHERE id = ANY($1::uuid[]) GROUP BY 1 ORDER BY 1`, [ids]);
  const receiptRows = await q(
    `SELECT count(*)::int AS n FROM payments p JOIN unnest($1::uuid[], $2::text[]) AS e(id, receipt) ON p.id = e.id
     WHERE p.status = 'completed' AND p.mpesa_receipt_number = e.receipt AND p.settled_by = 'callback'`,
    [ids, receipts],
  );
  const auditBad = await q(
    `SELECT entity_id, count(*)::int AS n FROM audit_events WHERE action = 'payment.completed' AND entity_id = ANY($1::text[])
     GROUP BY 1 HAVING count(*) <> 1 LIMIT 10`,
    [ids],
  );
  const auditCount = await q(
    `SELECT count(DISTINCT entity_id)::int AS payments, count(*)::int AS events FROM audit_events
     WHERE action = 'payment.completed' AND entity_id = ANY($1::text[])`,
    [ids],
  );
  const flagged = await q(`SELECT count(*)::int AS n FROM payments WHERE id = ANY($1::uuid[]) AND review_reason IS NOT NULL`, [ids]);
  const notifBad = await q(
    `SELECT count(*)::int AS n FROM (SELECT subject_id FROM notifications WHERE event = 'payment.completed' AND subject_id = ANY($1::text[])
     GROUP BY 1 HAVING count(*) <> 1) x`,
    [ids],
  );
  const notifCount = await q(
    `SELECT count(*)::int AS n FROM notifications WHERE event = 'payment.completed' AND subject_id = ANY($1::text[])`,
    [ids],
  );
  const txlog = await q(
    `SELECT outcome, count(*)::int AS n FROM transaction_logs WHERE transaction_type = 'STK_CALLBACK' GROUP BY 1 ORDER BY 1`,
  );
  const statuses = Object.fromEntries(statusRows.map((r) => [r.status, r.n]));
  const completed = statuses.completed ?? 0;
  return {
    expected: targets.length,
    statuses,
    completedWithOurReceipt: receiptRows[0].n,
    lost: targets.length - completed,
    auditPaymentsWithEvent: auditCount[0].payments,
    auditEvents: auditCount[0].events,
    auditNotExactlyOnce: auditBad,
    flaggedForReview: flagged[0].n,
    notifications: notifCount[0].n,
    notificationsNotExactlyOnce: notifBad[0].n,
    transactionLogOutcomes: Object.fromEntries(txlog.map((r) => [r.outcome, r.n])),
  };
}

const verdict = (v) =>
  v.lost === 0 &&
  v.completedWithOurReceipt === v.expected &&
  v.auditPaymentsWithEvent === v.expected &&
  v.auditEvents === v.expected &&
  v.auditNotExactlyOnce.length === 0 &&
  v.flaggedForReview === 0 &&
  v.notificationsNotExactlyOnce === 0 &&
  v.notifications === v.expected;

/**
 * @param {object} o
 * @param {string} o.baseUrl  the app under test (/api/*)
 * @param {string} [o.simulatorUrl]  the Daraja stand-in (/simulator/control/*); the app itself when embedded
 * @param {import('pg').Client} o.db  connected to the bench database
 * @param {string[]} [o.reusePhones]  phones with an accepted, still-pending push (e.g. from the STK bench)
 */
async function runCallbackBench({
  baseUrl,
  simulatorUrl = baseUrl,
  token,
  phones,
  db,
  count = 20_000,
  connections = 100,
  duplicates = 2_000,
  setupSeconds = 50,
  reusePhones = [],
  log = console.log,
  cpuProbe,
  cpuDelta,
  profileMark = async () => {},
  warmupShare = 0.1,
}) {
  const off = await httpJson('POST', `${simulatorUrl}/simulator/control/callbacks`, { enabled: false });
  if (off.status !== 200) throw new Error(`could not switch simulator callbacks off: ${off.status} ${off.text}`);

  const started = Date.now();
  let candidates = reusePhones.slice(0, count);
  if (candidates.length) log(`Callbacks: reusing ${candidates.length} pending payments from the STK bench`);
  // Creation goes through the API (the CallBackURL's token is the app's HMAC), at the app's own pace; the time
  // budget keeps a slow app from stretching the run, so N may come out below BENCH_CALLBACKS (printed).
  const deadline = Date.now() + setupSeconds * 1000;
  for (let attempt = 0; candidates.length < count && attempt < 3 && Date.now() < deadline - 1000; attempt++) {
    const missing = count - candidates.length;
    log(`Callbacks: creating ${missing} pending payments through the API (time budget ${Math.round((deadline - Date.now()) / 1000)} s)...`);
    candidates = candidates.concat(
      await createPayments({ baseUrl, token, phones, count: missing, connections, log, stopAfterMs: deadline - Date.now() }),
    );
  }
  log(`Callbacks: looking up ${candidates.length} CallBackURLs in the simulator...`);
  const lookupStart = Date.now();
  let targets = await lookupTargets({ simulatorUrl, phones: candidates, log });
  log(`  found ${targets.length} in ${((Date.now() - lookupStart) / 1000).toFixed(1)} s`);

  // Only payments still pending take part (anything else would not be a fresh callback).
  const pending = new Set(
    (
      await db.query(`SELECT id::text FROM payments WHERE id = ANY($1::uuid[]) AND status = 'pending'`, [targets.map((t) => t.pid)])
    ).rows.map((r) => r.id),
  );
  const notPending = targets.length - pending.size;
  if (notPending) log(`  ${notPending} of them are no longer pending: left out`);
  targets = targets.filter((t) => pending.has(t.pid)).slice(0, count);
  if (targets.length < count)
    log(
      `  NOTE: N = ${targets.length}, below the ${count} asked for (BENCH_CALLBACKS): not enough were created within BENCH_SETUP_SECONDS=${setupSeconds} or found in the simulator`,
    );

  const when = darajaTimestamp();
  targets.forEach((t, i) => {
    t.receipt = receiptFor(i);
    t.body = callbackBody(t, t.receipt, when);
  });
  log(`  setup took ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // Warm-up (JIT) on the first tenth, at most 2,000: real callbacks, verified with the rest, but not timed.
  const w = Math.min(2_000, Math.floor(targets.length * warmupShare));
  if (w > 0) {
    log(`Callbacks: warm-up, ${w} of them (verified, not timed)...`);
    const warm = await fire({ baseUrl, targets: targets.slice(0, w), connections });
    if (warm.non2xx || warm.errors)
      log(`  warm-up: ${JSON.stringify(warm.statusCounts)}, errors ${warm.errors}; samples ${JSON.stringify(warm.errorSamples)}`);
  }
  log(`Callbacks: POSTing ${targets.length - w} success callbacks at ${connections} connections...`);
  await profileMark('-');
  const summary = await fire({ baseUrl, targets: targets.slice(w), connections, cpuProbe, cpuDelta });
  await profileMark('callbacks');
  summary.name = 'callbacks';
  summary.warmupCallbacks = w;
  summary.connections = connections;
  summary.requested = count;
  log(`  ${summary.reqPerSecMean} req/s (mean), ${summary.reqPerSecOverall} req/s (total/duration), ${fmtLatency(summary)}`);
  log(
    `  ${summary.requests} requests: ${JSON.stringify(summary.statusCounts)}, non-2xx ${summary.non2xx}, errors ${summary.errors}, timeouts ${summary.timeouts}`,
  );
  if (summary.cpuSeconds) log(`  CPU seconds used during the run: ${JSON.stringify(summary.cpuSeconds)}`);
  if (Object.keys(summary.errorSamples).length) log(`  non-2xx samples: ${JSON.stringify(summary.errorSamples)}`);

  const v = await verify(db, targets);
  summary.verification = { ...v, ok: verdict(v) };
  log(
    `  verify: ${v.statuses.completed ?? 0}/${v.expected} completed (${v.completedWithOurReceipt} with our receipt), lost ${v.lost}, ` +
      `payment.completed events ${v.auditEvents} for ${v.auditPaymentsWithEvent} payments, not exactly once: ${v.auditNotExactlyOnce.length}, ` +
      `flagged ${v.flaggedForReview}, notifications not exactly once: ${v.notificationsNotExactlyOnce} => ${summary.verification.ok ? 'OK' : 'FAILED'}`,
  );
  if (!summary.verification.ok) log(`  verification detail: ${JSON.stringify(v)}`);

  const d = Math.min(duplicates, targets.length);
  if (d > 0) {
    log(`Callbacks: re-sending ${d} of the same callbacks (duplicates)...`);
    const dup = await fire({ baseUrl, targets: targets.slice(0, d), connections });
    const v2 = await verify(db, targets);
    const unchanged = verdict(v2) && v2.auditEvents === v.auditEvents && (v2.statuses.completed ?? 0) === (v.statuses.completed ?? 0);
    summary.duplicates = {
      sent: d,
      reqPerSecOverall: dup.reqPerSecOverall,
      latencyMs: dup.latencyMs,
      statusCounts: dup.statusCounts,
      errors: dup.errors,
      errorSamples: dup.errorSamples,
      afterward: v2,
      unchanged,
    };
    log(
      `  duplicates: ${JSON.stringify(dup.statusCounts)}, ${dup.reqPerSecOverall} req/s, ${fmtLatency(dup)}; ` +
        `payment.completed events still ${v2.auditEvents} (${v2.auditNotExactlyOnce.length} not exactly once), ` +
        `callback log outcomes ${JSON.stringify(v2.transactionLogOutcomes)} => ${unchanged ? 'nothing changed, OK' : 'CHANGED'}`,
    );
  }
  return summary;
}

module.exports = { runCallbackBench, darajaTimestamp, receiptFor };
