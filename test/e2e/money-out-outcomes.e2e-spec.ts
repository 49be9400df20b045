// Money out under the outcome model (issue 9, sections 1 and 3): B2C refunds and disbursements, reversals, Account
// Balance and Transaction Status when Daraja's answer is ambiguous, wrong or never comes. What is asserted is what a user
// would check: the payout's or reversal's status and receipt, the payment's refunded amount, the review and its webhook,
// and how many requests reached Daraja. Also: Idempotency-Key on every money-moving POST, and one retry per failed
// payout. Daraja is the embedded simulator (its scenario numbers and queued faults), or Daraja's JSON posted to our URLs.
//
// Covered elsewhere, not repeated here: an old payout that Transaction Status twice cannot find is failed
// (payout-timeouts: "fails, through Transaction Status, a payout that timed out in the queue unpaid"); a resend after
// "system busy" keeps its OriginatorConversationID and pays once (refunds).
import { createHmac, randomInt, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { b2cSuccessResult } from '../fixtures/daraja';
import { api, ApiResponse, db, sim, testEnv, uniquePhone, waitFor } from '../support/app';
import { ExtraApp, startExtraApp } from '../support/extra-app';
import {
  auditEventsFor,
  newAdmin,
  newClient,
  paymentStatus,
  pushStk,
  queueSimulatorFault,
  sleep,
  stkPushBody,
  transactionLogsFor,
  waitForPaymentStatus,
  waitUntilSettled,
} from '../support/factories';
import { WebhookReceiver } from '../support/webhook-receiver';

const admin = newAdmin();
const customer = newClient();
/** Tags this file's disbursements (clientId); refunds carry the customer's id. afterEach waits for exactly these. */
const CLIENT_TAG = `money-out-outcomes-${randomUUID()}`;
/** Longer than a resend's backoff and a status check's interval: had anything been sent again, it would show. */
const QUIET_PERIOD_MS = 2_500;
/** BALANCE_FRESHNESS_SECONDS is 1 in test-env.ts: a snapshot older than this makes a payout ask for a new balance. */
const BALANCE_FRESHNESS_MS = 1_000;
/** BALANCE_WAIT_MS and BALANCE_RETRY_INTERVAL_MS in test-env.ts. */
const BALANCE_WAIT_MS = 5_000;
const BALANCE_RETRY_INTERVAL_MS = 2_000;
/** RESULT_WAIT_MAX_MS in test-env.ts. */
const RESULT_WAIT_MAX_MS = 8_000;
/** The spec's resend policy for what Daraja certainly did not take (src/mpesa/daraja-resend-policy.ts). */
const RESEND_DELAYS_MS = [1_000, 2_000, 5_000];

/** The simulator's B2C scenario numbers (src/mpesa/simulator/simulator-scenarios.ts). */
const B2C_PHONES = {
  /** Paid, but neither ResultURL nor QueueTimeOutURL is ever called: only Transaction Status tells. */
  noResult: '254700000012',
  /** Paid, no callback; Transaction Status answers 2033 (not found) twice, then Completed. */
  notFoundThenPaid: '254700000007',
  /** Paid; the result (and Transaction Status) names 254705912645 as the receiver. */
  receiverMismatch: '254700000008',
  /** Not paid; result ResultCode 1. */
  insufficientFunds: '254700000001',
} as const;

interface SimulatedB2c {
  originatorConversationId: string;
  conversationId: string;
  amount: number;
  paid: boolean;
  receipt: string | null;
}

let hooks: WebhookReceiver;

beforeAll(async () => {
  hooks = await WebhookReceiver.start();
});

afterAll(async () => {
  await hooks?.stop();
});

afterEach(async () => {
  // Nothing of this file left in flight: payments settled, payouts and reversals ended or handed to a person.
  await waitUntilSettled([customer.id]);
  await waitFor(
    async () => {
      const { rows } = await db().query(
        `SELECT (SELECT count(*) FROM payouts WHERE client_id = ANY($1) AND status NOT IN ('completed', 'failed') AND review_reason IS NULL)
              + (SELECT count(*) FROM reversals r JOIN payments p ON p.id = r.payment_id
                  WHERE p.client_id = $2 AND r.status NOT IN ('completed', 'failed') AND r.review_reason IS NULL) AS n`,
        [[CLIENT_TAG, customer.id], customer.id],
      );
      return Number(rows[0].n) === 0;
    },
    { timeoutMs: 30_000, message: "this file's payouts and reversals to settle" },
  );
});

// ---- helpers ----

/** A completed STK payment of `amount` from `phone` (B2C scenario numbers are ordinary success numbers for STK). */
async function completedPayment(amount = 1_000, phone = uniquePhone()): Promise<{ paymentId: string; phone: string }> {
  const res = await pushStk(customer.token, stkPushBody({ phoneNumber: phone, amount }));
  expect(res.status).toBe(201);
  await waitForPaymentStatus(res.body.data.paymentId, 'completed');
  return { paymentId: res.body.data.paymentId, phone };
}

function post(path: string, body: unknown, idempotencyKey?: string): Promise<ApiResponse> {
  return api(path, {
    method: 'POST',
    token: admin.token,
    body,
    headers: idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
  });
}

function refund(paymentId: string, amount: number, idempotencyKey?: string, reason = 'Hearing adjourned'): Promise<ApiResponse> {
  return post(`/api/payments/${paymentId}/refund`, { amount, reason }, idempotencyKey);
}

async function acceptedRefund(paymentId: string, amount: number): Promise<Record<string, any>> {
  const res = await refund(paymentId, amount);
  expect(res.status).toBe(202);
  return res.body.data;
}

function disbursementBody(phoneNumber: string, amount = 500) {
  return { phoneNumber, amount, commandId: 'BusinessPayment', remarks: 'Compensation for delayed hearing', clientId: CLIENT_TAG };
}

async function acceptedDisbursement(phoneNumber: string, amount = 500): Promise<Record<string, any>> {
  const res = await post('/api/disbursements', disbursementBody(phoneNumber, amount));
  expect(res.status).toBe(202);
  return res.body.data;
}

function reverse(paymentId: string, idempotencyKey?: string, reason = 'Paid to the wrong paybill'): Promise<ApiResponse> {
  return post(`/api/payments/${paymentId}/reversal`, { reason }, idempotencyKey);
}

function retry(payoutId: string, idempotencyKey?: string): Promise<ApiResponse> {
  return post(`/api/payouts/${payoutId}/retry`, undefined, idempotencyKey);
}

async function payout(id: string): Promise<Record<string, any>> {
  const res = await api(`/api/payouts/${id}`, { token: admin.token });
  expect(res.status).toBe(200);
  return res.body.data;
}

function waitForPayout(id: string, status: string, timeoutMs = 20_000): Promise<Record<string, any>> {
  return waitFor(
    async () => {
      const p = await payout(id);
      return p.status === status ? p : undefined;
    },
    { timeoutMs, intervalMs: 100, message: `payout ${id} to be ${status}` },
  );
}

async function paymentOf(paymentId: string): Promise<Record<string, any>> {
  const res = await paymentStatus(admin.token, paymentId);
  expect(res.status).toBe(200);
  return res.body.data;
}

function waitForPaymentState(paymentId: string, status: string): Promise<Record<string, any>> {
  return waitFor(
    async () => {
      const p = await paymentOf(paymentId);
      return p.status === status ? p : undefined;
    },
    { timeoutMs: 20_000, message: `payment ${paymentId} to be ${status}` },
  );
}

async function b2cPaymentsTo(phone: string): Promise<SimulatedB2c[]> {
  const res = await sim<{ items: SimulatedB2c[] }>('/b2c', { query: { phone } });
  expect(res.status).toBe(200);
  return res.body.items;
}

/** What the simulator received for `phone` since `before` was read: scenario numbers are shared. */
async function newB2cPaymentsTo(phone: string, before: SimulatedB2c[]): Promise<SimulatedB2c[]> {
  const seen = new Set(before.map((p) => p.originatorConversationId));
  return (await b2cPaymentsTo(phone)).filter((p) => !seen.has(p.originatorConversationId));
}

/** Every request the app sent Daraja about a payout or reversal (`B2C`, `REVERSAL`, `TRANSACTION_STATUS`). */
function darajaCalls(id: string, api: 'B2C' | 'REVERSAL' | 'TRANSACTION_STATUS'): Promise<Record<string, any>[]> {
  return transactionLogsFor(id, api);
}

async function actionsOf(id: string): Promise<string[]> {
  return (await auditEventsFor(id)).map((e) => e.action);
}

/** The ResultURL the app hands Daraja for a payout: HMAC-SHA256(MPESA_CALLBACK_SECRET, "payout:<id>") as its token. */
function payoutResultPath(payoutId: string): string {
  const token = createHmac('sha256', testEnv().MPESA_CALLBACK_SECRET).update(`payout:${payoutId}`).digest('hex');
  return `/api/payments/mpesa/b2c-callback?kind=payout&id=${payoutId}&token=${token}`;
}

/** A receipt in M-Pesa's shape (10 upper-case letters and digits) that the simulator never issued. */
function craftedReceipt(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return `T${Array.from({ length: 9 }, () => chars[randomInt(chars.length)]).join('')}`;
}

/** Daraja's B2C success result (test/fixtures/daraja) paying `phone`: the fixture's receiver is someone else. */
function b2cPaidTo(phone: string, fill: { originatorConversationId: string; amount: number; receipt: string }) {
  const body = b2cSuccessResult({ ...fill, conversationId: `AG_20240706_${randomUUID().replace(/-/g, '').slice(0, 20)}` });
  for (const parameter of [body.Result.ResultParameters?.ResultParameter ?? []].flat()) {
    if (parameter.Key === 'ReceiverPartyPublicName') parameter.Value = `${phone} - JANE WANJIKU`;
  }
  return body;
}

function reviewOpenedFor(entityId: string, timeoutMs = 15_000) {
  return hooks.waitFor((h) => h.body?.event === 'review.opened' && h.body?.data?.entityId === entityId, timeoutMs);
}

async function resolveReview(reviewId: string, resolution: 'complete' | 'fail' | 'dismiss', note: string): Promise<ApiResponse> {
  return post(`/api/reviews/${reviewId}/resolve`, { resolution, note });
}

/** A promise awaited later by its own `it`: marked handled now so that an early failure is not an unhandled rejection. */
function later<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

// An app of this file's own (see the last describe): started now so that its boot overlaps the tests below.
const OWN_APP_SETTINGS = { PAYOUT_NOT_FOUND_MIN_AGE_MS: '60000', PAYOUT_MAX_STATUS_CHECKS: '5' };
let ownApp: Promise<ExtraApp> | undefined;
let notFoundThenPaid: Promise<{ paid: Record<string, any>; sent: SimulatedB2c[]; answers: string[] }>;

beforeAll(() => {
  ownApp = later(startExtraApp(OWN_APP_SETTINGS, 'money-out-not-found'));
  notFoundThenPaid = later(ownApp.then(payWhatStatusCannotFindYet));
});

afterAll(async () => {
  await notFoundThenPaid?.catch(() => undefined);
  await (await ownApp?.catch(() => undefined))?.stop();
});

/** On the own app: a disbursement to 254700000007 (2033 twice, then Completed), followed to its end. */
async function payWhatStatusCannotFindYet(app: ExtraApp) {
  const phone = B2C_PHONES.notFoundThenPaid;
  const token = admin.token; // the own app shares the run's JWT_SECRET
  const res = await api('/api/disbursements', { baseUrl: app.url, method: 'POST', token, body: disbursementBody(phone, 700) });
  expect(res.status).toBe(202);
  const id: string = res.body.data.id;
  const paid = await waitFor(
    async () => {
      const p = (await api(`/api/payouts/${id}`, { baseUrl: app.url, token })).body.data;
      return (p.status === 'completed' || p.status === 'failed') && p;
    },
    { timeoutMs: 40_000, message: `payout ${id} on the own app to end` },
  );
  const sent = (await sim<{ items: SimulatedB2c[] }>('/b2c', { baseUrl: app.url, query: { phone } })).body.items;
  const pool = new Pool({ connectionString: app.databaseUrl, max: 1 });
  try {
    const { rows } = await pool.query('SELECT result_code FROM transaction_status_queries WHERE payout_id = $1 ORDER BY created_at', [id]);
    return { paid, sent, answers: rows.map((r) => r.result_code as string) };
  } finally {
    await pool.end();
  }
}

// ---- B2C ----

describe('B2C: an answer that does not say whether M-Pesa paid', () => {
  it('resolves by Transaction Status, never resending, a B2C that M-Pesa processed but answered with a 5xx or an HTML page', async () => {
    const phone = B2C_PHONES.noResult;
    const before = await b2cPaymentsTo(phone);
    // Two payouts, one fault each: whichever sends first gets the 500, the other the HTML 502; both were processed.
    await queueSimulatorFault('b2c', 'internal_error_after_processing');
    await queueSimulatorFault('b2c', 'html_after_processing');
    const payouts = await Promise.all([acceptedDisbursement(phone, 510), acceptedDisbursement(phone, 520)]);

    const done = await Promise.all(payouts.map((p) => waitForPayout(p.id, 'completed')));
    await sleep(QUIET_PERIOD_MS);

    const sent = await newB2cPaymentsTo(phone, before);
    expect(sent).toHaveLength(2);
    const answers: number[] = [];
    for (const [i, p] of payouts.entries()) {
      const mine = sent.filter((s) => s.originatorConversationId === p.originatorConversationId);
      expect(mine).toEqual([expect.objectContaining({ paid: true, amount: p.amount })]);
      expect(done[i]).toMatchObject({ settledBy: 'transaction_status', mpesaReceiptNumber: mine[0].receipt, needsReview: false });
      expect(mine[0].receipt).toMatch(/^[A-Z0-9]{10}$/);
      expect(await actionsOf(p.id)).toEqual(['disbursement.requested', 'payout.unknown', 'payout.completed']);
      const calls = await darajaCalls(p.id, 'B2C');
      expect(calls).toHaveLength(1);
      answers.push(calls[0].status_code);
    }
    expect(answers.sort()).toEqual([500, 502]);
  });

  it('keeps a payout whose last send attempt got a 5xx unknown, not failed, and counts it against the refundable amount until resolved', async () => {
    const { paymentId, phone } = await completedPayment(1_000);
    // The resend policy's 4 attempts: 3 "system busy" (resent), then a 500 that may have been processed.
    await queueSimulatorFault('b2c', 'system_busy', { count: 3 });
    await queueSimulatorFault('b2c', 'internal_error');
    const { id } = await acceptedRefund(paymentId, 1_000);

    const unknown = await waitForPayout(id, 'unknown', 30_000);
    const second = await refund(paymentId, 1_000, undefined, 'Refund it again');

    expect(unknown).toMatchObject({ settledBy: null, failedAt: null, mpesaReceiptNumber: null });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({
      success: false,
      code: 'CONFLICT',
      message: 'A refund of KES 1000 exceeds what is left to refund on this payment (KES 0)',
    });
    const sends = await darajaCalls(id, 'B2C');
    expect(sends.map((c) => c.response_data?.errorCode)).toEqual(['500.003.02', '500.003.02', '500.003.02', '500.003.1001']);
    // Resent after 1 s, 2 s and 5 s (docs/outcome-model.md); each attempt also waits well under a second for a balance.
    const at: number[] = sends.map((c) => c.created_at.getTime());
    RESEND_DELAYS_MS.forEach((delay, i) => expect(at[i + 1] - at[i]).toBeGreaterThanOrEqual(delay));
    // Each resend closer to its own delay than to twice it (plus a second of slack for a loaded machine): backoffs of
    // 2, 5 and 5 s would not pass (the second gap would be 5 s against a bound of 5 s).
    RESEND_DELAYS_MS.forEach((delay, i) => expect(at[i + 1] - at[i]).toBeLessThan(2 * delay + 1_000));

    // Transaction Status cannot find it (twice, the payout being old enough): nothing was paid, and only then is it failed.
    const failed = await waitForPayout(id, 'failed');
    expect(failed).toMatchObject({ settledBy: 'transaction_status', resultCode: '2033', statusChecks: 2 });
    expect(await darajaCalls(id, 'B2C')).toHaveLength(4);
    expect(await b2cPaymentsTo(phone)).toEqual([]);
    expect(await paymentOf(paymentId)).toMatchObject({ status: 'completed', refundedAmount: 0 });

    // The whole amount is refundable again, and paid once.
    const retried = await retry(id);
    expect(retried.status).toBe(202);
    const paid = await waitForPayout(retried.body.data.id, 'completed');
    expect(await paymentOf(paymentId)).toMatchObject({ status: 'refunded', refundedAmount: 1_000 });
    expect(await b2cPaymentsTo(phone)).toEqual([expect.objectContaining({ amount: 1_000, paid: true, receipt: paid.mpesaReceiptNumber })]);
  });

  it('treats a "Duplicate OriginatorConversationID" answer as unknown: not failed on it, not resent, settled by Transaction Status', async () => {
    const phone = uniquePhone();
    await queueSimulatorFault('b2c', 'duplicate_originator');
    const { id } = await acceptedDisbursement(phone);

    const unknown = await waitForPayout(id, 'unknown');
    const settled = await waitForPayout(id, 'failed');
    await sleep(QUIET_PERIOD_MS);

    expect(unknown).toMatchObject({ settledBy: null, failedAt: null });
    const [marked] = await auditEventsFor(id, 'payout.unknown');
    expect(marked.metadata.note).toMatch(/Duplicate OriginatorConversationID/);
    // M-Pesa refused that very request, so Transaction Status finds nothing: "not paid" after two such answers.
    expect(settled).toMatchObject({ settledBy: 'transaction_status', resultCode: '2033', statusChecks: 2 });
    expect(await actionsOf(id)).toEqual(['disbursement.requested', 'payout.unknown', 'payout.failed']);
    expect(await darajaCalls(id, 'B2C')).toHaveLength(1);
    expect(await b2cPaymentsTo(phone)).toEqual([]);
  });

  it('accepts a success result that arrives while the payout is back in pending between resends, and sends nothing more', async () => {
    const { paymentId, phone } = await completedPayment(1_000);
    await queueSimulatorFault('b2c', 'system_busy');
    const { id, originatorConversationId } = await acceptedRefund(paymentId, 600);
    // The busy answer puts it back in pending; its resend is due after the policy's backoff (seconds).
    await waitFor(
      async () => {
        const { rows } = await db().query('SELECT status, jsonb_array_length(error_logs) AS notes FROM payouts WHERE id = $1', [id]);
        return rows[0].status === 'pending' && rows[0].notes === 1;
      },
      { intervalMs: 50, message: `payout ${id} back in pending after "system busy"` },
    );
    const receipt = craftedReceipt();

    const res = await api(payoutResultPath(id), {
      method: 'POST',
      body: b2cPaidTo(phone, { originatorConversationId, amount: 600, receipt }),
    });

    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual({ ResultCode: 0, ResultDesc: 'Accepted' });
    expect(await payout(id)).toMatchObject({ status: 'completed', settledBy: 'result_callback', mpesaReceiptNumber: receipt });
    await sleep(QUIET_PERIOD_MS); // the resend falls due meanwhile: it must find the payout paid
    expect(await darajaCalls(id, 'B2C')).toHaveLength(1);
    expect(await b2cPaymentsTo(phone)).toEqual([]);
    expect(await paymentOf(paymentId)).toMatchObject({ status: 'partially_refunded', refundedAmount: 600 });
    expect(await actionsOf(id)).toEqual(['refund.requested', 'payout.completed']);
  });

  it('opens a receiver_mismatch review for a result paying another MSISDN, and completes the payout only when a person says so', async () => {
    const phone = B2C_PHONES.receiverMismatch;
    const { paymentId } = await completedPayment(1_000, phone);
    const before = await b2cPaymentsTo(phone);
    const { id } = await acceptedRefund(paymentId, 400);

    const opened = await reviewOpenedFor(id);
    expect(opened.body.data).toEqual({ reviewId: expect.any(String), entityType: 'payout', entityId: id, reason: 'receiver_mismatch' });
    const reviewId: string = opened.body.data.reviewId;
    // Past PAYOUT_RESULT_WAIT_MS the sweep calls it unknown; a payout in review is left to the person: no Transaction Status.
    const held = await waitForPayout(id, 'unknown');
    const [sent] = await newB2cPaymentsTo(phone, before);

    expect(held).toMatchObject({
      needsReview: true,
      reviewReason: 'receiver_mismatch',
      mpesaReceiptNumber: null,
      completedAt: null,
      statusChecks: 0,
    });
    expect(held.reviews).toEqual([expect.objectContaining({ id: reviewId, reason: 'receiver_mismatch', status: 'open' })]);
    expect(held.reviews[0].evidence).toMatchObject({ receipt: sent.receipt, source: 'result' });
    expect(await paymentOf(paymentId)).toMatchObject({ status: 'completed', refundedAmount: 0 });
    // It still counts against what the payment can refund.
    expect((await refund(paymentId, 601)).status).toBe(409);
    expect(hooks.received.filter((h) => h.body?.data?.payoutId === id)).toEqual([]);

    const resolved = await resolveReview(reviewId, 'complete', 'Statement shows the money reached the client');

    expect(resolved.status).toBe(200);
    expect(resolved.body.data).toMatchObject({ id: reviewId, status: 'resolved', resolution: 'complete' });
    expect(await payout(id)).toMatchObject({
      status: 'completed',
      settledBy: 'review',
      mpesaReceiptNumber: sent.receipt,
      needsReview: false,
    });
    const own = await hooks.waitFor((h) => h.body?.event === 'refund.completed' && h.body?.data?.payoutId === id);
    expect(own.body.data).toMatchObject({ status: 'completed', amount: 400, mpesaReceiptNumber: sent.receipt, paymentId });
    await hooks.waitFor((h) => h.body?.event === 'review.resolved' && h.body?.data?.reviewId === reviewId);
    expect(await paymentOf(paymentId)).toMatchObject({ status: 'partially_refunded', refundedAmount: 400 });
    expect(sent).toMatchObject({ amount: 400, paid: true });
  });
});

// ---- Idempotency-Key and retries ----

describe('Idempotency-Key on every money-moving POST', () => {
  /** The same key and body replay the first answer; the same key with another body is refused with 422. */
  async function expectReplayedOnly(send: (variant: 'same' | 'other') => Promise<ApiResponse>): Promise<Record<string, any>> {
    const first = await send('same');
    const again = await send('same');
    const other = await send('other');

    expect(first.status).toBe(202);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({ success: false, code: 'IDEMPOTENCY_KEY_REUSED' });
    return first.body.data;
  }

  it('POST /api/payments/:id/refund: replays the first refund (one payout, one B2C) and refuses the key with another body', async () => {
    const { paymentId, phone } = await completedPayment(1_000);
    const key = randomUUID();

    const created = await expectReplayedOnly((v) => refund(paymentId, v === 'same' ? 300 : 200, key));

    await waitForPayout(created.id, 'completed');
    const { rows } = await db().query('SELECT id FROM payouts WHERE payment_id = $1', [paymentId]);
    expect(rows.map((r) => r.id)).toEqual([created.id]);
    expect(await b2cPaymentsTo(phone)).toEqual([expect.objectContaining({ originatorConversationId: created.originatorConversationId })]);
  });

  it('POST /api/disbursements: replays the first disbursement (one payout, one B2C) and refuses the key with another body', async () => {
    const phone = uniquePhone();
    const key = randomUUID();

    const created = await expectReplayedOnly((v) => post('/api/disbursements', disbursementBody(phone, v === 'same' ? 800 : 900), key));

    await waitForPayout(created.id, 'completed');
    const { rows } = await db().query('SELECT id FROM payouts WHERE idempotency_key = $1', [key]);
    expect(rows.map((r) => r.id)).toEqual([created.id]);
    expect(await b2cPaymentsTo(phone)).toEqual([expect.objectContaining({ originatorConversationId: created.originatorConversationId })]);
  });

  it('POST /api/payments/:id/reversal: replays the first reversal (one Daraja request) and refuses the key with another body', async () => {
    const { paymentId } = await completedPayment(500);
    const key = randomUUID();

    const created = await expectReplayedOnly((v) => reverse(paymentId, key, v === 'same' ? 'Paid to the wrong paybill' : 'Duplicate'));

    await waitForPaymentState(paymentId, 'reversed');
    const { rows } = await db().query('SELECT id FROM reversals WHERE payment_id = $1', [paymentId]);
    expect(rows.map((r) => r.id)).toEqual([created.id]);
    expect(await darajaCalls(created.id, 'REVERSAL')).toHaveLength(1);
  });

  it('POST /api/payouts/:id/retry: replays the first retry (one new payout, one B2C) and refuses the key on another payout', async () => {
    const phone = B2C_PHONES.insufficientFunds;
    const [a, b] = await Promise.all([acceptedDisbursement(phone), acceptedDisbursement(phone)]);
    await Promise.all([waitForPayout(a.id, 'failed'), waitForPayout(b.id, 'failed')]);
    const before = await b2cPaymentsTo(phone);
    const key = randomUUID();

    const created = await expectReplayedOnly((v) => retry(v === 'same' ? a.id : b.id, key));

    expect(created).toMatchObject({ retryOf: a.id });
    await waitForPayout(created.id, 'failed');
    const { rows } = await db().query('SELECT id, retry_of FROM payouts WHERE retry_of = ANY($1)', [[a.id, b.id]]);
    expect(rows).toEqual([{ id: created.id, retry_of: a.id }]);
    expect(await newB2cPaymentsTo(phone, before)).toEqual([
      expect.objectContaining({ originatorConversationId: created.originatorConversationId }),
    ]);
  });

  it('answers 409 to a second request with the key while the first is still running, then replays the first', async () => {
    const { paymentId } = await completedPayment(500);
    // Daraja answers the reversal request 1.5 s late: the first POST is in flight that long.
    await queueSimulatorFault('reversal', 'delay', { delayMs: 1_500 });
    const key = randomUUID();

    const first = reverse(paymentId, key);
    await waitFor(async () => (await db().query('SELECT 1 FROM reversals WHERE payment_id = $1', [paymentId])).rows.length === 1, {
      intervalMs: 25,
      message: 'the first reversal to be stored',
    });
    const during = await reverse(paymentId, key);
    const answered = await first;
    const after = await reverse(paymentId, key);

    expect(during.status).toBe(409);
    expect(during.body).toMatchObject({ success: false, code: 'IDEMPOTENCY_KEY_IN_USE' });
    expect(answered.status).toBe(202);
    expect(after.status).toBe(202);
    expect(after.body).toEqual(answered.body);
    await waitForPaymentState(paymentId, 'reversed');
    expect(await darajaCalls(answered.body.data.id, 'REVERSAL')).toHaveLength(1);
  });
});

describe('POST /api/payouts/:id/retry', () => {
  it('retries a failed payout once: a second retry gets 409 naming the first, and only one new B2C request is made', async () => {
    const phone = B2C_PHONES.insufficientFunds;
    const original = await acceptedDisbursement(phone);
    await waitForPayout(original.id, 'failed');
    const before = await b2cPaymentsTo(phone);

    const both = await Promise.all([retry(original.id), retry(original.id)]);

    expect(both.map((r) => r.status).sort()).toEqual([202, 409]);
    const won = both.find((r) => r.status === 202) as ApiResponse;
    const lost = both.find((r) => r.status === 409) as ApiResponse;
    const first: string = won.body.data.id;
    expect(lost.body).toMatchObject({
      success: false,
      code: 'CONFLICT',
      message: expect.stringContaining(`already retried by payout ${first}`),
      details: { retriedBy: first },
    });
    await waitForPayout(first, 'failed');
    const third = await retry(original.id);
    expect(third.status).toBe(409);
    expect(third.body).toMatchObject({ details: { retriedBy: first, retryStatus: 'failed' } });
    const { rows } = await db().query('SELECT id FROM payouts WHERE retry_of = $1', [original.id]);
    expect(rows.map((r) => r.id)).toEqual([first]);
    expect(await newB2cPaymentsTo(phone, before)).toEqual([
      expect.objectContaining({ originatorConversationId: won.body.data.originatorConversationId }),
    ]);
  });
});

// ---- Reversal ----

describe('Transaction Reversal', () => {
  it.each([
    {
      fault: 'bad_request' as const,
      status: 502,
      code: 'MPESA_REJECTED',
      message: 'M-Pesa refused the reversal: Bad Request - Invalid RecieverIdentifierType',
    },
    {
      fault: 'system_busy' as const,
      status: 503,
      code: 'MPESA_UNAVAILABLE',
      message: 'M-Pesa did not take the reversal (System is busy. Please try again in few minutes.); nothing was reversed: try again later',
    },
  ])(
    'answers a synchronous refusal ($fault) with $status and a clean message, never success: true',
    async ({ fault, status, code, message }) => {
      const { paymentId } = await completedPayment(500);
      await queueSimulatorFault('reversal', fault);

      const res = await reverse(paymentId);

      expect(res.status).toBe(status);
      expect(res.body).toEqual({ success: false, code, message, details: expect.objectContaining({ status: 'failed' }) });
      const payment = await paymentOf(paymentId);
      expect(payment.status).toBe('completed');
      expect(payment.reversals).toEqual([expect.objectContaining({ id: res.body.details.reversalId, status: 'failed' })]);
      expect(payment.reversals[0].resultDesc).not.toMatch(/[<>]/);
      // Nothing was reversed: the payment can be refunded.
      expect((await refund(paymentId, 100)).status).toBe(202);
    },
  );

  it('fails a reversal M-Pesa refuses in its result (R000002), as Daraja reports business refusals: the payment stays refundable', async () => {
    // The simulator refuses the reversal of a KES 2,002 payment in the result (REVERSAL_REFUSED_AMOUNT), never synchronously.
    const { paymentId } = await completedPayment(2_002);

    const res = await reverse(paymentId);

    expect(res.status).toBe(202);
    const id: string = res.body.data.id;
    const failed = await hooks.waitFor((h) => h.body?.event === 'reversal.failed' && h.body?.data?.reversalId === id);
    expect(failed.body.data).toMatchObject({ paymentId, resultCode: 'R000002', resultDesc: 'The OriginalTransactionID is invalid.' });
    const payment = await paymentOf(paymentId);
    expect(payment.status).toBe('completed');
    expect(payment.reversals).toEqual([expect.objectContaining({ id, status: 'failed', resultCode: 'R000002' })]);
    expect((await refund(paymentId, 100)).status).toBe(202);
  });

  it.each(['internal_error_after_processing', 'html_after_processing'] as const)(
    'keeps a reversal answered by %s unknown (no HTML shown), and completes it by its result: the payment is reversed',
    async (fault) => {
      const { paymentId } = await completedPayment(500);
      await queueSimulatorFault('reversal', fault);

      const res = await reverse(paymentId);

      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ success: true, data: { status: 'unknown', paymentId } });
      expect(res.body.data.resultDesc).not.toMatch(/[<>]|html/i);
      const reversed = await waitForPaymentState(paymentId, 'reversed');
      expect(reversed.reversals).toEqual([expect.objectContaining({ id: res.body.data.id, status: 'completed', resultCode: '0' })]);
      expect(await darajaCalls(res.body.data.id, 'REVERSAL')).toHaveLength(1);
    },
  );

  it('resolves by Transaction Status, asking by its OriginatorConversationID, a reversal whose result never came: the payment is reversed', async () => {
    const { paymentId } = await completedPayment(500);
    await queueSimulatorFault('reversal', 'no_result');

    const res = await reverse(paymentId);

    expect(res.status).toBe(202);
    expect(res.body.data).toMatchObject({ status: 'submitted', originatorConversationId: expect.any(String) });
    const id: string = res.body.data.id;
    const reversed = await waitForPaymentState(paymentId, 'reversed');
    expect(reversed.reversals).toEqual([
      expect.objectContaining({ id, status: 'completed', resultDesc: expect.stringMatching(/Transaction Status/) }),
    ]);
    expect(await actionsOf(id)).toEqual(['reversal.requested', 'reversal.unknown', 'reversal.completed']);
    const { rows } = await db().query('SELECT * FROM transaction_status_queries WHERE reversal_id = $1', [id]);
    expect(rows).toEqual([
      expect.objectContaining({ queried_conversation_id: res.body.data.originatorConversationId, status: 'completed', result_code: '0' }),
    ]);
    expect(await darajaCalls(id, 'REVERSAL')).toHaveLength(1);
  });
});

