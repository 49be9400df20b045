// Daraja misbehaving: busy, dropping connections, answering too late, refusing tokens. Spec scenarios
// "network failure handling" and "token expiry handling", the retry policy (3 resends after 1 s, 2 s, 5 s),
// the shared OAuth token, and secrets kept out of every stored row.
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { db, e2e, sim, testEnv, uniquePhone, waitFor } from '../support/app';
import {
  auditEventsFor,
  newClient,
  paymentRow,
  pushStk,
  queueSimulatorFault,
  SCENARIO_PHONES,
  simulatedPushesTo,
  simulatorStats,
  SimulatorStats,
  sleep,
  stkPushBody,
  transactionLogsFor,
  waitForPaymentStatus,
  waitUntilSettled,
} from '../support/factories';
import { SANDBOX_PASSKEY, SANDBOX_SHORTCODE, simulatorDatabaseOf } from '../../src/config/configuration';
import { stkPassword } from '../../src/mpesa/daraja-time';
import { JOB_DEFAULTS, PAYMENTS_QUEUE, PaymentJob, SWEEP_SCHEDULER_ID } from '../../src/payments/jobs/payment-jobs';

const client = newClient();
const CONSUMER_KEY = 'simulator-consumer-key';
const CONSUMER_SECRET = 'simulator-consumer-secret';
/** Longer than one status-sweep interval: anything that would resend or resettle has had its chance. */
const QUIET_PERIOD_MS = 1_500;

/** How many more calls each simulated endpoint received than in `before`. */
async function callsSince(before: SimulatorStats): Promise<SimulatorStats['calls']> {
  const now = (await simulatorStats()).calls;
  return {
    oauth: now.oauth - before.calls.oauth,
    stkpush: now.stkpush - before.calls.stkpush,
    stkquery: now.stkquery - before.calls.stkquery,
  };
}

/** STK Push requests the app sent for one payment (each is one row in the Daraja transaction log). */
async function pushesSentFor(paymentId: string): Promise<number> {
  return (await transactionLogsFor(paymentId, 'STK_PUSH')).length;
}

async function stateChangesOf(paymentId: string): Promise<string[]> {
  return (await auditEventsFor(paymentId)).map((e) => e.action).filter((a) => a !== 'payment.initiated');
}

/**
 * Pushes to a fresh phone and waits for the payment to complete: leaves a freshly fetched token in the app's cache
 * when tokens were revoked first.
 */
async function completedPayment(): Promise<{ paymentId: string; phone: string; checkoutRequestId: string }> {
  const phone = uniquePhone();
  const res = await pushStk(client.token, stkPushBody({ phoneNumber: phone }));
  expect(res.status).toBe(201);
  await waitForPaymentStatus(res.body.data.paymentId, 'completed');
  return { paymentId: res.body.data.paymentId, phone, checkoutRequestId: res.body.data.checkoutRequestID };
}

/** The app holds a token the simulator issued a moment ago (valid for SIMULATOR_TOKEN_TTL_SECONDS). */
async function appHoldsAFreshToken(): Promise<void> {
  await sim('/revoke-tokens', { method: 'POST' });
  await completedPayment();
}

function redis(): Redis {
  return new Redis(e2e().redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2 });
}

afterEach(async () => {
  await waitUntilSettled([client.id]);
});

