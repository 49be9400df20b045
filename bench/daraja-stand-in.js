#!/usr/bin/env node
'use strict';
// A small Daraja stand-in for the sweep bench: OAuth and STK Query only, answering after a fixed latency with
// Daraja's own JSON. Plain node:http, no dependencies, 127.0.0.1 only.
//
//   node bench/daraja-stand-in.js [--port N] [--query-latency-ms 50]
//
// Prints one JSON line {"event":"listening","port":N} when ready.
//
//   GET  /oauth/v1/generate?grant_type=client_credentials   Basic auth -> { access_token, expires_in: "3599" }
//   POST /mpesa/stkpushquery/v1/query                       Bearer token; after the latency, Daraja's STK Query
//        answer for the CheckoutRequestID asked about: ResultCode "1032" (cancelled by the user) when the id ends
//        in 0, "0" (processed successfully) otherwise, so about a tenth of the payments end cancelled
//   GET  /__bench/stats                                     calls answered, the most in flight at once, refusals
//
// Unlike the app's simulator it keeps no state: it answers for any CheckoutRequestID, so the bench can seed pending
// payments straight into Postgres.

const http = require('node:http');
const crypto = require('node:crypto');
const { parseArgs } = require('node:util');

const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, 'query-latency-ms': { type: 'string', default: '50' } },
});
const queryLatencyMs = Number(values['query-latency-ms']);
const tokens = new Set();
const stats = { oauth: 0, queries: 0, result0: 0, result1032: 0, refused: 0, inFlight: 0, maxInFlight: 0 };

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  try {
    if (req.method === 'GET' && url.pathname === '/oauth/v1/generate') {
      if (!/^Basic \S+$/.test(req.headers.authorization ?? '')) return send(res, 400, '');
      const token = crypto.randomBytes(16).toString('base64url');
      tokens.add(token);
      stats.oauth++;
      return send(res, 200, { access_token: token, expires_in: '3599' });
    }
    if (req.method === 'POST' && url.pathname === '/mpesa/stkpushquery/v1/query') {
      const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      const body = JSON.parse((await readBody(req)) || '{}');
      if (!bearer || !tokens.has(bearer)) {
        stats.refused++;
        return send(res, 401, { requestId: crypto.randomUUID(), errorCode: '404.001.03', errorMessage: 'Invalid Access Token' });
      }
      const id = body.CheckoutRequestID;
      if (typeof id !== 'string' || !id || !body.Password || !body.Timestamp || !body.BusinessShortCode) {
        stats.refused++;
        return send(res, 400, {
          requestId: crypto.randomUUID(),
          errorCode: '400.002.02',
          errorMessage: 'Bad Request - Invalid CheckoutRequestID',
        });
      }
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      await new Promise((r) => setTimeout(r, queryLatencyMs));
      stats.inFlight--;
      stats.queries++;
      const cancelled = id.endsWith('0');
      if (cancelled) stats.result1032++;
      else stats.result0++;
      return send(res, 200, {
        ResponseCode: '0',
        ResponseDescription: 'The service request has been accepted successsfully',
        MerchantRequestID: `bench-${id.slice(-12)}`,
        CheckoutRequestID: id,
        ResultCode: cancelled ? '1032' : '0',
        ResultDesc: cancelled ? 'Request cancelled by user' : 'The service request is processed successfully.',
      });
    }
    if (req.method === 'GET' && url.pathname === '/__bench/stats') return send(res, 200, stats);
    send(res, 404, { errorMessage: 'Not found' });
  } catch (error) {
    send(res, 500, { errorMessage: String(error) });
  }
});
server.keepAliveTimeout = 65_000;
server.listen(Number(values.port), '127.0.0.1', () => {
  console.log(JSON.stringify({ event: 'listening', port: server.address().port, queryLatencyMs }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
