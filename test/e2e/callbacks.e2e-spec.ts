// Daraja's STK callbacks as they really arrive: repeated, late, ahead of the push's own answer, forged,
// malformed or with the wrong amount. Spec scenarios "callback URL failures" and "duplicate transaction prevention".
import { randomInt } from 'node:crypto';
import { darajaTimestamp } from '../../src/mpesa/daraja-time';
import { api, ApiResponse, db, sim, uniquePhone, waitFor } from '../support/app';
import {
  auditEventsFor,
  newClient,
  paymentRow,
  paymentStatus,
  pushStk,
  reviewsOf,
  SCENARIO_PHONES,
  simulatedPushesTo,
  sleep,
  stkPushBody,
  transactionLogsFor,
  waitForPaymentStatus,
  SimulatedTransaction,
  stkSuccessCallback,
} from '../support/factories';

const client = newClient();
const ACCEPTED = { ResultCode: 0, ResultDesc: 'Accepted' };
const TERMINAL_ACTIONS = ['payment.completed', 'payment.failed', 'payment.cancelled', 'payment.timeout'];

async function startPayment(phoneNumber: string, amount = 100): Promise<string> {
  const res = await pushStk(client.token, stkPushBody({ phoneNumber, amount }));
  expect(res.status).toBe(201);
  return res.body.data.paymentId;
}

/** The simulator's record of the latest push to `phone`, receipt included. */
async function simulatedTransactionFor(phone: string): Promise<SimulatedTransaction> {
  const pushes = await simulatedPushesTo(phone);
  const latest = pushes[pushes.length - 1];
  const res = await sim<SimulatedTransaction>(`/stk/${encodeURIComponent(latest.checkoutRequestId)}`);
  expect(res.status).toBe(200);
  return res.body;
}

/** An M-Pesa-looking receipt (10 upper-case letters and digits) for callbacks the simulator never sent. */
function newReceipt(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return `T${Array.from({ length: 9 }, () => chars[randomInt(chars.length)]).join('')}`;
}

/** POSTs to the callback URL the app gave Daraja, with its query parameters changed as asked (`null` removes one). */
function postCallback(callbackUrl: string, body: unknown, query: Record<string, string | null | undefined> = {}): Promise<ApiResponse> {
  const url = new URL(callbackUrl);
  for (const [name, value] of Object.entries(query)) {
    if (value === null) url.searchParams.delete(name);
    else if (value !== undefined) url.searchParams.set(name, value);
  }
  return api(`${url.pathname}${url.search}`, { method: 'POST', body });
}

async function stateChangesOf(paymentId: string): Promise<string[]> {
  return (await auditEventsFor(paymentId)).map((e) => e.action).filter((a) => TERMINAL_ACTIONS.includes(a));
}

/** What a forged or broken callback must not touch. */
function stateOf(row: Record<string, any> | undefined) {
  return {
    status: row?.status,
    reviewReason: row?.review_reason,
    receipt: row?.mpesa_receipt_number,
    callbackReceived: row?.callback_received,
    version: row?.version,
  };
}

afterEach(async () => {
  // Nothing left in flight; a payment flagged for review stays pending on purpose (a person settles it).
  await waitFor(
    async () => {
      const { rows } = await db().query(
        `SELECT count(*)::int AS n FROM payments WHERE client_id = $1 AND status = 'pending' AND review_reason IS NULL`,
        [client.id],
      );
      return rows[0].n === 0;
    },
    { timeoutMs: 25_000, message: "this file's payments to settle" },
  );
});

describe('callbacks the simulator sends', () => {
  it('applies a callback delivered three times only once', async () => {
    const paymentId = await startPayment(SCENARIO_PHONES.duplicateCallbacks);

    const deliveries = await waitFor(
      async () => {
        const rows = await transactionLogsFor(paymentId, 'STK_CALLBACK');
        return rows.length === 3 ? rows : undefined;
      },
      { message: 'three STK callbacks to be logged' },
    );

    expect(deliveries.map((d) => d.outcome).sort()).toEqual(['applied', 'duplicate', 'duplicate']);
    expect(deliveries.map((d) => d.status_code)).toEqual([200, 200, 200]);
    expect(await stateChangesOf(paymentId)).toEqual(['payment.completed']);
    const row = await paymentRow(paymentId);
    expect(row).toMatchObject({ status: 'completed', settled_by: 'callback' });
    expect(row?.mpesa_receipt_number).toMatch(/^[A-Z0-9]{10}$/);
  });

  it('completes a payment whose callback comes late, exactly once', async () => {
    const paymentId = await startPayment(SCENARIO_PHONES.lateCallback);

    await waitForPaymentStatus(paymentId, 'completed');
    // The callback comes after SIMULATOR_LATE_CALLBACK_MS whether or not the status query got there first.
    await waitFor(async () => (await transactionLogsFor(paymentId, 'STK_CALLBACK')).length === 1, {
      message: 'the late callback to be logged',
    });
    await sleep(1_000);

    expect(await stateChangesOf(paymentId)).toEqual(['payment.completed']);
    const [callback] = await transactionLogsFor(paymentId, 'STK_CALLBACK');
    expect(callback.status_code).toBe(200);
  });

  it('completes a payment whose callback arrives before the push is acknowledged, and keeps its CheckoutRequestID', async () => {
    const res = await pushStk(client.token, stkPushBody({ phoneNumber: SCENARIO_PHONES.callbackBeforeResponse }));
    expect(res.status).toBe(201);
    const { paymentId, checkoutRequestID } = res.body.data;

    const row = await waitForPaymentStatus(paymentId, 'completed');

    expect(row).toMatchObject({ checkout_request_id: checkoutRequestID, stk_push_status: 'accepted', settled_by: 'callback' });
    expect(row.mpesa_receipt_number).toMatch(/^[A-Z0-9]{10}$/);
    expect(await stateChangesOf(paymentId)).toEqual(['payment.completed']);
  });
});