// ---- Account Balance and Transaction Status ----

describe('Account Balance and Transaction Status: an answer that does not say whether M-Pesa took the request', () => {
  it('keeps a request answered by a 5xx or an HTML page after M-Pesa processed it pending, and takes its result when it comes', async () => {
    const { paymentId } = await completedPayment(650);
    const receipt: string = (await db().query('SELECT mpesa_receipt_number FROM payments WHERE id = $1', [paymentId])).rows[0]
      .mpesa_receipt_number;
    // Each fault is taken by the request made right after it: these are synchronous.
    await queueSimulatorFault('balance', 'internal_error_after_processing');
    const balance = await post('/api/mpesa/balance', undefined);
    await queueSimulatorFault('transactionstatus', 'html_after_processing');
    const status = await post('/api/mpesa/transaction-status', { transactionId: receipt });

    for (const requested of [balance, status]) {
      expect(requested.status).toBe(202);
      expect(requested.body.data).toMatchObject({ status: 'pending' });
      expect(requested.body.data.resultDesc ?? '').not.toMatch(/[<>]|html/i);
    }
    const [snapshot, answer] = await Promise.all(
      [`/api/mpesa/balance/${balance.body.data.id}`, `/api/mpesa/transaction-status/${status.body.data.id}`].map((path) =>
        waitFor(
          async () => {
            const res = await api(path, { token: admin.token });
            return res.body.data.status !== 'pending' && res.body.data;
          },
          { message: `${path} to end` },
        ),
      ),
    );
    expect(snapshot).toMatchObject({ status: 'completed', resultCode: '0' });
    expect(snapshot.accounts).toContainEqual(expect.objectContaining({ account: 'Utility Account' }));
    expect(answer).toMatchObject({ status: 'completed', resultCode: '0' });
    expect(answer.result.parameters).toMatchObject({ receiptno: receipt, transactionstatus: 'Completed', amount: '650' });
  });
});

