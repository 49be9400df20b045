// Payouts whose outcome M-Pesa does not tell us plainly: a queue timeout, a result that never comes. The payout
// waits in `unknown` until Transaction Status says whether money left, and nothing is ever sent a second time on
// a guess. Also the ResultURL / QueueTimeOutURL themselves: what they carry and who may post to them.
import { randomUUID } from 'node:crypto';
import { b2cQueueTimeout, b2cSuccessResult } from '../fixtures/daraja';
import { api, ApiResponse, db, sim, uniquePhone, waitFor } from '../support/app';
import {
  auditEventsFor,
  newAdmin,
  newClient,
  paymentStatus,
  pushStk,
  sleep,
  stkPushBody,
  transactionLogsFor,
  waitForPaymentStatus,
  waitUntilSettled,
} from '../support/factories';

const admin = newAdmin();
const customer = newClient();
/** Tags this file's disbursements, so that afterEach can wait for exactly them. */
const CLIENT_TAG = `payout-timeouts-${randomUUID()}`;
/** PAYOUT_RESULT_WAIT_MS in test-env.ts: how long a submitted payout waits for its result before it is unknown. */
const RESULT_WAIT_MS = 3_000;
/** Long enough for another sweep and another status check: had anything been resent, the simulator would show it. */
const QUIET_PERIOD_MS = 2_500;

/** The simulator's B2C scenario numbers (src/mpesa/simulator/simulator-scenarios.ts). */
const B2C_PHONES = {
  queueTimeoutNotPaid: '254700000010',
  queueTimeoutPaid: '254700000011',
  noResult: '254700000012',
} as const;

interface SimulatedB2c {
  originatorConversationId: string;
  conversationId: string;
  amount: number;
  outcome: string;
  paid: boolean;
  receipt: string | null;
  resultUrl: string;
  queueTimeoutUrl: string;
}

function disburse(phoneNumber: string, amount = 500, token = admin.token): Promise<ApiResponse> {
  return api('/api/disbursements', {
    method: 'POST',
    token,
    body: { phoneNumber, amount, commandId: 'BusinessPayment', remarks: 'Compensation for delayed hearing', clientId: CLIENT_TAG },
  });
}

async function acceptedDisbursement(phoneNumber: string, amount = 500): Promise<Record<string, any>> {
  const res = await disburse(phoneNumber, amount);
  expect(res.status).toBe(202);
  return res.body.data;
}

async function payout(id: string): Promise<Record<string, any>> {
  const res = await api(`/api/payouts/${id}`, { token: admin.token });
  expect(res.status).toBe(200);
  return res.body.data;
}

function waitForPayout(id: string, status: string, timeoutMs = 25_000): Promise<Record<string, any>> {
  return waitFor(
    async () => {
      const p = await payout(id);
      return p.status === status ? p : undefined;
    },
    { timeoutMs, message: `payout ${id} to be ${status}` },
  );
}

function retry(payoutId: string, token = admin.token): Promise<ApiResponse> {
  return api(`/api/payouts/${payoutId}/retry`, { method: 'POST', token });
}

async function b2cPaymentsTo(phone: string): Promise<SimulatedB2c[]> {
  const res = await sim<{ items: SimulatedB2c[] }>('/b2c', { query: { phone } });
  expect(res.status).toBe(200);
  return res.body.items;
}

/** The B2C payouts the simulator received for `phone` since `before` was read: scenario numbers are shared. */
async function newB2cPaymentsTo(phone: string, before: SimulatedB2c[]): Promise<SimulatedB2c[]> {
  const seen = new Set(before.map((p) => p.originatorConversationId));
  return (await b2cPaymentsTo(phone)).filter((p) => !seen.has(p.originatorConversationId));
}

async function simulatedPayout(phone: string, originatorConversationId: string): Promise<SimulatedB2c> {
  const found = (await b2cPaymentsTo(phone)).find((p) => p.originatorConversationId === originatorConversationId);
  expect(found).toBeDefined();
  return found as SimulatedB2c;
}

async function actionsOf(payoutId: string): Promise<string[]> {
  return (await auditEventsFor(payoutId)).map((e) => e.action);
}