describe('an STK Push Daraja is too busy to take', () => {
  it('answers 202 pending, resends the push, and completes the payment', async () => {
    await queueSimulatorFault('stkpush', 'system_busy', { count: 2 });
    const phone = uniquePhone();

    const res = await pushStk(client.token, stkPushBody({ phoneNumber: phone }));

    expect(res.status).toBe(202);
    expect(res.body.data).toMatchObject({ paymentId: expect.any(String), status: 'pending', checkoutRequestID: null });
    await waitForPaymentStatus(res.body.data.paymentId, 'completed');
    // The callback completes it, or the sweep's STK Query does first (the resent push is seconds past its initiation,
    // so on a loaded box the sweep may ask before the callback lands) and the callback then adds its receipt.
    const row = await waitFor(async () => {
      const now = await paymentRow(res.body.data.paymentId);
      return now?.mpesa_receipt_number ? now : undefined;
    });
    expect(row).toMatchObject({ retry_count: 2, stk_push_status: 'accepted' });
    expect(['callback', 'status_query']).toContain(row.settled_by);
    expect(row.mpesa_receipt_number).toMatch(/^[A-Z0-9]{10}$/);
  });

  it('sends the push three times in all when Daraja is busy twice, and Daraja accepts one', async () => {
    await queueSimulatorFault('stkpush', 'system_busy', { count: 2 });
    const phone = uniquePhone();
    const before = await simulatorStats();

    const res = await pushStk(client.token, stkPushBody({ phoneNumber: phone }));
    await waitForPaymentStatus(res.body.data.paymentId, 'completed');

    expect((await callsSince(before)).stkpush).toBe(3);
    expect(await pushesSentFor(res.body.data.paymentId)).toBe(3);
    expect(await simulatedPushesTo(phone)).toHaveLength(1);
  });

  it('fails the payment after 3 retries when Daraja stays busy, having sent exactly 4 pushes', async () => {
    await queueSimulatorFault('stkpush', 'system_busy', { count: 4 });
    const phone = uniquePhone();
    const before = await simulatorStats();

    const res = await pushStk(client.token, stkPushBody({ phoneNumber: phone }));

    expect(res.status).toBe(202);
    const row = await waitForPaymentStatus(res.body.data.paymentId, 'failed', 30_000);
    expect(row).toMatchObject({ retry_count: 3, settled_by: 'push_rejected', stk_push_status: 'rejected' });
    expect(row.result_desc).toContain('after 3 retries');
    await sleep(QUIET_PERIOD_MS);
    expect((await callsSince(before)).stkpush).toBe(4);
    expect(await pushesSentFor(res.body.data.paymentId)).toBe(4);
    expect(await simulatedPushesTo(phone)).toHaveLength(0);
    expect(await stateChangesOf(res.body.data.paymentId)).toEqual(['payment.failed']);
  });
});

describe('an STK Push whose answer is lost', () => {
  it('never resends a push whose connection dropped after Daraja processed it, and completes it by its callback', async () => {
    await queueSimulatorFault('stkpush', 'reset_after_processing');
    const phone = uniquePhone();
    const before = await simulatorStats();

    const res = await pushStk(client.token, stkPushBody({ phoneNumber: phone }));

    expect(res.status).toBe(202);
    expect(res.body.data).toMatchObject({ status: 'pending', checkoutRequestID: null });
    expect((await paymentRow(res.body.data.paymentId))?.stk_push_status).toBe('unknown');
    const row = await waitForPaymentStatus(res.body.data.paymentId, 'completed');
    await sleep(QUIET_PERIOD_MS);
    const [daraja] = await simulatedPushesTo(phone);
    expect(row).toMatchObject({ settled_by: 'callback', checkout_request_id: daraja.checkoutRequestId, retry_count: 0 });
    expect(await simulatedPushesTo(phone)).toHaveLength(1);
    expect((await callsSince(before)).stkpush).toBe(1);
  });

  it('never resends a push Daraja answered after the client timeout, and completes it by its callback', async () => {
    // 4 s > MPESA_HTTP_TIMEOUT_MS (2.5 s); the late-callback phone's callback comes after the timeout, at 4 s.
    await queueSimulatorFault('stkpush', 'delay', { delayMs: 4_000 });
    const phone = SCENARIO_PHONES.lateCallback;
    const pushesBefore = (await simulatedPushesTo(phone)).length;
    const before = await simulatorStats();

    const res = await pushStk(client.token, stkPushBody({ phoneNumber: phone }));

    expect(res.status).toBe(202);
    expect(res.body.data).toMatchObject({ status: 'pending', checkoutRequestID: null });
    expect((await paymentRow(res.body.data.paymentId))?.stk_push_status).toBe('unknown');
    const row = await waitForPaymentStatus(res.body.data.paymentId, 'completed');
    await sleep(QUIET_PERIOD_MS);
    expect(row).toMatchObject({ settled_by: 'callback', stk_push_status: 'unknown', retry_count: 0 });
    expect(row.mpesa_receipt_number).toMatch(/^[A-Z0-9]{10}$/);
    expect(await simulatedPushesTo(phone)).toHaveLength(pushesBefore + 1);
    expect((await callsSince(before)).stkpush).toBe(1);
    expect(await pushesSentFor(res.body.data.paymentId)).toBe(1);
  });
});

