// The fleet-wide Daraja call budget: one schedule in Redis shared by every process, money-moving calls before status
// queries and balance checks, and one fleet-wide cool-down after Daraja's spike arrest. Two processes of an app of
// their own (one database, one Redis prefix), with a budget of 2 calls a second: one call every 500 ms.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Pool } from 'pg';
import { api, ApiOptions, ApiResponse, tokenFor, uniquePhone, waitFor } from '../support/app';
import { ExtraApp, startExtraApp } from '../support/extra-app';
import { sleep, stkPushBody } from '../support/factories';

const INTERVAL_MS = 500;
const COOLDOWN_MS = 6_000;
/** How much later than its slot a call may reach the simulator (timers and HTTP on a busy 2-core box). */
const LATENESS_MS = 400;
const EPISODE_LOG = 'Daraja rate limit:';

interface SimulatedCall {
  endpoint: string;
  at: number;
  fault: string | null;
}

describe('Daraja call budget', () => {
  let a: ExtraApp;
  let b: ExtraApp;
  let pool: Pool;
  const admin = tokenFor({ sub: `admin-${randomUUID()}`, role: 'admin' });
  const client = tokenFor({ sub: `client-${randomUUID()}`, role: 'client' });
  const on = (app: ExtraApp, path: string, options: ApiOptions = {}) => api(path, { timeoutMs: 30_000, ...options, baseUrl: app.url });
  const requestBalance = (app: ExtraApp) => on(app, '/api/mpesa/balance', { method: 'POST', token: admin });
  const push = (app: ExtraApp, phone = uniquePhone()) =>
    on(app, '/api/payments/stk-push', { token: client, body: stkPushBody({ phoneNumber: phone }) });
  const calls = async (...endpoints: string[]): Promise<SimulatedCall[]> => {
    const res = await on(a, '/simulator/control/calls');
    expect(res.status).toBe(200);
    return (res.body.items as SimulatedCall[]).filter((c) => endpoints.includes(c.endpoint));
  };
  /** Any two calls two places apart are a second apart (less lateness): never more than the budget's 2 a second. */
  const expectWithinBudget = (sent: SimulatedCall[], intervalMs = INTERVAL_MS) => {
    for (let i = 0; i + 2 < sent.length; i++) expect(sent[i + 2].at - sent[i].at).toBeGreaterThanOrEqual(2 * intervalMs - LATENESS_MS);
  };
  const paymentStatus = async (id: string) => (await pool.query('SELECT status FROM payments WHERE id = $1', [id])).rows[0]?.status;
  const episodeLogs = () => [a, b].map((app) => readFileSync(app.logFile, 'utf8').split(EPISODE_LOG).length - 1).reduce((x, y) => x + y, 0);

  beforeAll(async () => {
    const budget = { DARAJA_MAX_CALLS_PER_SECOND: '2', DARAJA_COOLDOWN_MS: String(COOLDOWN_MS), DARAJA_COOLDOWN_RATE_PERCENT: '50' };
    // A long-lived token: no OAuth fetch (charged against the budget) lands in the middle of a measurement.
    a = await startExtraApp({ ...budget, DARAJA_BUDGET_MAX_WAIT_MS: '15000', SIMULATOR_TOKEN_TTL_SECONDS: '3600' }, 'budget-a');
    // The second process waits at most 4 s for a slot: less than the cool-down, more than test 2's backlog.
    b = await startExtraApp({ DARAJA_BUDGET_MAX_WAIT_MS: '4000' }, 'budget-b', { shareWith: a });
    pool = new Pool({ connectionString: a.databaseUrl, max: 2 });
    expect((await requestBalance(a)).status).toBe(202); // fetches the token
  }, 120_000);

  beforeEach(async () => {
    await sleep(2 * INTERVAL_MS); // let the schedule run empty
    expect((await on(a, '/simulator/control/reset', { method: 'POST' })).status).toBe(200);
  });

  afterAll(async () => {
    await pool?.end();
    await b?.stop();
    await a?.stop();
  });

  it('serves a push before a backlog of balance checks', async () => {
    const balances = Array.from({ length: 6 }, () => requestBalance(a));
    // The first balance check has gone out and five wait: now a customer pays.
    await waitFor(async () => (await calls('balance')).length > 0, { intervalMs: 50, message: 'the first balance call' });
    const pushed = await push(a);
    expect(pushed.status).toBe(201);

    for (const res of await Promise.all(balances)) {
      expect(res.status).toBe(202);
      expect(res.body.data.status).not.toBe('failed'); // none refused: each got its slot within the maximum wait
    }
    const sent = await calls('balance', 'stkpush');
    expect(sent.map((c) => c.endpoint).filter((e) => e === 'balance')).toHaveLength(6);
    // Without priorities the push would queue behind all six; it goes with the next slot or the one after.
    expect(sent.findIndex((c) => c.endpoint === 'stkpush')).toBeLessThanOrEqual(2);
    expectWithinBudget(sent);
  }, 60_000);

  it('is one budget for every process', async () => {
    const started: Promise<ApiResponse>[] = [];
    for (let i = 0; i < 7; i++) started.push(requestBalance(i % 2 === 0 ? a : b));
    for (const res of await Promise.all(started)) {
      expect(res.status).toBe(202);
      expect(res.body.data.status).not.toBe('failed');
    }

    const sent = await calls('balance');
    expect(sent).toHaveLength(7);
    // Two budgets of 2/s would send these 7 in about 1.5 s; one shared budget needs 3 s.
    expectWithinBudget(sent);
    expect(sent[6].at - sent[0].at).toBeGreaterThanOrEqual(6 * INTERVAL_MS - LATENESS_MS);
  }, 60_000);

  it('slows the whole fleet down after a spike arrest, and each push is still accepted exactly once', async () => {
    const phones = [uniquePhone(), uniquePhone()];
    const faults = await on(a, '/simulator/control/faults', {
      method: 'POST',
      body: { endpoint: 'stkpush', kind: 'spike_arrest', count: 2 },
    });
    expect(faults.status).toBe(200);

    // One push through each process: Daraja answers both with 500.003.02.
    const pushes = await Promise.all([push(a, phones[0]), push(b, phones[1])]);
    for (const res of pushes) {
      expect(res.status).toBe(202);
      expect(res.body.message).toMatch(/queued for retry/);
    }
    const arrested = await calls('stkpush');
    expect(arrested.map((c) => c.fault)).toEqual(['spike_arrest', 'spike_arrest']);
    const coolingUntil = arrested[0].at + COOLDOWN_MS;

    // Balance checks pause in every process: the one that may wait 4 s is refused as not sent...
    const refused = await requestBalance(b);
    expect(refused.status).toBe(202);
    expect(refused.body.data).toMatchObject({ status: 'failed' });
    expect(refused.body.data.resultDesc).toMatch(/Not sent: status queries and balance checks are paused/);
    // ...and the one that may wait 15 s goes out when the cool-down is over.
    const waited = await requestBalance(a);
    expect(waited.status).toBe(202);
    expect(waited.body.data.status).not.toBe('failed');

    // Both payments complete through their retry jobs, which ran during the cool-down at the reduced rate (1/s).
    for (const res of pushes) {
      await waitFor(async () => (await paymentStatus(res.body.data.paymentId)) === 'completed', {
        timeoutMs: 30_000,
        message: 'the payment to complete',
      });
    }
    const sent = await calls('stkpush', 'balance');
    const balance = sent.filter((c) => c.endpoint === 'balance');
    expect(balance).toHaveLength(1);
    expect(balance[0].at).toBeGreaterThanOrEqual(coolingUntil - 100);
    const accepted = sent.filter((c) => c.endpoint === 'stkpush' && c.fault === null);
    expect(accepted).toHaveLength(2);
    expect(accepted[1].at - accepted[0].at).toBeGreaterThanOrEqual(2 * INTERVAL_MS - LATENESS_MS);
    expect(accepted.every((c) => c.at < balance[0].at)).toBe(true);

    // No money moved twice: Daraja accepted exactly one push per phone.
    for (const phone of phones) {
      const stk = await on(a, '/simulator/control/stk', { query: { phone } });
      expect(stk.body.items).toHaveLength(1);
    }
    // One episode, logged once across the fleet, though both processes were refused.
    await waitFor(() => episodeLogs() > 0, { message: 'the cool-down to be logged' });
    await sleep(500);
    expect(episodeLogs()).toBe(1);
  }, 90_000);
});
