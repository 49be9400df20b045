// Issue 9, money in (STK), over HTTP: how a push ends when Daraja's answer is ambiguous (a 5xx or an HTML page for a
// push it did process, a documented "not processed", "Unable to lock subscriber" on a resend); what evidence of money
// does to a payment we gave up on, to one M-Pesa said failed or cancelled, or when it names another phone, checkout or
// receipt (a review and its webhook, never a "duplicate"); what a query answer about another checkout and a refused
// query do; and whom the 409 for a busy phone shows the pending payment to. Daraja is the embedded simulator (faults,
// scenario phones) or Daraja's JSON from test/fixtures/daraja.ts posted to the callback URL the simulator recorded.
//
// Two apps. The run's shared one (give-up after PAYMENT_MAX_PENDING_MS = 12 s), and the "give-up app", one of this
// file's own: it gives up after 4 s, asks again 1, 4 and 8 s after giving up, and writes the client's SMS rows, so that
// "the client is never told the payment failed" can be seen. The give-up app's payments are started in beforeAll and
// run their course while the shared app's tests run; its tests, last in the file, read how they ended.
//
// Covered by other files, so not repeated here: `system_busy` resent (daraja-resilience), `spike_arrest` resent
// (daraja-budget), malformed pushes not using up a phone's push limit (rate-limits), a success after M-Pesa's own
// timeout and a success for another amount (callbacks), a callback that loses the race to a status query keeps its
// receipt (callbacks).
import { randomInt, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { darajaTimestamp } from '../../src/mpesa/daraja-time';
import { newCheckoutRequestId } from '../../src/mpesa/simulator/simulator-wire';
import { verifyWebhook } from '../../src/notifications/webhook-signature';
import { stkSuccessCallback } from '../fixtures/daraja';
import { api, ApiOptions, ApiResponse, db, sim, testEnv, uniquePhone, waitFor } from '../support/app';
import { ExtraApp, startExtraApp } from '../support/extra-app';
import {
  FaultKind,
  masked,
  newAdmin,
  newClient,
  PaymentStatusValue,
  SCENARIO_PHONES,
  SimulatedEndpoint,
  SimulatedTransaction,
  sleep,
  stkPushBody,
  TestUser,
} from '../support/factories';
import { WebhookReceiver } from '../support/webhook-receiver';

const client = newClient();
const admin = newAdmin();
const ACCEPTED = { ResultCode: 0, ResultDesc: 'Accepted' };
/** The simulator's "processed, but answered HTTP 500" number (src/mpesa/simulator/simulator-scenarios.ts). */
const PROCESSED_BUT_500_PHONE = '254700000006';
/** Longer than one status-sweep interval (1 s): what would happen next has had its chance. */
const QUIET_PERIOD_MS = 1_500;

/** One running app: the run's shared one, or the give-up app. */
interface Stage {
  /** `api()`'s baseUrl; undefined for the shared app. */
  baseUrl?: string;
  db(): Pool;
  webhookSecret: string;
  webhooks: WebhookReceiver;
}

let shared: Stage;

// ---- Questions asked of an app, its simulator and its database ----

const call = (stage: Stage, path: string, options: ApiOptions = {}) => api(path, { ...options, baseUrl: stage.baseUrl });
const control = (stage: Stage, path: string, options: ApiOptions = {}) => sim(path, { ...options, baseUrl: stage.baseUrl });

function push(stage: Stage, user: TestUser, body: object): Promise<ApiResponse> {
  return call(stage, '/api/payments/stk-push', { method: 'POST', token: user.token, body });
}

async function rowOf(stage: Stage, paymentId: string): Promise<Record<string, any>> {
  const { rows } = await stage.db().query('SELECT * FROM payments WHERE id = $1', [paymentId]);
  return rows[0];
}

function waitForStatus(stage: Stage, paymentId: string, status: PaymentStatusValue, timeoutMs = 20_000): Promise<Record<string, any>> {
  return waitFor(async () => ((await rowOf(stage, paymentId))?.status === status ? rowOf(stage, paymentId) : undefined), {
    timeoutMs,
    message: `payment ${paymentId} to be ${status}`,
  });
}

/** The app's own record of its Daraja calls (and callbacks) about a payment, oldest first. */
async function darajaLogOf(
  stage: Stage,
  paymentId: string,
  type: 'STK_PUSH' | 'STK_QUERY' | 'STK_CALLBACK',
): Promise<Record<string, any>[]> {
  const { rows } = await stage
    .db()
    .query('SELECT * FROM transaction_logs WHERE reference = $1 AND transaction_type = $2 ORDER BY id', [paymentId, type]);
  return rows;
}

/** The payment's changes of state in its audit trail (its creation and review events left out). */
async function stateChangesOf(stage: Stage, paymentId: string): Promise<string[]> {
  const { rows } = await stage
    .db()
    .query(
      `SELECT action FROM audit_events WHERE entity_id = $1 AND action LIKE 'payment.%' AND action <> 'payment.initiated' ORDER BY id`,
      [paymentId],
    );
  return rows.map((r) => r.action);
}

/** Outbox rows about the payment: `webhook` to LegalPro, `sms`/`email` to the client. */
async function notificationsOf(stage: Stage, paymentId: string): Promise<{ channel: string; event: string }[]> {
  const { rows } = await stage
    .db()
    .query('SELECT channel, event FROM notifications WHERE subject_id = $1 ORDER BY created_at, id', [paymentId]);
  return rows;
}

/** What the client was told (by SMS or email) about the payment. */
async function toldTheClient(stage: Stage, paymentId: string): Promise<string[]> {
  return (await notificationsOf(stage, paymentId)).filter((n) => n.channel !== 'webhook').map((n) => n.event);
}

/** The payment's reviews as an admin reads them: `GET /api/reviews?entityType=payment&entityId=`. */
async function reviewsOf(stage: Stage, paymentId: string): Promise<Record<string, any>[]> {
  const res = await call(stage, '/api/reviews', { token: admin.token, query: { entityType: 'payment', entityId: paymentId } });
  expect(res.status).toBe(200);
  return res.body.data.items;
}

/** What the simulator stored for a push: ids, phone, amount, callback URL, and the receipt of a success. */
async function simulatedPush(stage: Stage, checkoutRequestId: string): Promise<SimulatedTransaction> {
  const res = await control(stage, `/stk/${encodeURIComponent(checkoutRequestId)}`);
  expect(res.status).toBe(200);
  return res.body;
}

/** Every push the simulator processed for the phone, oldest first (a push refused before processing is not one). */
async function simulatedPushesTo(stage: Stage, phone: string): Promise<SimulatedTransaction[]> {
  const res = await control(stage, '/stk', { query: { phone } });
  expect(res.status).toBe(200);
  return Promise.all(res.body.items.map((t: { checkoutRequestId: string }) => simulatedPush(stage, t.checkoutRequestId)));
}

async function queueFault(stage: Stage, endpoint: SimulatedEndpoint, kind: FaultKind, count = 1): Promise<void> {
  const res = await control(stage, '/faults', { method: 'POST', body: { endpoint, kind, count } });
  expect(res.status).toBe(200);
}

async function simulatorCallbacks(enabled: boolean): Promise<void> {
  expect((await control(shared, '/callbacks', { method: 'POST', body: { enabled } })).status).toBe(200);
}

/** An M-Pesa-looking receipt nobody has used. */
function newReceipt(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return `T${Array.from({ length: 9 }, () => chars[randomInt(chars.length)]).join('')}`;
}

/** Daraja's success callback for the push, with what a test changes; the simulator's receipt unless another is given. */
function successCallback(t: SimulatedTransaction, change: { receipt?: string; phone?: string; checkoutRequestId?: string } = {}) {
  return stkSuccessCallback({
    merchantRequestId: t.merchantRequestId,
    checkoutRequestId: change.checkoutRequestId ?? t.checkoutRequestId,
    amount: t.amount,
    receipt: change.receipt ?? t.receipt,
    transactionDate: Number(t.transactionDate ?? darajaTimestamp()),
    phone: change.phone ?? t.phone,
  });
}

/** POSTs to the callback URL the app gave Daraja (token and payment id in its query string), as Daraja does. */
function postCallback(callbackUrl: string, body: unknown): Promise<ApiResponse> {
  const url = new URL(callbackUrl);
  return api(`${url.pathname}${url.search}`, { method: 'POST', body, baseUrl: url.origin });
}

/**
 * A contradiction was kept and raised: Daraja was answered "Accepted" and the callback logged as `flagged` (not
 * `duplicate`), the payment is still `status` without the receipt, and one review holds the receipt and the redacted
 * payload; the admin's queue and the payment's status show it, and a signed `review.opened` webhook announced it.
 */
async function expectRaised(
  stage: Stage,
  paymentId: string,
  expected: { answer: ApiResponse; status: PaymentStatusValue; reason: string; receipt: string; phones: string[] },
): Promise<Record<string, any>> {
  expect(expected.answer.status).toBe(200);
  expect(expected.answer.body).toStrictEqual(ACCEPTED);
  expect((await darajaLogOf(stage, paymentId, 'STK_CALLBACK')).map((l) => [l.status_code, l.outcome])).toContainEqual([200, 'flagged']);
  expect(await rowOf(stage, paymentId)).toMatchObject({
    status: expected.status,
    review_reason: expected.reason,
    mpesa_receipt_number: null,
  });

  const reviews = await reviewsOf(stage, paymentId);
  expect(reviews).toEqual([
    expect.objectContaining({ entityType: 'payment', entityId: paymentId, reason: expected.reason, status: 'open', resolvedAt: null }),
  ]);
  const [review] = reviews;
  expect(review.evidence).toMatchObject({
    receipt: expected.receipt,
    payload: { Body: { stkCallback: { ResultCode: 0, CallbackMetadata: { Item: expect.any(Array) } } } },
  });
  const evidence = JSON.stringify(review.evidence);
  for (const phone of expected.phones) expect(evidence).not.toContain(phone);

  const view = await call(stage, `/api/payments/${paymentId}/status`, { token: client.token });
  expect(view.body.data).toMatchObject({ status: expected.status, reviewReason: expected.reason, mpesaReceiptNumber: null });
  expect(view.body.data.reviews).toEqual([expect.objectContaining({ id: review.id, reason: expected.reason, status: 'open' })]);

  const hook = await stage.webhooks.waitFor((h) => h.body?.event === 'review.opened' && h.body?.data?.reviewId === review.id);
  expect(hook.body.data).toEqual({ reviewId: review.id, entityType: 'payment', entityId: paymentId, reason: expected.reason });
  expect(verifyWebhook(stage.webhookSecret, hook.rawBody, String(hook.headers['x-legalpro-signature']))).toBe(true);
  return review;
}

// ---- The give-up app ----

interface Started {
  phone: string;
  answer: ApiResponse;
  paymentId: string;
}

interface GiveUpRun {
  app: ExtraApp;
  pool: Pool;
  stage: Stage;
  /** `html_error`: a proxy's HTML page, the push never reached M-Pesa. */
  htmlNotProcessed: Started;
  /** `html_after_processing`: the same page, but M-Pesa processed the push; its callback comes after our give-up. */
  htmlProcessed: Started;
  /** `system_busy`, then `subscriber_locked` on the resend. */
  lockedOnResend: Started;
  /** 254700000006: processed, answered HTTP 500; the success callback comes 2 s later. */
  processedBut500: Started;
  /** The customer never answers: STK Query says "being processed", no callback. */
  neverAnswered: Started;
  /** Paid, but no callback; STK Query says "being processed" until 8 s, after our give-up. */
  paidWithoutCallback: Started;
}

const GIVE_UP_SETTINGS = {
  PAYMENT_MAX_PENDING_MS: '4000',
  PAYMENT_LATE_QUERY_DELAYS_MS: '1000,4000,8000',
  // The default scenario and 254700000005 settle at 8 s: well after the give-up (4 s and the next sweep), before the
  // late queries run out. 254700000006 settles at 2 s, before it. 254700001037 never does while the file runs.
  SIMULATOR_CALLBACK_DELAY_MS: '8000',
  SIMULATOR_LATE_CALLBACK_MS: '2000',
  SIMULATOR_NO_ANSWER_MS: '120000',
  // Written as `skipped` rows (no gateway is configured): what the client would have been told.
  CLIENT_NOTIFICATION_EVENTS: 'payment.received,payment.failed',
};

async function startGiveUpRun(): Promise<GiveUpRun> {
  const app = await startExtraApp(GIVE_UP_SETTINGS, 'money-in-give-up');
  const pool = new Pool({ connectionString: app.databaseUrl, max: 4 });
  pool.on('error', () => undefined);
  let webhooks: WebhookReceiver | undefined;
  try {
    webhooks = await WebhookReceiver.start(Number(new URL(app.env.WEBHOOK_URL).port));
    const stage: Stage = { baseUrl: app.url, db: () => pool, webhookSecret: app.env.WEBHOOK_SECRET, webhooks };
    // A fault goes to whichever push comes next, so each payment is pushed after the previous one took its faults; the
    // last one's second fault is taken by its resend, and no push follows it.
    const start = async (phone: string, faults: FaultKind[] = []): Promise<Started> => {
      for (const kind of faults) await queueFault(stage, 'stkpush', kind);
      const answer = await push(stage, client, stkPushBody({ phoneNumber: phone }));
      expect(answer.body?.data?.paymentId).toEqual(expect.any(String));
      return { phone, answer, paymentId: answer.body.data.paymentId };
    };
    return {
      app,
      pool,
      stage,
      htmlNotProcessed: await start(uniquePhone(), ['html_error']),
      htmlProcessed: await start(uniquePhone(), ['html_after_processing']),
      processedBut500: await start(PROCESSED_BUT_500_PHONE),
      neverAnswered: await start(SCENARIO_PHONES.noAnswer),
      paidWithoutCallback: await start(SCENARIO_PHONES.noCallback),
      lockedOnResend: await start(uniquePhone(), ['system_busy', 'subscriber_locked']),
    };
  } catch (error) {
    await webhooks?.stop();
    await pool.end();
    await app.stop();
    throw error;
  }
}

let giveUp: GiveUpRun | undefined;

beforeAll(async () => {
  shared = { db, webhookSecret: testEnv().WEBHOOK_SECRET, webhooks: await WebhookReceiver.start() };
  giveUp = await startGiveUpRun();
}, 90_000);

afterAll(async () => {
  await shared?.webhooks.stop();
  await giveUp?.stage.webhooks.stop();
  await giveUp?.pool.end();
  await giveUp?.app.stop();
});

afterEach(async () => {
  // Nothing of this file left in flight on the shared app (a payment flagged for review stays pending on purpose):
  // the next test's simulator faults must not be taken by an earlier test's payment.
  await waitFor(
    async () => {
      const { rows } = await db().query(
        `SELECT count(*)::int AS n FROM payments WHERE client_id = $1 AND status = 'pending' AND review_reason IS NULL`,
        [client.id],
      );
      return rows[0].n === 0;
    },
    { timeoutMs: 25_000, message: "this file's payments on the shared app to settle" },
  );
});

describe('§1 an STK Push whose answer Daraja left ambiguous', () => {
  it('does not resend a push Daraja processed but answered with a 5xx, keeps the payment pending, and its callback completes it', async () => {
    // The late-callback customer answers after 4 s: past the 1 s and 2 s a resend would have come after.
    const phone = SCENARIO_PHONES.lateCallback;
    const processedBefore = (await simulatedPushesTo(shared, phone)).length;
    await queueFault(shared, 'stkpush', 'internal_error_after_processing');

    const res = await push(shared, client, stkPushBody({ phoneNumber: phone }));

    expect(res.status).toBe(202);
    expect(res.body.data).toMatchObject({ status: 'pending', checkoutRequestID: null });
    const paymentId = res.body.data.paymentId;
    expect(await rowOf(shared, paymentId)).toMatchObject({ status: 'pending', stk_push_status: 'unknown' });
    const row = await waitForStatus(shared, paymentId, 'completed');
    const processed = await simulatedPushesTo(shared, phone);
    expect(processed).toHaveLength(processedBefore + 1);
    const daraja = processed[processed.length - 1];
    expect(row).toMatchObject({
      settled_by: 'callback',
      checkout_request_id: daraja.checkoutRequestId,
      mpesa_receipt_number: daraja.receipt,
      retry_count: 0,
    });
    expect((await darajaLogOf(shared, paymentId, 'STK_PUSH')).map((l) => l.status_code)).toEqual([500]);
    expect(await stateChangesOf(shared, paymentId)).toEqual(['payment.completed']);
  });

  // system_busy: test/e2e/daraja-resilience.e2e-spec.ts; spike_arrest: test/e2e/daraja-budget.e2e-spec.ts.
  it('resends a push Daraja refused with 500.003.03 "Quota Violation" (not processed), and the payment completes', async () => {
    await queueFault(shared, 'stkpush', 'quota_violation');
    const phone = uniquePhone();

    const res = await push(shared, client, stkPushBody({ phoneNumber: phone }));

    expect(res.status).toBe(202);
    expect(res.body.message).toMatch(/queued for retry/);
    const paymentId = res.body.data.paymentId;
    const row = await waitForStatus(shared, paymentId, 'completed');
    expect(row).toMatchObject({ settled_by: 'callback', retry_count: 1, stk_push_status: 'accepted' });
    expect((await darajaLogOf(shared, paymentId, 'STK_PUSH')).map((l) => l.status_code)).toEqual([500, 200]);
    expect(await simulatedPushesTo(shared, phone)).toHaveLength(1);
  });
});

describe('§2 a success for a payment M-Pesa said was not paid', () => {
  it.each([
    { verdict: 'cancelled' as const, phone: SCENARIO_PHONES.cancelledByUser },
    { verdict: 'failed' as const, phone: SCENARIO_PHONES.insufficientFunds },
  ])(
    'keeps a $verdict payment $verdict when a success callback follows, and opens a contradicting_result review with the receipt',
    async ({ verdict, phone }) => {
      const res = await push(shared, client, stkPushBody({ phoneNumber: phone }));
      expect(res.status).toBe(201);
      const paymentId = res.body.data.paymentId;
      await waitForStatus(shared, paymentId, verdict);
      const daraja = await simulatedPush(shared, res.body.data.checkoutRequestID);
      const receipt = newReceipt();

      const answer = await postCallback(daraja.callbackUrl, successCallback(daraja, { receipt }));

      await expectRaised(shared, paymentId, { answer, status: verdict, reason: 'contradicting_result', receipt, phones: [phone] });
      expect(await stateChangesOf(shared, paymentId)).toEqual([`payment.${verdict}`]);
    },
  );
});

describe("payments kept pending by switching the simulator's callbacks off: §2 a success that does not match, §6 the 409", () => {
  // With the simulator's own callbacks off, each payment stays pending (the sweep first asks after 1.5 s) for the
  // crafted callback to find.
  beforeAll(() => simulatorCallbacks(false));
  afterAll(() => simulatorCallbacks(true));

  async function pendingPayment(): Promise<{ paymentId: string; phone: string; daraja: SimulatedTransaction }> {
    const phone = uniquePhone();
    const res = await push(shared, client, stkPushBody({ phoneNumber: phone }));
    expect(res.status).toBe(201);
    return { paymentId: res.body.data.paymentId, phone, daraja: await simulatedPush(shared, res.body.data.checkoutRequestID) };
  }

  it('opens a phone_mismatch review, and does not complete the payment, for a success from another phone', async () => {
    const { paymentId, phone, daraja } = await pendingPayment();
    const otherPhone = uniquePhone();

    const answer = await postCallback(daraja.callbackUrl, successCallback(daraja, { phone: otherPhone }));

    const review = await expectRaised(shared, paymentId, {
      answer,
      status: 'pending',
      reason: 'phone_mismatch',
      receipt: daraja.receipt!,
      phones: [phone, otherPhone],
    });
    expect(review.evidence.phoneNumber).toBe(masked(otherPhone));
    expect(await stateChangesOf(shared, paymentId)).toEqual([]);
  });

  it("opens a checkout_mismatch review, and does not complete the payment, for a success naming another CheckoutRequestID on the payment's callback URL", async () => {
    const { paymentId, phone, daraja } = await pendingPayment();
    const otherCheckout = newCheckoutRequestId();

    const answer = await postCallback(daraja.callbackUrl, successCallback(daraja, { checkoutRequestId: otherCheckout }));

    const review = await expectRaised(shared, paymentId, {
      answer,
      status: 'pending',
      reason: 'checkout_mismatch',
      receipt: daraja.receipt!,
      phones: [phone],
    });
    expect(review.evidence.checkoutRequestId).toBe(otherCheckout);
    expect((await rowOf(shared, paymentId)).checkout_request_id).toBe(daraja.checkoutRequestId);
    expect(await stateChangesOf(shared, paymentId)).toEqual([]);
  });

  it('opens a duplicate_receipt review for a success carrying a receipt another payment already holds, and changes neither', async () => {
    const first = await pendingPayment();
    const second = await pendingPayment();
    expect((await postCallback(first.daraja.callbackUrl, successCallback(first.daraja))).status).toBe(200);
    const firstPaid = await rowOf(shared, first.paymentId);
    expect(firstPaid).toMatchObject({ status: 'completed', mpesa_receipt_number: first.daraja.receipt });

    const answer = await postCallback(second.daraja.callbackUrl, successCallback(second.daraja, { receipt: first.daraja.receipt }));

    await expectRaised(shared, second.paymentId, {
      answer,
      status: 'pending',
      reason: 'duplicate_receipt',
      receipt: first.daraja.receipt!,
      phones: [second.phone],
    });
    expect(await stateChangesOf(shared, second.paymentId)).toEqual([]);
    expect(await rowOf(shared, first.paymentId)).toEqual(firstPaid);
    expect(await reviewsOf(shared, first.paymentId)).toEqual([]);
  });

  it('§6 names the pending payment in the 409 for its phone only to its own client and to admins', async () => {
    const { paymentId, phone, daraja } = await pendingPayment();
    const stranger = newClient();

    const [own, other, byAdmin] = [
      await push(shared, client, stkPushBody({ phoneNumber: phone })),
      await push(shared, stranger, stkPushBody({ phoneNumber: phone })),
      await push(shared, admin, stkPushBody({ phoneNumber: phone })),
    ];

    for (const res of [own, other, byAdmin]) {
      expect([res.status, res.body.code]).toEqual([409, 'PAYMENT_PENDING_FOR_PHONE']);
    }
    expect(own.body.details).toEqual({ paymentId });
    expect(byAdmin.body.details).toEqual({ paymentId });
    expect(other.body.details?.paymentId).toBeUndefined();
    expect(other.text).not.toContain(paymentId);
    expect((await postCallback(daraja.callbackUrl, successCallback(daraja))).status).toBe(200);
  });
});

describe('§2 and §6 what STK Query answers count for', () => {
  it('does not settle a payment on a query answer that names another CheckoutRequestID', async () => {
    // The customer never answers: no callback, and STK Query says "being processed" for 4 s, then 1037.
    const res = await push(shared, client, stkPushBody({ phoneNumber: SCENARIO_PHONES.noAnswer }));
    expect(res.status).toBe(201);
    const { paymentId, checkoutRequestID } = res.body.data;
    // The next two queries are answered with a success for another push. This payment is the only one the sweep asks
    // about, so they are about it.
    await queueFault(shared, 'stkquery', 'other_checkout', 2);

    const row = await waitForStatus(shared, paymentId, 'timeout');

    expect(row).toMatchObject({ settled_by: 'status_query', result_code: '1037', mpesa_receipt_number: null, review_reason: null });
    expect(await stateChangesOf(shared, paymentId)).toEqual(['payment.timeout']);
    const answeredFor = (await darajaLogOf(shared, paymentId, 'STK_QUERY')).map((l) => l.response_data?.CheckoutRequestID);
    expect(answeredFor.filter((id) => id && id !== checkoutRequestID)).toHaveLength(2);
    expect(await reviewsOf(shared, paymentId)).toEqual([]);
  });

  it('asks only once about a payment whose STK Query Daraja refused with 400.002.02 Invalid CheckoutRequestID; its callback still completes it', async () => {
    // The late-callback customer answers after 4 s: the sweep (every 1 s, from 1.5 s on) would have asked again.
    const res = await push(shared, client, stkPushBody({ phoneNumber: SCENARIO_PHONES.lateCallback }));
    expect(res.status).toBe(201);
    const paymentId = res.body.data.paymentId;
    await queueFault(shared, 'stkquery', 'invalid_checkout');

    const refused = await waitFor(async () => {
      const row = await rowOf(shared, paymentId);
      return row.stk_push_status === 'query_refused' && row;
    });
    expect(refused.status).toBe('pending');
    const row = await waitForStatus(shared, paymentId, 'completed');

    expect(row.settled_by).toBe('callback');
    expect(row.mpesa_receipt_number).toMatch(/^[A-Z0-9]{10}$/);
    expect((await darajaLogOf(shared, paymentId, 'STK_QUERY')).map((l) => l.status_code)).toEqual([400]);
  });
});

describe('§2 two paid payments for one appointment', () => {
  it('opens one possible_double_payment review, on the second payment, and changes neither', async () => {
    const appointmentId = `apt_${randomUUID().slice(0, 8)}`;
    const first = await push(shared, client, stkPushBody({ appointmentId }));
    const firstPaid = await waitForStatus(shared, first.body.data.paymentId, 'completed');
    const second = await push(shared, client, stkPushBody({ appointmentId }));
    const secondId = second.body.data.paymentId;
    await waitForStatus(shared, secondId, 'completed');

    const [review] = await waitFor(() => reviewsOf(shared, secondId).then((items) => items.length > 0 && items));

    expect(review).toMatchObject({
      reason: 'possible_double_payment',
      status: 'open',
      evidence: { otherPaymentId: firstPaid.id, otherReceipt: firstPaid.mpesa_receipt_number, appointmentId },
    });
    const hook = await shared.webhooks.waitFor((h) => h.body?.event === 'review.opened' && h.body?.data?.reviewId === review.id);
    expect(hook.body.data).toEqual({ reviewId: review.id, entityType: 'payment', entityId: secondId, reason: 'possible_double_payment' });
    await sleep(QUIET_PERIOD_MS);
    expect(await reviewsOf(shared, secondId)).toHaveLength(1);
    expect(await reviewsOf(shared, firstPaid.id)).toEqual([]);
    expect((await rowOf(shared, firstPaid.id)).status).toBe('completed');
    expect(await rowOf(shared, secondId)).toMatchObject({ status: 'completed', review_reason: 'possible_double_payment' });
  });
});

describe('§1 and §2 our own give-up (the give-up app: PAYMENT_MAX_PENDING_MS 4 s, late queries 1, 4 and 8 s after it)', () => {
  let run: GiveUpRun;
  beforeAll(() => {
    run = giveUp as GiveUpRun;
  });

  it('never tells the client a payment failed whose push Daraja processed but answered 500 (254700000006), and its callback completes it', async () => {
    const { stage } = run;
    const { answer, paymentId, phone } = run.processedBut500;
    expect(answer.status).toBe(202);
    expect(answer.body.data).toMatchObject({ status: 'pending', checkoutRequestID: null });

    const row = await waitForStatus(stage, paymentId, 'completed');

    const processed = await simulatedPushesTo(stage, phone);
    expect(processed).toHaveLength(1);
    expect(row).toMatchObject({ settled_by: 'callback', mpesa_receipt_number: processed[0].receipt, retry_count: 0 });
    expect((await darajaLogOf(stage, paymentId, 'STK_PUSH')).map((l) => l.status_code)).toEqual([500]);
    expect(await stateChangesOf(stage, paymentId)).toEqual(['payment.completed']);
    expect(await toldTheClient(stage, paymentId)).toEqual(['payment.received']);
  });

  it('does not resend a push answered with an HTML page, keeps the payment pending until our give-up, and ends it expired without telling the client it failed', async () => {
    const { stage } = run;
    const { answer, paymentId, phone } = run.htmlNotProcessed;
    expect(answer.status).toBe(202);
    expect(answer.body.data).toMatchObject({ status: 'pending', checkoutRequestID: null });

    const row = await waitForStatus(stage, paymentId, 'expired');

    expect(row).toMatchObject({ settled_by: 'expiry', stk_push_status: 'unknown', retry_count: 0, mpesa_receipt_number: null });
    expect((await darajaLogOf(stage, paymentId, 'STK_PUSH')).map((l) => l.status_code)).toEqual([502]);
    expect(await simulatedPushesTo(stage, phone)).toEqual([]);
    expect(await stateChangesOf(stage, paymentId)).toEqual(['payment.expired']);
    expect(await notificationsOf(stage, paymentId)).toEqual([{ channel: 'webhook', event: 'payment.expired' }]);
  });

  it('does not resend a push Daraja processed but answered with an HTML page, and its callback completes the payment even after our give-up', async () => {
    const { stage } = run;
    const { answer, paymentId, phone } = run.htmlProcessed;
    expect(answer.status).toBe(202);

    const row = await waitForStatus(stage, paymentId, 'completed');

    const processed = await simulatedPushesTo(stage, phone);
    expect(processed).toHaveLength(1);
    expect(row).toMatchObject({ settled_by: 'late_callback', mpesa_receipt_number: processed[0].receipt, retry_count: 0 });
    expect((await darajaLogOf(stage, paymentId, 'STK_PUSH')).map((l) => l.status_code)).toEqual([502]);
    expect(await stateChangesOf(stage, paymentId)).toEqual(['payment.expired', 'payment.completed']);
    expect(await toldTheClient(stage, paymentId)).toEqual(['payment.received']);
  });

  it('keeps a payment pending when its resend is answered "Unable to lock subscriber", never fails it on that answer, and does not push again', async () => {
    const { stage } = run;
    const { answer, paymentId, phone } = run.lockedOnResend;
    expect(answer.status).toBe(202);
    expect(answer.body.message).toMatch(/queued for retry/);

    const row = await waitForStatus(stage, paymentId, 'expired');

    // A third push would have come 2 s after the locked resend, before our give-up.
    const pushes = await darajaLogOf(stage, paymentId, 'STK_PUSH');
    expect(pushes.map((l) => l.status_code)).toEqual([500, 500]);
    expect(JSON.stringify(pushes[1].response_data)).toContain('Unable to lock subscriber');
    expect(row).toMatchObject({ settled_by: 'expiry', stk_push_status: 'unknown', retry_count: 1 });
    expect(await simulatedPushesTo(stage, phone)).toEqual([]);
    expect(await stateChangesOf(stage, paymentId)).toEqual(['payment.expired']);
    expect(await toldTheClient(stage, paymentId)).toEqual([]);
  });

  it('completes an expired payment by a late success callback: late_callback, the receipt stored, payment.completed with late: true', async () => {
    const { stage } = run;
    const { paymentId } = run.neverAnswered;
    const expired = await waitForStatus(stage, paymentId, 'expired');
    expect(expired).toMatchObject({ settled_by: 'expiry', mpesa_receipt_number: null });
    expect(await toldTheClient(stage, paymentId)).toEqual([]);
    const daraja = await simulatedPush(stage, expired.checkout_request_id);
    const receipt = newReceipt();

    const res = await postCallback(daraja.callbackUrl, successCallback(daraja, { receipt }));

    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual(ACCEPTED);
    const view = await call(stage, `/api/payments/${paymentId}/status`, { token: client.token });
    expect(view.body.data).toMatchObject({ status: 'completed', settledBy: 'late_callback', mpesaReceiptNumber: receipt, reviews: [] });
    const hook = await stage.webhooks.waitFor((h) => h.body?.event === 'payment.completed' && h.body?.data?.paymentId === paymentId);
    expect(verifyWebhook(stage.webhookSecret, hook.rawBody, String(hook.headers['x-legalpro-signature']))).toBe(true);
    expect(hook.body.data).toMatchObject({ status: 'completed', settledBy: 'late_callback', mpesaReceiptNumber: receipt, late: true });
    expect(await stateChangesOf(stage, paymentId)).toEqual(['payment.expired', 'payment.completed']);
    expect(await toldTheClient(stage, paymentId)).toEqual(['payment.received']);
  });

  it('completes an expired payment when a late status query finds it paid: late_status_query, payment.completed with late: true', async () => {
    const { stage } = run;
    const { paymentId } = run.paidWithoutCallback;

    const row = await waitForStatus(stage, paymentId, 'completed', 25_000);

    expect(row).toMatchObject({ settled_by: 'late_status_query', result_code: '0', callback_received: false });
    const { rows: expiries } = await stage
      .db()
      .query(`SELECT created_at FROM audit_events WHERE entity_id = $1 AND action = 'payment.expired'`, [paymentId]);
    expect(expiries).toHaveLength(1);
    // Asked again only once the first of PAYMENT_LATE_QUERY_DELAYS_MS (1 s) had passed since the give-up.
    const askedLate = (await darajaLogOf(stage, paymentId, 'STK_QUERY')).filter((l) => l.created_at > expiries[0].created_at);
    expect(askedLate.length).toBeGreaterThanOrEqual(1);
    expect(askedLate[0].created_at.getTime() - expiries[0].created_at.getTime()).toBeGreaterThanOrEqual(1_000);
    const hook = await stage.webhooks.waitFor((h) => h.body?.event === 'payment.completed' && h.body?.data?.paymentId === paymentId);
    expect(hook.body.data).toMatchObject({ status: 'completed', settledBy: 'late_status_query', late: true });
    expect(await stateChangesOf(stage, paymentId)).toEqual(['payment.expired', 'payment.completed']);
    expect(await toldTheClient(stage, paymentId)).toEqual(['payment.received']);
  });
});