describe('callbacks crafted by hand', () => {
  // With the simulator's own callbacks off, the payment stays pending (the status sweep waits
  // STATUS_QUERY_MIN_AGE_MS = 1.5 s before asking), so each test has a pending payment to aim at.
  beforeEach(async () => {
    expect((await sim('/callbacks', { method: 'POST', body: { enabled: false } })).status).toBe(200);
  });

  afterEach(async () => {
    await sim('/callbacks', { method: 'POST', body: { enabled: true } });
  });

  /** A pending payment to a fresh phone, and what Daraja knows about it. */
  async function pendingPayment(amount = 100): Promise<{ paymentId: string; phone: string; daraja: SimulatedTransaction }> {
    const phone = uniquePhone();
    const paymentId = await startPayment(phone, amount);
    return { paymentId, phone, daraja: await simulatedTransactionFor(phone) };
  }

  /** Ends a test's payment the genuine way, so nothing is left pending. */
  async function settleGenuinely(daraja: SimulatedTransaction): Promise<void> {
    const res = await postCallback(daraja.callbackUrl, stkSuccessCallback(daraja));
    expect(res.status).toBe(200);
  }

  it('answers a genuine callback with exactly {"ResultCode":0,"ResultDesc":"Accepted"} and completes the payment', async () => {
    const { paymentId, daraja } = await pendingPayment();

    const res = await postCallback(daraja.callbackUrl, stkSuccessCallback(daraja));

    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual(ACCEPTED);
    expect(JSON.parse(res.text)).toStrictEqual(ACCEPTED);
    const row = await paymentRow(paymentId);
    expect(row).toMatchObject({ status: 'completed', mpesa_receipt_number: daraja.receipt, settled_by: 'callback' });
  });

  it.each([
    { forgery: 'has no token', query: { token: null } },
    { forgery: 'has a wrong token', query: { token: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } },
    { forgery: 'has no payment id', query: { pid: null } },
  ])('rejects with 403 a callback whose URL $forgery, and changes nothing', async ({ query }) => {
    const { paymentId, daraja } = await pendingPayment();
    const before = stateOf(await paymentRow(paymentId));

    const res = await postCallback(daraja.callbackUrl, stkSuccessCallback(daraja), query);

    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ success: false, code: 'CALLBACK_REJECTED' });
    expect(stateOf(await paymentRow(paymentId))).toEqual(before);
    expect(before.status).toBe('pending');
    await settleGenuinely(daraja);
  });

  it("rejects with 403 a callback carrying another payment's token, and changes neither payment", async () => {
    const target = await pendingPayment();
    const other = await pendingPayment();
    const otherToken = new URL(other.daraja.callbackUrl).searchParams.get('token');
    const before = [stateOf(await paymentRow(target.paymentId)), stateOf(await paymentRow(other.paymentId))];

    const res = await postCallback(target.daraja.callbackUrl, stkSuccessCallback(target.daraja), { token: otherToken });

    expect(res.status).toBe(403);
    expect([stateOf(await paymentRow(target.paymentId)), stateOf(await paymentRow(other.paymentId))]).toEqual(before);
    await settleGenuinely(target.daraja);
    await settleGenuinely(other.daraja);
  });

  it('audits a forged callback as callback.rejected', async () => {
    const { paymentId, daraja } = await pendingPayment();

    await postCallback(daraja.callbackUrl, stkSuccessCallback(daraja), { token: 'forged' });

    const rejected = await auditEventsFor(paymentId, 'callback.rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ actor_type: 'daraja', metadata: { reason: 'missing or invalid callback token', callback: 'stk' } });
    expect(await stateChangesOf(paymentId)).toEqual([]);
    await settleGenuinely(daraja);
  });

  it('rejects with 400 a malformed callback that carries a valid token, and changes nothing', async () => {
    const { paymentId, daraja } = await pendingPayment();
    const before = stateOf(await paymentRow(paymentId));

    const res = await postCallback(daraja.callbackUrl, {
      Body: { stkCallback: { MerchantRequestID: daraja.merchantRequestId, ResultCode: 0 } },
    });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      success: false,
      code: 'VALIDATION_ERROR',
      message: 'Invalid STK callback: CheckoutRequestID is missing or malformed',
    });
    expect(stateOf(await paymentRow(paymentId))).toEqual(before);
    const [logged] = await transactionLogsFor(paymentId, 'STK_CALLBACK');
    expect(logged).toMatchObject({ status_code: 400, outcome: 'rejected_malformed' });
    await settleGenuinely(daraja);
  });

  it('flags for review, and does not complete, a success callback whose amount differs from the payment', async () => {
    const { paymentId, daraja } = await pendingPayment(100);

    const res = await postCallback(daraja.callbackUrl, stkSuccessCallback(daraja, { amount: 1 }));

    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual(ACCEPTED);
    const row = await paymentRow(paymentId);
    expect(row).toMatchObject({ status: 'pending', review_reason: 'amount_mismatch', mpesa_receipt_number: null });
    const reviews = await reviewsOf(paymentId);
    expect(reviews).toEqual([
      expect.objectContaining({
        reason: 'amount_mismatch',
        status: 'open',
        evidence: expect.objectContaining({ receipt: daraja.receipt, amount: 1 }),
      }),
    ]);
    expect((await auditEventsFor(paymentId)).map((e) => e.action)).toEqual(['payment.initiated', 'review.opened']);
  });

  it('leaves a flagged payment alone afterwards: the status sweep does not complete it', async () => {
    const { paymentId, daraja } = await pendingPayment(100);
    await postCallback(daraja.callbackUrl, stkSuccessCallback(daraja, { amount: 1 }));

    await sleep(3_000); // past STATUS_QUERY_MIN_AGE_MS plus a sweep: an unflagged payment would be completed by now

    expect(await paymentRow(paymentId)).toMatchObject({ status: 'pending', review_reason: 'amount_mismatch' });
    expect(await stateChangesOf(paymentId)).toEqual([]);
  });

  it('does not let a later callback complete a flagged payment: its success joins the review queue', async () => {
    const { paymentId, daraja } = await pendingPayment(100);
    await postCallback(daraja.callbackUrl, stkSuccessCallback(daraja, { amount: 1 }));
    const second = { ...daraja, receipt: newReceipt() };

    const res = await postCallback(daraja.callbackUrl, stkSuccessCallback(second));

    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual(ACCEPTED);
    expect(await paymentRow(paymentId)).toMatchObject({ status: 'pending', review_reason: 'amount_mismatch', mpesa_receipt_number: null });
    expect((await reviewsOf(paymentId)).map((r) => [r.reason, r.evidence.receipt])).toEqual([
      ['amount_mismatch', daraja.receipt],
      ['contradicting_result', second.receipt],
    ]);
    expect(await stateChangesOf(paymentId)).toEqual([]);
  });

  it('keeps the receipt of a callback that arrives after the status query completed the payment', async () => {
    const { paymentId, daraja } = await pendingPayment();
    // Daraja's STK Query answer carries no receipt: only the callback does.
    await waitForPaymentStatus(paymentId, 'completed');

    const res = await postCallback(daraja.callbackUrl, stkSuccessCallback(daraja));

    expect(res.status).toBe(200);
    expect((await paymentStatus(client.token, paymentId)).body.data).toMatchObject({
      status: 'completed',
      mpesaReceiptNumber: daraja.receipt,
    });
    expect(await stateChangesOf(paymentId)).toEqual(['payment.completed']);
  });

  it('flags for review, and leaves timed out, a payment whose success callback arrives after M-Pesa said it timed out', async () => {
    const paymentId = await startPayment(SCENARIO_PHONES.noAnswer);
    const daraja = await simulatedTransactionFor(SCENARIO_PHONES.noAnswer);
    await waitForPaymentStatus(paymentId, 'timeout');
    const receipt = newReceipt();

    const res = await postCallback(daraja.callbackUrl, stkSuccessCallback({ ...daraja, receipt, transactionDate: darajaTimestamp() }));

    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual(ACCEPTED);
    expect(await paymentRow(paymentId)).toMatchObject({
      status: 'timeout',
      review_reason: 'contradicting_result',
      mpesa_receipt_number: null,
    });
    expect(await reviewsOf(paymentId)).toEqual([
      expect.objectContaining({ reason: 'contradicting_result', status: 'open', evidence: expect.objectContaining({ receipt }) }),
    ]);
    expect(await auditEventsFor(paymentId, 'review.opened')).toHaveLength(1);
    expect(await stateChangesOf(paymentId)).toEqual(['payment.timeout']);
  });

  it('acknowledges a genuine callback replayed after completion, and changes nothing', async () => {
    const { paymentId, daraja } = await pendingPayment();
    await settleGenuinely(daraja);
    const before = await paymentRow(paymentId);

    const res = await postCallback(daraja.callbackUrl, stkSuccessCallback(daraja));

    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual(ACCEPTED);
    expect(await paymentRow(paymentId)).toEqual(before);
    expect(await stateChangesOf(paymentId)).toEqual(['payment.completed']);
    expect((await transactionLogsFor(paymentId, 'STK_CALLBACK')).map((l) => l.outcome)).toEqual(['applied', 'duplicate']);
  });
});