// ---- Results that never come ----

describe('requests whose result never comes', () => {
  // Each needs RESULT_WAIT_MAX_MS or BALANCE_WAIT_MS to show, so all five are started here, one after the other (each
  // queued fault is taken by the request it was queued for), and run side by side; each `it` checks its own.
  let balanceSnapshot: Promise<{ id: string; requested: ApiResponse; expired: Record<string, any> }>;
  let statusQuery: Promise<{ id: string; requested: ApiResponse; expired: Record<string, any> }>;
  let waitingRefund: Promise<{ id: string; paymentId: string; waiting: Record<string, any>; paid: Record<string, any> }>;
  let unresolvedPayout: Promise<{ id: string; opened: Record<string, any> }>;
  let unresolvedReversal: Promise<{ paymentId: string; requested: ApiResponse; refused: ApiResponse; opened: Record<string, any> }>;

  beforeAll(async () => {
    const [forRefund, forReversal] = await Promise.all([completedPayment(1_000), completedPayment(500)]);

    // Account Balance and Transaction Status requests: no result will ever come for them.
    await queueSimulatorFault('balance', 'no_result');
    const balance = await post('/api/mpesa/balance', undefined);
    await queueSimulatorFault('transactionstatus', 'no_result');
    const status = await post('/api/mpesa/transaction-status', { transactionId: craftedReceipt() });
    balanceSnapshot = later(expires('balance', balance));
    statusQuery = later(expires('transaction-status', status));

    // A reversal whose request an HTML page answered before M-Pesa saw it: no id to ask Transaction Status by.
    await queueSimulatorFault('reversal', 'html_error');
    const reversal = await reverse(forReversal.paymentId);
    unresolvedReversal = later(
      (async () => {
        const refused = await refund(forReversal.paymentId, 100);
        const opened = await reviewOpenedFor(reversal.body.data.id, RESULT_WAIT_MAX_MS + 10_000);
        return { paymentId: forReversal.paymentId, requested: reversal, refused, opened: opened.body.data };
      })(),
    );

    // A payout that paid without telling, whose Transaction Status queries are never answered either.
    const unanswered = await acceptedDisbursement(B2C_PHONES.noResult, 530);
    await waitForPayout(unanswered.id, 'submitted', 10_000);
    await queueSimulatorFault('transactionstatus', 'no_result', { count: 3 });
    unresolvedPayout = later((async () => ({ id: unanswered.id, opened: (await reviewOpenedFor(unanswered.id, 25_000)).body.data }))());

    // A refund whose balance check gets no answer: the next balance request must be its own, not served by a fresh snapshot.
    await waitFor(
      async () => {
        const { rows } = await db().query(
          `SELECT count(*)::int AS n FROM balance_snapshots WHERE status = 'completed' AND completed_at > now() - $1 * interval '1 millisecond'`,
          [BALANCE_FRESHNESS_MS + 100],
        );
        return rows[0].n === 0;
      },
      { message: 'no balance snapshot to be fresh' },
    );
    await queueSimulatorFault('balance', 'no_result');
    const { id: refundId } = await acceptedRefund(forRefund.paymentId, 700);
    waitingRefund = later(
      (async () => {
        const waiting = await waitFor(
          async () => {
            const p = await payout(refundId);
            return p.waitingFor === 'balance' && p;
          },
          { timeoutMs: BALANCE_WAIT_MS + 5_000, message: `refund ${refundId} to wait for the balance` },
        );
        return { id: refundId, paymentId: forRefund.paymentId, waiting, paid: await waitForPayout(refundId, 'completed', 20_000) };
      })(),
    );
  });

  async function expires(path: 'balance' | 'transaction-status', requested: ApiResponse) {
    const id: string = requested.body.data.id;
    const expired = await waitFor(
      async () => {
        const res = await api(`/api/mpesa/${path}/${id}`, { token: admin.token });
        return res.body.data.status !== 'pending' && res.body.data;
      },
      { timeoutMs: RESULT_WAIT_MAX_MS + 10_000, message: `${path} ${id} to end` },
    );
    return { id, requested, expired };
  }

  it('ends an Account Balance request without a result expired after RESULT_WAIT_MAX_MS, visible in its GET', async () => {
    const { requested, expired } = await balanceSnapshot;

    expect(requested.status).toBe(202);
    expect(requested.body.data).toMatchObject({ status: 'pending' });
    expect(expired).toMatchObject({
      status: 'expired',
      accounts: null,
      resultDesc: expect.stringMatching(/No result from M-Pesa within 8 s/),
    });
    expect(Date.parse(expired.completedAt) - Date.parse(expired.requestedAt)).toBeGreaterThanOrEqual(RESULT_WAIT_MAX_MS);
  });

  it('ends a Transaction Status request without a result expired after RESULT_WAIT_MAX_MS, visible in its GET', async () => {
    const { requested, expired } = await statusQuery;

    expect(requested.status).toBe(202);
    expect(requested.body.data).toMatchObject({ status: 'pending' });
    expect(expired).toMatchObject({ status: 'expired', resultCode: null, resultDesc: expect.stringMatching(/No result from M-Pesa/) });
    expect(Date.parse(expired.completedAt) - Date.parse(expired.requestedAt)).toBeGreaterThanOrEqual(RESULT_WAIT_MAX_MS);
  });

  it('keeps a refund whose balance check got no answer waiting (waitingFor: "balance"), asks again later, and pays it once answered', async () => {
    const { id, paymentId, waiting, paid } = await waitingRefund;

    expect(waiting).toMatchObject({ status: 'pending', waitingFor: 'balance', settledBy: null });
    expect(paid).toMatchObject({ waitingFor: null, settledBy: 'result_callback' });
    const { rows } = await db().query(
      `SELECT l.created_at FROM transaction_logs l JOIN payouts p ON p.request_id = l.request_id
        WHERE p.id = $1 AND l.transaction_type = 'ACCOUNT_BALANCE' ORDER BY l.id`,
      [id],
    );
    expect(rows).toHaveLength(2);
    // The second was asked after BALANCE_WAIT_MS without an answer and BALANCE_RETRY_INTERVAL_MS of waiting.
    expect(rows[1].created_at.getTime() - rows[0].created_at.getTime()).toBeGreaterThanOrEqual(
      BALANCE_WAIT_MS + BALANCE_RETRY_INTERVAL_MS - 1_000,
    );
    expect(await darajaCalls(id, 'B2C')).toHaveLength(1);
    expect(await paymentOf(paymentId)).toMatchObject({ status: 'partially_refunded', refundedAmount: 700 });
  });

  it('hands a payout to a person (payout_unresolved) after PAYOUT_MAX_STATUS_CHECKS Transaction Status queries without an answer', async () => {
    const { id, opened } = await unresolvedPayout;

    expect(opened).toEqual({ reviewId: expect.any(String), entityType: 'payout', entityId: id, reason: 'payout_unresolved' });
    const held = await payout(id);
    expect(held).toMatchObject({ status: 'unknown', needsReview: true, reviewReason: 'payout_unresolved', statusChecks: 3 });
    expect(held.reviews).toEqual([expect.objectContaining({ id: opened.reviewId, status: 'open' })]);
    expect(await darajaCalls(id, 'TRANSACTION_STATUS')).toHaveLength(3);
    expect(await darajaCalls(id, 'B2C')).toHaveLength(1);
  });

  it('keeps a reversal whose answer was an HTML page unknown, refuses refunds meanwhile saying why, then hands it to a person', async () => {
    const { paymentId, requested, refused, opened } = await unresolvedReversal;
    const id: string = requested.body.data.id;

    expect(requested.status).toBe(202);
    expect(requested.body).toMatchObject({ success: true, data: { status: 'unknown', originatorConversationId: null } });
    expect(requested.body.data.resultDesc).not.toMatch(/[<>]|html/i);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ success: false, code: 'CONFLICT', details: { reversalId: id, reversalStatus: 'unknown' } });
    expect(refused.body.message).toMatch(/reversal .*not known yet/);
    expect(opened).toEqual({ reviewId: expect.any(String), entityType: 'reversal', entityId: id, reason: 'reversal_unresolved' });
    expect(await darajaCalls(id, 'REVERSAL')).toHaveLength(1);

    // The statement shows nothing was reversed: the person fails it, and the payment can be refunded again.
    const resolved = await resolveReview(opened.reviewId, 'fail', 'Not on the statement: never reached M-Pesa');
    expect(resolved.status).toBe(200);
    const payment = await paymentOf(paymentId);
    expect(payment).toMatchObject({ status: 'completed' });
    expect(payment.reversals).toEqual([expect.objectContaining({ id, status: 'failed' })]);
    expect((await refund(paymentId, 100)).status).toBe(202);
  });
});

// ---- Transaction Status "not found" right after a send ----

describe('Transaction Status "not found" for a young payout', () => {
  it('is not "not paid" before PAYOUT_NOT_FOUND_MIN_AGE_MS: a payout found only on the third query ends completed, not failed', async () => {
    // The own app (PAYOUT_NOT_FOUND_MIN_AGE_MS 60 s, PAYOUT_MAX_STATUS_CHECKS 5), started at the top of this file.
    const { paid, sent, answers } = await notFoundThenPaid;

    expect(answers).toEqual(['2033', '2033', '0']);
    expect(sent).toEqual([expect.objectContaining({ paid: true, amount: 700 })]);
    expect(paid).toMatchObject({
      status: 'completed',
      settledBy: 'transaction_status',
      statusChecks: 3,
      mpesaReceiptNumber: sent[0].receipt,
      failedAt: null,
      needsReview: false,
    });
  });
});
