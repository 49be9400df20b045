'use strict';
// STK Push initiation bench: POST /api/payments/stk-push at N connections, one fresh phone per request.
// Each request does the whole initiation: JWT check, validation, payment + audit insert, the Daraja call
// (answered at once by the Daraja stand-in: a separate process by default, the app itself with
// BENCH_LAYOUT=single), and the update with the CheckoutRequestID.

const { cannon, createErrorSampler, summarize, fmtLatency } = require('./lib');

const BODY_BASE = { amount: 100, paymentType: 'consultation_fee', description: 'Bench' };

/**
 * @param {object} o
 * @param {string} o.baseUrl       http://127.0.0.1:<port>
 * @param {string} o.token         client JWT
 * @param {{next(): string}} o.phones unique phone source
 * @param {number} [o.connections]
 * @param {number} [o.duration]    seconds
 * @param {number} [o.warmupSeconds] load before the measured run (JIT warm-up; not reported)
 * @param {string[]} [o.acceptedPhones] filled with the phones whose push got a 201 (for the callback bench)
 */
async function runStkBench({
  baseUrl,
  token,
  phones,
  connections = 100,
  duration = 20,
  warmupSeconds = 10,
  acceptedPhones = [],
  log = console.log,
  cpuProbe,
  cpuDelta,
  profileMark = async () => {},
}) {
  const sampler = createErrorSampler();
  const request = {
    method: 'POST',
    path: '/api/payments/stk-push',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    setupRequest(req, context) {
      context.phone = phones.next();
      req.body = JSON.stringify({ ...BODY_BASE, phoneNumber: context.phone });
      return req;
    },
    onResponse(status, body, context) {
      if (status === 201) acceptedPhones.push(context.phone);
      else sampler.onResponse(status, body);
    },
  };

  log(`STK push: warm-up, ${warmupSeconds} s at ${connections} connections (not reported)...`);
  const warm = await cannon({ url: baseUrl, connections, duration: warmupSeconds, requests: [request] });
  const warmSummary = summarize(warm);
  log(
    `  warm-up: ${warmSummary.requests} requests, ${warmSummary.reqPerSecMean} req/s, ${warmSummary.non2xx} non-2xx, ${warmSummary.errors} errors`,
  );

  log(`STK push: ${connections} connections for ${duration} s...`);
  await profileMark('-');
  const c0 = cpuProbe?.();
  const t0 = Date.now();
  const result = await cannon({ url: baseUrl, connections, duration, requests: [request] });
  await profileMark('stk');
  const summary = summarize(result);
  if (c0) summary.cpuSeconds = cpuDelta(c0, cpuProbe(), Date.now() - t0);
  summary.name = 'stk-push';
  summary.connections = connections;
  summary.created201 = summary.statusCounts['201'] ?? 0;
  summary.errorSamples = sampler.samples;
  log(`  ${summary.reqPerSecMean} req/s (mean), ${fmtLatency(summary)}`);
  log(
    `  ${summary.requests} requests: ${JSON.stringify(summary.statusCounts)}, non-2xx ${summary.non2xx}, errors ${summary.errors}, timeouts ${summary.timeouts}`,
  );
  if (summary.cpuSeconds) log(`  CPU seconds used during the run: ${JSON.stringify(summary.cpuSeconds)}`);
  if (Object.keys(sampler.samples).length) log(`  non-2xx samples: ${JSON.stringify(sampler.samples)}`);
  return summary;
}

module.exports = { runStkBench };
