// GET /metrics: what an operator's Prometheus sees after payments, callbacks and refused requests. The app is shared
// with other test files, so every check compares a scrape before with one after (counters only grow).
import { randomInt } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import { api, ApiResponse, sim, testEnv, waitFor } from '../support/app';
import { ExtraApp, startExtraApp } from '../support/extra-app';
import {
  newClient,
  paymentRow,
  pushStk,
  queueSimulatorFault,
  SCENARIO_PHONES,
  SimulatedTransaction,
  stkPushBody,
  stkSuccessCallback,
  waitForPaymentStatus,
} from '../support/factories';
import { getMetrics, scrape, Scrape } from '../support/prometheus';

const client = newClient();

function postTo(callbackUrl: string, body: unknown, query: Record<string, string> = {}): Promise<ApiResponse> {
  const url = new URL(callbackUrl);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return api(`${url.pathname}${url.search}`, { method: 'POST', body });
}

describe('GET /metrics', () => {
  /** A payment completed by the simulator's callback, and the scrapes around it. */
  let completed: { paymentId: string; amount: number; before: Scrape; after: Scrape; daraja: SimulatedTransaction };

  beforeAll(async () => {
    const before = await scrape();
    const amount = randomInt(101, 1000);
    const res = await pushStk(client.token, stkPushBody({ amount, paymentType: 'case_filing_fee' }));
    expect(res.status).toBe(201);
    const paymentId: string = res.body.data.paymentId;
    const row = await waitForPaymentStatus(paymentId, 'completed');
    expect(row.settled_by).toBe('callback');
    // Database gauges are cached for a few seconds: wait until a scrape shows the payment's money.
    const after = await waitFor(
      async () => {
        const s = await scrape();
        return s.value('legalpro_revenue_kes', { payment_type: 'case_filing_fee' }) >=
          before.value('legalpro_revenue_kes', { payment_type: 'case_filing_fee' }) + amount
          ? s
          : undefined;
      },
      { message: 'the revenue gauge to include the payment' },
    );
    const daraja = (await sim<SimulatedTransaction>(`/stk/${encodeURIComponent(row.checkout_request_id)}`)).body;
    completed = { paymentId, amount, before, after, daraja };
  });

  it('answers in the Prometheus text format without a JWT', async () => {
    const res = await getMetrics();

    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toContain('# TYPE legalpro_daraja_calls_total counter');
    expect(res.text).toContain('# TYPE process_cpu_seconds_total counter');
  });

  it('is not in the OpenAPI document', async () => {
    const doc = await api('/docs-json');

    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).not.toContain('/metrics');
  });

  it('counts the STK push among Daraja calls, with its latency', () => {
    const { before, after } = completed;
    const delta = (name: string, labels: Record<string, string>) => after.value(name, labels) - before.value(name, labels);

    expect(delta('legalpro_daraja_calls_total', { api: 'STK_PUSH', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(delta('legalpro_daraja_call_duration_seconds_count', { api: 'STK_PUSH' })).toBeGreaterThanOrEqual(1);
    expect(after.series('legalpro_daraja_call_duration_seconds_bucket', { api: 'STK_PUSH', le: '30' })).toHaveLength(1);
  });

  it('counts the callback received, the settlement by callback and its lag from the push', () => {
    const { before, after } = completed;
    const delta = (name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels);

    expect(delta('legalpro_callbacks_received_total', { kind: 'stk' })).toBeGreaterThanOrEqual(1);
    expect(delta('legalpro_payment_settlements_total', { settled_by: 'callback', outcome: 'completed' })).toBeGreaterThanOrEqual(1);
    expect(delta('legalpro_stk_callback_lag_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(delta('legalpro_stk_callback_lag_seconds_sum')).toBeGreaterThan(0);
  });

  it('shows the payment in the payments-by-status gauge and its amount in revenue', () => {
    const { before, after, amount } = completed;
    const labels = { status: 'completed', payment_type: 'case_filing_fee' };

    expect(after.value('legalpro_payments', labels)).toBeGreaterThanOrEqual(before.value('legalpro_payments', labels) + 1);
    expect(
      after.value('legalpro_revenue_kes', { payment_type: 'case_filing_fee' }) -
        before.value('legalpro_revenue_kes', { payment_type: 'case_filing_fee' }),
    ).toBeGreaterThanOrEqual(amount);
    expect(after.series('legalpro_refunds_kes')).toHaveLength(1);
  });

  it('counts a genuine callback replayed after completion as duplicated, not as a second settlement', async () => {
    const before = await scrape();

    const res = await postTo(completed.daraja.callbackUrl, stkSuccessCallback(completed.daraja));

    expect(res.status).toBe(200);
    expect((await paymentRow(completed.paymentId))?.status).toBe('completed');
    const after = await scrape();
    expect(
      after.value('legalpro_callbacks_duplicated_total', { kind: 'stk' }) -
        before.value('legalpro_callbacks_duplicated_total', { kind: 'stk' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      after.value('legalpro_callbacks_received_total', { kind: 'stk' }) -
        before.value('legalpro_callbacks_received_total', { kind: 'stk' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('counts a callback with a forged token as rejected, by reason', async () => {
    const before = await scrape();

    const res = await postTo(completed.daraja.callbackUrl, stkSuccessCallback(completed.daraja), { token: 'f'.repeat(64) });

    expect(res.status).toBe(403);
    const after = await scrape();
    expect(
      after.value('legalpro_callbacks_rejected_total', { kind: 'stk', reason: 'token' }) -
        before.value('legalpro_callbacks_rejected_total', { kind: 'stk', reason: 'token' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('counts requests refused by the JWT guard, by reason', async () => {
    const before = await scrape();

    const now = Math.floor(Date.now() / 1000);
    const signed = (payload: object) => sign({ sub: client.id, role: 'client', ...payload }, testEnv().JWT_SECRET, { algorithm: 'HS256' });
    expect((await api('/api/payments', { token: 'not.a.jwt' })).status).toBe(401);
    expect((await api('/api/payments')).status).toBe(401);
    // Without exp: a claim the service refuses. Issued two days ago (JWT_MAX_AGE_SECONDS is a day): too old, like expired.
    expect((await api('/api/payments', { token: signed({}) })).status).toBe(401);
    expect((await api('/api/payments', { token: signed({ iat: now - 2 * 86_400, exp: now + 3600 }) })).status).toBe(401);

    const after = await scrape();
    const delta = (reason: string) =>
      after.value('legalpro_auth_failures_total', { reason }) - before.value('legalpro_auth_failures_total', { reason });
    expect(delta('invalid_token')).toBeGreaterThanOrEqual(1);
    expect(delta('missing_token')).toBeGreaterThanOrEqual(1);
    expect(delta('invalid_claims')).toBeGreaterThanOrEqual(1);
    expect(delta('expired_token')).toBeGreaterThanOrEqual(1);
  });

  it('counts a status-query job that failed on a dropped connection, then the settlement by status query', async () => {
    const before = await scrape();
    // The first STK Query (the sweep's, 1.5 s after the push) loses its connection: the job throws and is retried.
    await queueSimulatorFault('stkquery', 'reset');
    const res = await pushStk(client.token, stkPushBody({ phoneNumber: SCENARIO_PHONES.noCallback }));
    expect(res.status).toBe(201);

    const row = await waitForPaymentStatus(res.body.data.paymentId, 'completed');

    expect(row.settled_by).toBe('status_query');
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => after.value(name, labels) - before.value(name, labels);
    expect(delta('legalpro_queue_jobs_failed_total', { queue: 'payments', job: 'stk-status-query' })).toBeGreaterThanOrEqual(1);
    // A reset is `timeout` (the request may have been processed) or `network_error` (it was not sent): the client decides.
    expect(
      delta('legalpro_daraja_calls_total', { api: 'STK_QUERY', outcome: 'timeout' }) +
        delta('legalpro_daraja_calls_total', { api: 'STK_QUERY', outcome: 'network_error' }),
    ).toBeGreaterThanOrEqual(1);
    expect(delta('legalpro_daraja_system_errors_total', { api: 'STK_QUERY' })).toBeGreaterThanOrEqual(1);
    expect(delta('legalpro_payment_settlements_total', { settled_by: 'status_query', outcome: 'completed' })).toBeGreaterThanOrEqual(1);
  });

  it('reports the depth of every queue in each state', async () => {
    const s = await scrape();
    const queues = new Set(s.series('legalpro_queue_jobs').map((sample) => sample.labels.queue));

    expect([...queues]).toEqual(expect.arrayContaining(['payments', 'notifications']));
    for (const queue of queues) {
      expect(
        s
          .series('legalpro_queue_jobs', { queue })
          .map((sample) => sample.labels.state)
          .sort(),
      ).toEqual(['active', 'delayed', 'failed', 'waiting']);
    }
  });
});

describe('GET /metrics with METRICS_TOKEN set', () => {
  const METRICS_TOKEN = 'e2e-metrics-token-0123456789';
  let app: ExtraApp;

  beforeAll(async () => {
    app = await startExtraApp({ METRICS_TOKEN }, 'metrics-token');
  });

  afterAll(async () => {
    await app?.stop();
  });

  it('refuses a scrape without the bearer token', async () => {
    const res = await getMetrics({ baseUrl: app.url });

    expect(res.status).toBe(401);
    expect(res.text).not.toContain('legalpro_');
  });

  it('refuses a scrape with another token', async () => {
    expect((await getMetrics({ baseUrl: app.url, authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
  });

  it('answers a scrape with the token', async () => {
    const s = await scrape({ baseUrl: app.url, authorization: `Bearer ${METRICS_TOKEN}` });

    expect(s.series('legalpro_queue_jobs', { queue: 'payments', state: 'waiting' })).toHaveLength(1);
  });
});