describe('Daraja OAuth tokens', () => {
  it('fetches one new token and resends the push once when Daraja has revoked the token', async () => {
    await appHoldsAFreshToken();
    await sim('/revoke-tokens', { method: 'POST' });
    const before = await simulatorStats();

    const res = await pushStk(client.token, stkPushBody());

    expect(res.status).toBe(201);
    expect(await callsSince(before)).toMatchObject({ oauth: 1, stkpush: 2 });
    await waitForPaymentStatus(res.body.data.paymentId, 'completed');
  });

  it('fetches one new token and resends the push once when Daraja answers "Invalid Access Token"', async () => {
    await appHoldsAFreshToken();
    await queueSimulatorFault('stkpush', 'invalid_token');
    const before = await simulatorStats();

    const res = await pushStk(client.token, stkPushBody());

    expect(res.status).toBe(201);
    expect(await callsSince(before)).toMatchObject({ oauth: 1, stkpush: 2 });
    await waitForPaymentStatus(res.body.data.paymentId, 'completed');
  });

  it('fetches a single token for ten concurrent pushes after the token was revoked', async () => {
    await appHoldsAFreshToken();
    await sim('/revoke-tokens', { method: 'POST' });
    const before = await simulatorStats();

    const answers = await Promise.all(Array.from({ length: 10 }, () => pushStk(client.token, stkPushBody())));

    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
    expect((await callsSince(before)).oauth).toBe(1);
    await Promise.all(answers.map((a) => waitForPaymentStatus(a.body.data.paymentId, 'completed')));
  });

  it('fails the payment with 502, without retrying, when Daraja refuses the consumer credentials', async () => {
    await sim('/revoke-tokens', { method: 'POST' });
    await queueSimulatorFault('oauth', 'invalid_token'); // OAuth's version: 400 "Invalid Credentials", empty body
    const before = await simulatorStats();

    const res = await pushStk(client.token, stkPushBody());

    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ success: false, code: 'MPESA_REJECTED', details: { status: 'failed' } });
    expect(res.body.message).toContain('Invalid consumer key or secret');
    const row = await paymentRow(res.body.details.paymentId);
    expect(row).toMatchObject({ status: 'failed', settled_by: 'push_rejected', stk_push_status: 'rejected', retry_count: 0 });
    await sleep(QUIET_PERIOD_MS);
    expect((await callsSince(before)).oauth).toBe(1);
    expect(await pushesSentFor(res.body.details.paymentId)).toBeLessThanOrEqual(1);
  });

  it('logs OAuth calls with the access token redacted', async () => {
    await appHoldsAFreshToken();

    const { rows } = await db().query(`SELECT response_data FROM transaction_logs WHERE transaction_type = 'OAUTH' AND outcome = 'ok'`);

    expect(rows.length).toBeGreaterThan(0);
    for (const { response_data } of rows)
      expect(response_data).toMatchObject({ access_token: '[REDACTED]', expires_in: expect.any(String) });
  });
});