/** A completed STK payment from `phone`: the scenario numbers of B2C are ordinary success numbers for STK. */
async function completedPayment(phone: string, amount = 1_000): Promise<string> {
  const res = await pushStk(customer.token, stkPushBody({ phoneNumber: phone, amount }));
  expect(res.status).toBe(201);
  await waitForPaymentStatus(res.body.data.paymentId, 'completed');
  return res.body.data.paymentId;
}

async function acceptedRefund(paymentId: string, amount: number): Promise<Record<string, any>> {
  const res = await api(`/api/payments/${paymentId}/refund`, {
    method: 'POST',
    token: admin.token,
    body: { amount, reason: 'Hearing adjourned' },
  });
  expect(res.status).toBe(202);
  return res.body.data;
}

/** POSTs to a URL the app gave Daraja, with query parameters replaced as asked. */
function postTo(darajaUrl: string, body: unknown, query: Record<string, string> = {}, pathname?: string): Promise<ApiResponse> {
  const url = new URL(darajaUrl);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return api(`${pathname ?? url.pathname}${url.search}`, { method: 'POST', body });
}

/** What a forged callback must not touch. */
function stateOf(p: Record<string, any>) {
  return {
    status: p.status,
    mpesaReceiptNumber: p.mpesaReceiptNumber,
    resultCode: p.resultCode,
    settledBy: p.settledBy,
    needsReview: p.needsReview,
  };
}

afterEach(async () => {
  await waitUntilSettled([customer.id]);
  await waitFor(
    async () => {
      const { rows } = await db().query(
        `SELECT count(*)::int AS n FROM payouts WHERE client_id = ANY($1) AND status NOT IN ('completed', 'failed') AND review_reason IS NULL`,
        [[CLIENT_TAG, customer.id]],
      );
      return rows[0].n === 0;
    },
    { timeoutMs: 25_000, message: "this file's payouts to settle" },
  );
});

describe('a disbursement whose outcome M-Pesa does not say', () => {
  it('fails, through Transaction Status, a payout that timed out in the queue unpaid, and resends nothing', async () => {
    const phone = B2C_PHONES.queueTimeoutNotPaid;
    const before = await b2cPaymentsTo(phone);
    const { id, originatorConversationId } = await acceptedDisbursement(phone);

    const failed = await waitForPayout(id, 'failed');
    await sleep(QUIET_PERIOD_MS);

    expect(failed).toMatchObject({
      settledBy: 'transaction_status',
      resultCode: '2033',
      resultDesc: expect.stringMatching(/Not processed/),
    });
    expect(failed.statusChecks).toBeGreaterThanOrEqual(1);
    expect(await actionsOf(id)).toEqual(['disbursement.requested', 'payout.unknown', 'payout.failed']);
    expect(await newB2cPaymentsTo(phone, before)).toEqual([expect.objectContaining({ originatorConversationId, paid: false })]);
    expect((await payout(id)).status).toBe('failed');
  });

  it('completes, through Transaction Status and with its receipt, a payout that timed out in the queue but paid', async () => {
    const phone = B2C_PHONES.queueTimeoutPaid;
    const before = await b2cPaymentsTo(phone);
    const { id, originatorConversationId } = await acceptedDisbursement(phone);

    const done = await waitForPayout(id, 'completed');
    await sleep(QUIET_PERIOD_MS);

    const sent = await newB2cPaymentsTo(phone, before);
    expect(sent).toEqual([expect.objectContaining({ originatorConversationId, paid: true })]);
    expect(done).toMatchObject({ settledBy: 'transaction_status', mpesaReceiptNumber: sent[0].receipt });
    expect(done.mpesaReceiptNumber).toMatch(/^[A-Z0-9]{10}$/);
    expect(await actionsOf(id)).toEqual(['disbursement.requested', 'payout.unknown', 'payout.completed']);
  });

  it('waits PAYOUT_RESULT_WAIT_MS for a result that never comes, then completes the payout through Transaction Status', async () => {
    const phone = B2C_PHONES.noResult;
    const before = await b2cPaymentsTo(phone);
    const { id, originatorConversationId } = await acceptedDisbursement(phone);

    const done = await waitForPayout(id, 'completed');
    await sleep(QUIET_PERIOD_MS);

    const sent = await newB2cPaymentsTo(phone, before);
    expect(sent).toEqual([expect.objectContaining({ originatorConversationId, paid: true })]);
    expect(done).toMatchObject({ settledBy: 'transaction_status', mpesaReceiptNumber: sent[0].receipt });
    expect(Date.parse(done.completedAt) - Date.parse(done.submittedAt)).toBeGreaterThanOrEqual(RESULT_WAIT_MS);
    const unknown = await auditEventsFor(id, 'payout.unknown');
    expect(unknown).toHaveLength(1);
    expect(unknown[0].metadata).toMatchObject({ note: 'No result from M-Pesa in time' });
  });

  it('asks Transaction Status by our OriginatorConversationID and stores its answer', async () => {
    const { id, originatorConversationId } = await acceptedDisbursement(B2C_PHONES.queueTimeoutPaid);
    await waitForPayout(id, 'completed');

    const { rows } = await db().query('SELECT * FROM transaction_status_queries WHERE payout_id = $1 ORDER BY created_at', [id]);

    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows[0]).toMatchObject({ queried_conversation_id: originatorConversationId, status: 'completed', result_code: '0' });
  });
});

