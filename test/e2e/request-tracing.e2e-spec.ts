// Issue 4, "Logs": a request id follows a payment from its HTTP request into its jobs, its Daraja calls, its
// callbacks' rows and its audit events, and no secret or full phone number is ever written to logs, audit events,
// transaction logs, notifications or job data. An app of its own: info-level logs and secrets this file chose.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Redis from 'ioredis';
import { sign } from 'jsonwebtoken';
import { Pool } from 'pg';
import { SHIPPED_CERTIFICATES } from '../../src/config/configuration';
import { encryptInitiatorPassword } from '../../src/mpesa/security-credential';
import { api, ApiResponse, uniquePhone, waitFor } from '../support/app';
import { ExtraApp, startExtraApp } from '../support/extra-app';
import { JobSampler } from '../support/job-sampler';
import { SCENARIO_PHONES } from '../support/factories';
import { serviceUrls } from '../support/test-env';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

// Secrets of this app only, so that finding one anywhere can only mean it leaked.
const INITIATOR_PASSWORD = `Init!${hex(6)}`;
const SECRETS = {
  MPESA_CONSUMER_KEY: `ck${hex(12)}`,
  MPESA_CONSUMER_SECRET: `cs${hex(12)}`,
  MPESA_PASSKEY: hex(32),
  MPESA_INITIATOR_PASSWORD: INITIATOR_PASSWORD,
  // Given ready-made (as production does) so that the test knows the exact value sent to Daraja.
  MPESA_SECURITY_CREDENTIAL: encryptInitiatorPassword(INITIATOR_PASSWORD, readFileSync(SHIPPED_CERTIFICATES.simulator)),
};

const callbackPhone = uniquePhone(); // success, reported by the callback
const queriedPhone = SCENARIO_PHONES.noCallback; // success, but only the status query finds out

let app: ExtraApp;
let pool: Pool;
let redis: Redis;
/** Every job field (data, failedReason...) seen in Redis while the app worked: completed jobs are removed at once. */
let jobs: JobSampler;

const client = { id: `client-${hex(6)}`, role: 'client' };
const admin = { id: `admin-${hex(6)}`, role: 'admin' };
const tokenOf = (claims: { id: string; role: string }) =>
  sign({ sub: claims.id, role: claims.role }, app.env.JWT_SECRET, { algorithm: 'HS256', expiresIn: '1h' });

interface LogLine {
  msg?: string;
  requestId?: string;
  originRequestId?: string;
  req?: { path?: string };
  context?: string;
  [key: string]: unknown;
}

function logText(): string {
  return readFileSync(app.logFile, 'utf8');
}