describe('secrets at rest', () => {
  /** Every stored row about the payment, plus the OAuth log, as JSON text. */
  async function storedText(paymentId: string, checkoutRequestId: string): Promise<Record<string, string>> {
    const q = async (sql: string, params: unknown[]) => JSON.stringify((await db().query(sql, params)).rows);
    return {
      transaction_logs: await q(
        `SELECT * FROM transaction_logs WHERE reference = $1 OR transaction_id = $2 OR transaction_type = 'OAUTH'`,
        [paymentId, checkoutRequestId],
      ),
      audit_events: await q('SELECT * FROM audit_events WHERE entity_id = $1', [paymentId]),
      notifications: await q('SELECT * FROM notifications WHERE subject_id = $1', [paymentId]),
    };
  }

  async function secretsOf(payment: { paymentId: string; phone: string }): Promise<Record<string, string>> {
    // The simulator's state is apart from the service's: the next logical database, under `<prefix>-daraja`.
    const connection = new Redis(simulatorDatabaseOf(e2e().redisUrl), { lazyConnect: false, maxRetriesPerRequest: 2 });
    try {
      const accessToken = await connection.get(`${e2e().redisKeyPrefix}-daraja:sim:oauth:token`);
      const [push] = await transactionLogsFor(payment.paymentId, 'STK_PUSH');
      const callbackUrl = (await simulatedPushesTo(payment.phone))[0].callbackUrl;
      // Guards against a vacuous pass: each secret must be the real thing.
      expect(accessToken).toMatch(/^[A-Za-z0-9]{28}$/);
      expect(push.request_data.Timestamp).toMatch(/^\d{14}$/);
      expect(new URL(callbackUrl).searchParams.get('token')).toMatch(/^[0-9a-f]{64}$/);
      return {
        passkey: SANDBOX_PASSKEY,
        consumerSecret: CONSUMER_SECRET,
        basicAuth: Buffer.from(`${CONSUMER_KEY}:${CONSUMER_SECRET}`).toString('base64'),
        stkPassword: stkPassword(SANDBOX_SHORTCODE, SANDBOX_PASSKEY, push.request_data.Timestamp),
        accessToken: accessToken!,
        callbackToken: new URL(callbackUrl).searchParams.get('token')!,
        phoneNumber: payment.phone,
      };
    } finally {
      await connection.quit();
    }
  }

  it('keeps passkey, consumer secret, access token, STK password, callback token and phone number out of logs, audit events and notifications', async () => {
    await sim('/revoke-tokens', { method: 'POST' }); // so the payment's own OAuth fetch is in the log
    const payment = await completedPayment();
    await sleep(500); // the outbox row's delivery attempt, if any, is written after the payment completes

    const stored = await storedText(payment.paymentId, payment.checkoutRequestId);
    const secrets = await secretsOf(payment);

    const leaks = Object.entries(stored).flatMap(([table, text]) =>
      Object.entries(secrets)
        .filter(([, secret]) => text.includes(secret))
        .map(([name]) => `${name} in ${table}`),
    );
    expect(leaks).toEqual([]);
  });

  it('keeps the full phone number out of the payment row except in its encrypted column', async () => {
    const payment = await completedPayment();

    const { phone_number_encrypted: _encrypted, ...row } = (await paymentRow(payment.paymentId))!;

    const columnsWithThePhone = Object.entries(row)
      .filter(([, value]) => JSON.stringify(value ?? null).includes(payment.phone))
      .map(([column]) => column);
    expect(columnsWithThePhone).toEqual([]);
  });
});

describe('a Redis flush', () => {
  const queueKeys = () => `${e2e().redisKeyPrefix}:bull:${PAYMENTS_QUEUE}:*`;

  async function deleteKeys(pattern: string): Promise<number> {
    const connection = redis();
    let deleted = 0;
    try {
      let cursor = '0';
      do {
        const [next, keys] = await connection.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) deleted += await connection.del(...keys);
      } while (cursor !== '0');
    } finally {
      await connection.quit();
    }
    return deleted;
  }

  /** What the worker does at boot (PaymentJobsProducer.ensureSweepScheduler), so the shared app keeps sweeping for later files. */
  async function recreateSweepScheduler(): Promise<void> {
    const queue = new Queue(PAYMENTS_QUEUE, { connection: { url: e2e().redisUrl }, prefix: `${e2e().redisKeyPrefix}:bull` });
    try {
      await queue.upsertJobScheduler(
        SWEEP_SCHEDULER_ID,
        { every: Number(testEnv().STATUS_SWEEP_INTERVAL_MS) },
        { name: PaymentJob.StatusSweep, data: {}, opts: JOB_DEFAULTS[PaymentJob.StatusSweep] },
      );
    } finally {
      await queue.close();
    }
  }

  it('loses no pending payment: the status sweep still settles one that only STK Query can settle', async () => {
    const res = await pushStk(client.token, stkPushBody({ phoneNumber: SCENARIO_PHONES.noCallback }));
    expect(res.status).toBe(201);

    expect(await deleteKeys(queueKeys())).toBeGreaterThan(0);

    try {
      // PAYMENT_MAX_PENDING_MS is 12 s: by 15 s the sweep has either completed it or timed it out.
      await waitFor(async () => (await paymentRow(res.body.data.paymentId))?.status === 'completed', {
        timeoutMs: 15_000,
        message: 'the status sweep to complete a pending payment after the payments queue was flushed from Redis',
      });
    } finally {
      await recreateSweepScheduler();
    }
  });
});