describe('a refund whose outcome M-Pesa does not say', () => {
  it('completes, through Transaction Status, a refund that timed out in the queue but paid, and moves the payment to partially_refunded', async () => {
    const phone = B2C_PHONES.queueTimeoutPaid;
    const paymentId = await completedPayment(phone, 1_000);
    const before = await b2cPaymentsTo(phone);
    const { id, originatorConversationId } = await acceptedRefund(paymentId, 400);

    const done = await waitForPayout(id, 'completed');
    await sleep(QUIET_PERIOD_MS);

    const sent = await newB2cPaymentsTo(phone, before);
    expect(sent).toEqual([expect.objectContaining({ originatorConversationId, amount: 400, paid: true })]);
    expect(done).toMatchObject({ settledBy: 'transaction_status', mpesaReceiptNumber: sent[0].receipt });
    const status = (await paymentStatus(admin.token, paymentId)).body.data;
    expect(status).toMatchObject({ status: 'partially_refunded', refundedAmount: 400 });
    expect(status.refunds).toEqual([expect.objectContaining({ id, status: 'completed', mpesaReceiptNumber: sent[0].receipt })]);
  });

  it('fails a refund that timed out in the queue unpaid, leaves the payment completed, and resends nothing', async () => {
    const phone = B2C_PHONES.queueTimeoutNotPaid;
    const paymentId = await completedPayment(phone, 1_000);
    const before = await b2cPaymentsTo(phone);
    const { id, originatorConversationId } = await acceptedRefund(paymentId, 400);

    const failed = await waitForPayout(id, 'failed');
    await sleep(QUIET_PERIOD_MS);

    expect(failed).toMatchObject({ settledBy: 'transaction_status' });
    expect(await newB2cPaymentsTo(phone, before)).toEqual([expect.objectContaining({ originatorConversationId, paid: false })]);
    expect((await paymentStatus(admin.token, paymentId)).body.data).toMatchObject({ status: 'completed', refundedAmount: 0 });
  });

  it('completes a refund whose result never came, through Transaction Status, once', async () => {
    const phone = B2C_PHONES.noResult;
    const paymentId = await completedPayment(phone, 1_000);
    const before = await b2cPaymentsTo(phone);
    const { id } = await acceptedRefund(paymentId, 1_000);

    const done = await waitForPayout(id, 'completed');
    await sleep(QUIET_PERIOD_MS);

    expect((await newB2cPaymentsTo(phone, before)).filter((p) => p.paid)).toHaveLength(1);
    expect(done.settledBy).toBe('transaction_status');
    expect((await paymentStatus(admin.token, paymentId)).body.data).toMatchObject({ status: 'refunded', refundedAmount: 1_000 });
  });
});