function logLines(): LogLine[] {
  return logText()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

async function rows(sql: string, params: unknown[] = []): Promise<Record<string, any>[]> {
  return (await pool.query(sql, params)).rows;
}

function push(requestId: string, phoneNumber: string): Promise<ApiResponse> {
  return api('/api/payments/stk-push', {
    baseUrl: app.url,
    method: 'POST',
    token: tokenOf(client),
    headers: { 'x-request-id': requestId },
    body: { phoneNumber, amount: 500, paymentType: 'consultation_fee', description: `Consultation for ${phoneNumber}` },
  });
}

async function waitForPayment(paymentId: string, status: string): Promise<Record<string, any>> {
  return waitFor(async () => (await rows('SELECT * FROM payments WHERE id = $1', [paymentId])).find((p) => p.status === status), {
    timeoutMs: 30_000,
    message: `payment ${paymentId} to be ${status}`,
  });
}

function linesOf(requestId: string): LogLine[] {
  return logLines().filter((l) => l.requestId === requestId || l.originRequestId === requestId);
}

/** Outside HTTP: pino-http binds `req` to every line logged while handling a request. */
const inJob = (line: LogLine) => line.req === undefined;

beforeAll(async () => {
  app = await startExtraApp({ LOG_LEVEL: 'info', ...SECRETS }, 'request-tracing');
  pool = new Pool({ connectionString: app.databaseUrl, max: 2 });
  redis = new Redis(serviceUrls().redisUrl, { maxRetriesPerRequest: 2 });
  jobs = new JobSampler(redis, app.redisKeyPrefix);
  jobs.start();
}, 90_000);

afterAll(async () => {
  jobs?.stop();
  await pool?.end();
  redis?.disconnect();
  await app?.stop();
});

describe('one request id from the HTTP request to the jobs, Daraja calls, callbacks and audit trail', () => {
  const traced = { callback: `trace-${hex(6)}`, query: `trace-${hex(6)}`, refund: `trace-${hex(6)}` };
  let callbackPaymentId: string;

  it('answers with the caller X-Request-Id and files a payment settled by its callback under it', async () => {
    const res = await push(traced.callback, callbackPhone);
    expect(res.status).toBe(201);
    expect(res.headers['x-request-id']).toBe(traced.callback);
    callbackPaymentId = res.body.data.paymentId;

    const payment = await waitForPayment(callbackPaymentId, 'completed');
    expect(payment).toMatchObject({ request_id: traced.callback, settled_by: 'callback' });

    // The callback arrives as its own HTTP request, yet its row is filed under the payment's request id.
    const logs = await waitFor(async () => {
      const found = await rows('SELECT transaction_type, request_id FROM transaction_logs WHERE reference = $1 ORDER BY id', [
        callbackPaymentId,
      ]);
      return found.some((r) => r.transaction_type === 'STK_CALLBACK') && found;
    });
    expect(logs.map((r) => r.transaction_type)).toEqual(expect.arrayContaining(['STK_PUSH', 'STK_CALLBACK']));
    expect(logs.every((r) => r.request_id === traced.callback)).toBe(true);

    const audit = await rows('SELECT action, actor_type, request_id FROM audit_events WHERE entity_id = $1 ORDER BY id', [
      callbackPaymentId,
    ]);
    expect(audit.map((a) => a.action)).toEqual(['payment.initiated', 'payment.completed']);
    expect(audit.every((a) => a.request_id === traced.callback)).toBe(true);

    // The payment.completed webhook row, which the worker that delivers it logs under the same id.
    const [notification] = await rows(`SELECT request_id FROM notifications WHERE subject_id = $1 AND event = 'payment.completed'`, [
      callbackPaymentId,
    ]);
    expect(notification.request_id).toBe(traced.callback);

    const lines = await waitFor(() => {
      const found = linesOf(traced.callback);
      return found.some((l) => l.originRequestId === traced.callback && /STK_CALLBACK/.test(l.msg ?? '')) && found;
    });
    // The push's own request line, the Daraja call made while handling it, and the callback's lines: those keep the
    // callback's own request id and name the payment's beside it.
    expect(lines).toContainEqual(
      expect.objectContaining({ requestId: traced.callback, req: expect.objectContaining({ path: '/api/payments/stk-push' }) }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ requestId: traced.callback, msg: expect.stringMatching(/^Daraja STK_PUSH .*: ok/) }),
    );
    const callbackLine = lines.find((l) => l.originRequestId === traced.callback && /STK_CALLBACK/.test(l.msg ?? '')) as LogLine;
    expect(callbackLine.requestId).not.toBe(traced.callback);
    expect(callbackLine.req?.path).toBe('/api/payments/mpesa/stk-callback');
  });

  it('files the status query job, its Daraja call and the settlement of a payment with no callback under the payment request id', async () => {
    const res = await push(traced.query, queriedPhone);
    expect(res.status).toBe(201);
    expect(res.headers['x-request-id']).toBe(traced.query);
    const paymentId = res.body.data.paymentId;

    const payment = await waitForPayment(paymentId, 'completed');
    expect(payment).toMatchObject({ request_id: traced.query, settled_by: 'status_query' });

    const logs = await rows('SELECT transaction_type, request_id FROM transaction_logs WHERE reference = $1 ORDER BY id', [paymentId]);
    expect(logs.map((r) => r.transaction_type)).toEqual(expect.arrayContaining(['STK_PUSH', 'STK_QUERY']));
    expect(logs.filter((r) => r.request_id !== traced.query)).toEqual([]);

    // Settled by a worker (the system actor), still under the request that started the payment.
    const audit = await rows('SELECT action, actor_type, request_id FROM audit_events WHERE entity_id = $1 ORDER BY id', [paymentId]);
    expect(audit).toEqual([
      { action: 'payment.initiated', actor_type: 'user', request_id: traced.query },
      { action: 'payment.completed', actor_type: 'system', request_id: traced.query },
    ]);

    const lines = await waitFor(() => {
      const found = linesOf(traced.query);
      return found.some((l) => inJob(l) && /settled by status_query/.test(l.msg ?? '')) && found;
    });
    expect(lines).toContainEqual(
      expect.objectContaining({ requestId: traced.query, req: expect.objectContaining({ path: '/api/payments/stk-push' }) }),
    );
    // Logged inside the stk-status-query job: no HTTP request around them, the payment's request id all the same.
    expect(lines.filter(inJob)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          requestId: traced.query,
          msg: expect.stringMatching(new RegExp(`^Daraja STK_QUERY .*reference ${paymentId}`)),
        }),
        expect.objectContaining({
          requestId: traced.query,
          msg: expect.stringMatching(new RegExp(`^Payment ${paymentId} completed \\(settled by status_query`)),
        }),
      ]),
    );
  });

  it('files an admin refund, its send job, the balance check, the B2C call and its result under the admin request id', async () => {
    const res = await api(`/api/payments/${callbackPaymentId}/refund`, {
      baseUrl: app.url,
      method: 'POST',
      token: tokenOf(admin),
      headers: { 'x-request-id': traced.refund },
      body: { amount: 200, reason: 'Consultation cancelled' },
    });
    expect(res.status).toBe(202);
    expect(res.headers['x-request-id']).toBe(traced.refund);
    const payoutId = res.body.data.id;

    const payout = await waitFor(
      async () => (await rows('SELECT * FROM payouts WHERE id = $1', [payoutId])).find((p) => p.status === 'completed'),
      {
        timeoutMs: 30_000,
        message: `refund ${payoutId} to complete`,
      },
    );
    expect(payout.request_id).toBe(traced.refund);

    const logs = await waitFor(async () => {
      const found = await rows('SELECT transaction_type, reference, request_id FROM transaction_logs WHERE request_id = $1 ORDER BY id', [
        traced.refund,
      ]);
      return found.some((r) => r.transaction_type === 'B2C_RESULT') && found;
    });
    expect(logs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ transaction_type: 'ACCOUNT_BALANCE' }),
        expect.objectContaining({ transaction_type: 'ACCOUNT_BALANCE_RESULT' }),
        expect.objectContaining({ transaction_type: 'B2C', reference: payoutId }),
        expect.objectContaining({ transaction_type: 'B2C_RESULT', reference: payoutId }),
      ]),
    );
    const payoutRows = await rows('SELECT transaction_type, request_id FROM transaction_logs WHERE reference = $1', [payoutId]);
    expect(payoutRows.filter((r) => r.request_id !== traced.refund)).toEqual([]);

    const audit = await rows(
      `SELECT action, entity_id, request_id FROM audit_events WHERE entity_id IN ($1, $2) AND action <> 'payment.initiated' AND action <> 'payment.completed' ORDER BY id`,
      [payoutId, callbackPaymentId],
    );
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining(['refund.requested', 'payout.completed', 'payment.partially_refunded']),
    );
    expect(audit.filter((a) => a.request_id !== traced.refund)).toEqual([]);

    const lines = await waitFor(() => {
      const found = linesOf(traced.refund);
      return found.some((l) => inJob(l) && /^Daraja B2C /.test(l.msg ?? '')) && found;
    });
    expect(lines).toContainEqual(
      expect.objectContaining({
        requestId: traced.refund,
        req: expect.objectContaining({ path: `/api/payments/${callbackPaymentId}/refund` }),
      }),
    );
    expect(lines.filter(inJob)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ requestId: traced.refund, msg: expect.stringMatching(/^Daraja ACCOUNT_BALANCE .*: ok/) }),
        expect.objectContaining({
          requestId: traced.refund,
          msg: expect.stringMatching(new RegExp(`^Daraja B2C .*: ok.*reference ${payoutId}`)),
        }),
      ]),
    );
  });

  it('replaces an X-Request-Id that is too long, malformed or a phone number with its own id', async () => {
    for (const given of ['x'.repeat(65), 'two words', `0${callbackPhone.slice(3)}`]) {
      const res = await api('/health/live', { baseUrl: app.url, headers: { 'x-request-id': given } });
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

describe('redaction: no secret and no full phone number is written anywhere', () => {
  /** Everything the app wrote: its log, the audit trail, the Daraja transaction log, the outbox, the job data in Redis. */
  async function everythingWritten(): Promise<Record<string, string>> {
    const table = async (sql: string) => JSON.stringify(await rows(sql));
    return {
      log: logText(),
      audit_events: await table('SELECT * FROM audit_events'),
      transaction_logs: await table('SELECT * FROM transaction_logs'),
      notifications: await table('SELECT * FROM notifications'),
      'job data': await jobs.seen(),
    };
  }

  it('has written what the flows above produced (so the sweep below looks at real data)', async () => {
    const written = await everythingWritten();
    expect(written.log).toContain('Daraja B2C');
    expect(written.transaction_logs).toContain('B2C_RESULT');
    expect(written.transaction_logs).toContain('PhoneNumber'); // the STK callback's CallbackMetadata
    expect(written.transaction_logs).toContain('ReceiverPartyPublicName'); // the B2C result
    expect(written['job data']).toContain('"requestId"');
  });

  it.each([
    ['the callback payer', () => callbackPhone],
    ['the status-query payer', () => queriedPhone],
  ])('never holds the phone number of %s, in any form', async (_who, phoneOf) => {
    const phone = phoneOf();
    const forms = [
      phone,
      `+${phone}`,
      `0${phone.slice(3)}`,
      `${phone.slice(0, 3)} ${phone.slice(3, 6)} ${phone.slice(6, 9)} ${phone.slice(9)}`,
    ];
    const written = await everythingWritten();
    for (const [where, text] of Object.entries(written)) {
      for (const form of forms) expect({ where, found: text.includes(form) ? form : null }).toEqual({ where, found: null });
    }
    // What is left is the masked form, e.g. 2547****149.
    expect(written.transaction_logs).toContain(`${phone.slice(0, 4)}****${phone.slice(-3)}`);
  });

  it('never holds the consumer key or secret, the passkey, the initiator password, the SecurityCredential or a bearer token', async () => {
    const secrets = {
      ...SECRETS,
      'Basic credentials': Buffer.from(`${SECRETS.MPESA_CONSUMER_KEY}:${SECRETS.MPESA_CONSUMER_SECRET}`).toString('base64'),
      'client JWT': tokenOf(client).split('.')[2],
    };
    const written = await everythingWritten();
    for (const [where, text] of Object.entries(written)) {
      for (const [name, value] of Object.entries(secrets))
        expect({ where, name, found: text.includes(value) }).toEqual({ where, name, found: false });
      const bearer = text.match(/Bearer\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{12,}/);
      expect({ where, bearer: bearer?.[0] ?? null }).toEqual({ where, bearer: null });
    }
    // The fields that held them are there, emptied.
    const [push] = await rows(`SELECT request_data FROM transaction_logs WHERE transaction_type = 'STK_PUSH' LIMIT 1`);
    expect(push.request_data.Password).toBe('[REDACTED]');
    const [b2c] = await rows(`SELECT request_data FROM transaction_logs WHERE transaction_type = 'B2C' LIMIT 1`);
    expect(b2c.request_data.SecurityCredential).toBe('[REDACTED]');
    const [oauth] = await rows(`SELECT response_data FROM transaction_logs WHERE transaction_type = 'OAUTH' AND status_code = 200 LIMIT 1`);
    expect(oauth.response_data.access_token).toBe('[REDACTED]');
  });

  it('masks the name and the phone in the B2C result ReceiverPartyPublicName', async () => {
    const [result] = await rows(`SELECT request_data FROM transaction_logs WHERE transaction_type = 'B2C_RESULT' LIMIT 1`);
    const text = JSON.stringify(result.request_data);
    const name = /"Key":"ReceiverPartyPublicName","Value":"([^"]*)"/.exec(text)?.[1];
    expect(name).toMatch(/^\d{4}\*{4}\d{3} - (\p{L}\*+ ?)+$/u);
  });
});
