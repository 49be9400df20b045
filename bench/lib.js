'use strict';
// Helpers shared by the bench scripts: unique phones, autocannon runs, result summaries, small HTTP pools.

const autocannon = require('autocannon');

/**
 * Unique valid Safaricom MSISDNs: `25471` + 7 digits (up to 10 million per run). None starts with 2547000 or
 * 25470837, the simulator's scenario numbers, so every push takes the default scenario (success, one callback).
 */
function createPhoneSource() {
  let n = 0;
  return {
    next() {
      if (n >= 10_000_000) throw new Error('phone source exhausted');
      return `25471${String(n++).padStart(7, '0')}`;
    },
    get issued() {
      return n;
    },
  };
}

/**
 * Runs autocannon and resolves its result (rejects on a setup error). `stopAfterMs` ends a run early (autocannon's
 * `amount` overrides `duration`, so a capped fixed-count run needs this).
 */
function cannon({ stopAfterMs, ...opts }) {
  return new Promise((resolve, reject) => {
    let timer;
    const instance = autocannon({ timeout: 30, ...opts }, (err, result) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(result);
    });
    if (stopAfterMs) timer = setTimeout(() => instance.stop(), stopAfterMs);
  });
}

/** Keeps the first few bodies of each non-2xx status (autocannon only counts them). */
function createErrorSampler(perStatus = 3) {
  const samples = {};
  return {
    onResponse(status, body) {
      if (status >= 200 && status < 300) return;
      const list = (samples[status] ??= []);
      if (list.length < perStatus) list.push(String(body ?? '').slice(0, 500));
    },
    samples,
  };
}

/** The figures we report from an autocannon result. */
function summarize(result) {
  const statusCounts = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCounts[code] = stats.count;
  return {
    requests: result.requests.total,
    durationSeconds: result.duration,
    reqPerSecMean: round(result.requests.mean),
    // total / duration: the same figure when the run lasts whole seconds, more exact for `amount` runs.
    reqPerSecOverall: round(result.requests.total / result.duration),
    latencyMs: {
      mean: round(result.latency.mean),
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    statusCounts,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

const round = (x, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Runs `fn` over `items` with at most `limit` in flight; resolves the results in order. */
async function pool(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

async function httpJson(method, url, body, headers = {}) {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function fmtLatency(s) {
  return `p50 ${s.latencyMs.p50} ms, p90 ${s.latencyMs.p90} ms, p99 ${s.latencyMs.p99} ms, max ${s.latencyMs.max} ms`;
}

module.exports = { createPhoneSource, cannon, createErrorSampler, summarize, pool, httpJson, sleep, round, fmtLatency };