describe('POST /api/payouts/:id/retry', () => {
  it('sends a failed disbursement again as a new payout with a new OriginatorConversationID', async () => {
    const phone = B2C_PHONES.queueTimeoutNotPaid;
    const original = await acceptedDisbursement(phone);
    await waitForPayout(original.id, 'failed');
    const before = await b2cPaymentsTo(phone);

    const res = await retry(original.id);

    expect(res.status).toBe(202);
    expect(res.body.data).toMatchObject({ kind: 'disbursement', retryOf: original.id, amount: original.amount, status: 'pending' });
    expect(res.body.data.id).not.toBe(original.id);
    expect(res.body.data.originatorConversationId).not.toBe(original.originatorConversationId);
    await waitForPayout(res.body.data.id, 'failed');
    expect(await newB2cPaymentsTo(phone, before)).toEqual([
      expect.objectContaining({ originatorConversationId: res.body.data.originatorConversationId, paid: false }),
    ]);
    expect((await payout(original.id)).status).toBe('failed');
  });

  it('sends a failed refund again as a new refund of the same payment', async () => {
    const phone = B2C_PHONES.queueTimeoutNotPaid;
    const paymentId = await completedPayment(phone, 1_000);
    const original = await acceptedRefund(paymentId, 300);
    await waitForPayout(original.id, 'failed');

    const res = await retry(original.id);

    expect(res.status).toBe(202);
    expect(res.body.data).toMatchObject({ kind: 'refund', paymentId, retryOf: original.id, amount: 300 });
    expect(res.body.data.originatorConversationId).not.toBe(original.originatorConversationId);
    await waitForPayout(res.body.data.id, 'failed');
  });

  it('refuses to retry a completed payout with 409 and creates nothing', async () => {
    const { id } = await acceptedDisbursement(B2C_PHONES.queueTimeoutPaid);
    await waitForPayout(id, 'completed');

    const res = await retry(id);

    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ success: false, code: 'CONFLICT', message: expect.stringMatching(/Only a failed payout/) });
    const { rows } = await db().query('SELECT id FROM payouts WHERE retry_of = $1', [id]);
    expect(rows).toEqual([]);
  });

  it('refuses a client with 403', async () => {
    const { id } = await acceptedDisbursement(B2C_PHONES.queueTimeoutNotPaid);
    await waitForPayout(id, 'failed');

    const res = await retry(id, customer.token);

    expect(res.status).toBe(403);
    const { rows } = await db().query('SELECT id FROM payouts WHERE retry_of = $1', [id]);
    expect(rows).toEqual([]);
  });
});

describe('ResultURL and QueueTimeOutURL', () => {
  it('hands Daraja a ResultURL and a QueueTimeOutURL that carry the kind, the payout id and a token', async () => {
    const { id, originatorConversationId } = await acceptedDisbursement(B2C_PHONES.queueTimeoutPaid);
    await waitForPayout(id, 'completed');

    const sent = await simulatedPayout(B2C_PHONES.queueTimeoutPaid, originatorConversationId);

    const result = new URL(sent.resultUrl);
    const timeout = new URL(sent.queueTimeoutUrl);
    expect(result.pathname).toBe('/api/payments/mpesa/b2c-callback');
    expect(timeout.pathname).toBe('/api/payments/mpesa/timeout');
    for (const url of [result, timeout]) {
      expect(url.searchParams.get('kind')).toBe('payout');
      expect(url.searchParams.get('id')).toBe(id);
      expect(url.searchParams.get('token')).toMatch(/^[0-9a-f]{32,}$/);
    }
  });

  describe('forged results', () => {
    // A payout to 254700000012 hears nothing for PAYOUT_RESULT_WAIT_MS: a result forged meanwhile would settle it.
    async function awaitingResult(): Promise<{ id: string; sent: SimulatedB2c }> {
      const { id, originatorConversationId } = await acceptedDisbursement(B2C_PHONES.noResult);
      await waitForPayout(id, 'submitted', 5_000);
      return { id, sent: await simulatedPayout(B2C_PHONES.noResult, originatorConversationId) };
    }

    it('rejects with 403 a result whose token is wrong, and changes nothing', async () => {
      const { id, sent } = await awaitingResult();
      const before = stateOf(await payout(id));

      const res = await postTo(sent.resultUrl, b2cSuccessResult({ ...sent, receipt: 'TFORGED001' }), { token: 'f'.repeat(64) });

      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ success: false, code: 'CALLBACK_REJECTED' });
      expect(stateOf(await payout(id))).toEqual(before);
      expect(before.status).toBe('submitted');
      const done = await waitForPayout(id, 'completed');
      expect(done.mpesaReceiptNumber).not.toBe('TFORGED001');
    });

    it("rejects with 403 a result carrying another payout's valid token, and changes neither payout", async () => {
      const target = await awaitingResult();
      const other = await awaitingResult();
      const otherToken = new URL(other.sent.resultUrl).searchParams.get('token') as string;
      const before = [stateOf(await payout(target.id)), stateOf(await payout(other.id))];

      const res = await postTo(target.sent.resultUrl, b2cSuccessResult({ ...target.sent, receipt: 'TFORGED002' }), { token: otherToken });

      expect(res.status).toBe(403);
      expect([stateOf(await payout(target.id)), stateOf(await payout(other.id))]).toEqual(before);
    });

    it('rejects a forged queue timeout with 403 and leaves the payout submitted', async () => {
      const { id, sent } = await awaitingResult();

      const res = await postTo(sent.queueTimeoutUrl, b2cQueueTimeout(sent), { token: 'f'.repeat(64) });

      expect(res.status).toBe(403);
      expect((await payout(id)).status).toBe('submitted');
    });

    it('audits a forged result as callback.rejected', async () => {
      const { id, sent } = await awaitingResult();

      await postTo(sent.resultUrl, b2cSuccessResult({ ...sent, receipt: 'TFORGED003' }), { token: 'forged' });

      const rejected = await auditEventsFor(id, 'callback.rejected');
      expect(rejected).toHaveLength(1);
      expect(rejected[0]).toMatchObject({ actor_type: 'daraja', metadata: { reason: 'missing or invalid callback token' } });
      expect(await actionsOf(id)).toEqual(['disbursement.requested', 'callback.rejected']);
      const [logged] = await transactionLogsFor(id, 'B2C_RESULT');
      expect(logged).toMatchObject({ status_code: 403, outcome: 'rejected_token' });
    });

    it.each([
      '/api/payments/daraja/b2c-callback',
      '/api/payments/mpesa/result',
      '/api/payments/daraja/result',
      '/api/payments/daraja/timeout',
    ])('guards %s the same way', async (pathname) => {
      const { id, sent } = await awaitingResult();

      const res = await postTo(sent.resultUrl, b2cSuccessResult({ ...sent, receipt: 'TFORGED004' }), { token: 'f'.repeat(64) }, pathname);

      expect(res.status).toBe(403);
      expect((await payout(id)).status).toBe('submitted');
    });
  });

  it('acknowledges a queue timeout that arrives after the result, and leaves the completed payout alone', async () => {
    const phone = uniquePhone();
    const { id, originatorConversationId } = await acceptedDisbursement(phone);
    await waitForPayout(id, 'completed');
    const sent = await simulatedPayout(phone, originatorConversationId);
    const before = stateOf(await payout(id));

    const res = await postTo(sent.queueTimeoutUrl, b2cQueueTimeout(sent));

    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual({ ResultCode: 0, ResultDesc: 'Accepted' });
    await sleep(1_000); // a wrongly queued status check would run after PAYOUT_FIRST_STATUS_CHECK_DELAY_MS
    expect(stateOf(await payout(id))).toEqual(before);
    expect(await actionsOf(id)).toEqual(['disbursement.requested', 'payout.completed']);
  });

  it('acknowledges a genuine result on the /daraja/ alias of the ResultURL, and applies it once', async () => {
    const { id, originatorConversationId } = await acceptedDisbursement(B2C_PHONES.queueTimeoutPaid);
    await waitForPayout(id, 'completed');
    const sent = await simulatedPayout(B2C_PHONES.queueTimeoutPaid, originatorConversationId);
    const before = stateOf(await payout(id));

    const res = await postTo(
      sent.resultUrl,
      b2cSuccessResult({ ...sent, receipt: sent.receipt as string }),
      {},
      '/api/payments/daraja/result',
    );

    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual({ ResultCode: 0, ResultDesc: 'Accepted' });
    expect(stateOf(await payout(id))).toEqual(before);
    expect(await actionsOf(id)).toEqual(['disbursement.requested', 'payout.unknown', 'payout.completed']);
  });
});
