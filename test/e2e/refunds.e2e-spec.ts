// Refunds: part or all of a completed payment goes back to the phone that paid it, by B2C v3, after a balance
// check, never beyond what was paid and never paid twice for one request.
import { b2cSuccessResult } from '../fixtures/daraja';
import { api, ApiResponse, db, sim, uniquePhone, waitFor } from '../support/app';
import {
  auditEventsFor,
  newAdmin,
  newClient,
  paymentStatus,
  pushStk,
  SCENARIO_PHONES,
  sleep,
  stkPushBody,
  transactionLogsFor,
  waitForPaymentStatus,
  waitUntilPayoutsSettled,
  waitUntilSettled,
} from '../support/factories';

const admin = newAdmin();
const customer = newClient();
/** The simulator's default Utility balance (KES), restored after a test lowers it. */
const DEFAULT_UTILITY = 5_000_000;
/** BALANCE_FRESHNESS_SECONDS is 1: past this, a payout asks for a new balance instead of reusing the last one. */
const BALANCE_FRESHNESS_MS = 1_200;

interface SimulatedB2c {
  originatorConversationId: string;
  conversationId: string;
  amount: number;
  commandId: string;
  outcome: string;
  paid: boolean;
  receipt: string | null;
  resultUrl: string;
  queueTimeoutUrl: string;
}

/** A completed STK payment of `amount` from `phoneNumber`: something to refund. */
async function completedPayment(amount = 1_000, phoneNumber = uniquePhone()): Promise<{ paymentId: string; phone: string }> {
  const res = await pushStk(customer.token, stkPushBody({ phoneNumber, amount }));
  expect(res.status).toBe(201);
  await waitForPaymentStatus(res.body.data.paymentId, 'completed');
  return { paymentId: res.body.data.paymentId, phone: phoneNumber };
}

function refund(paymentId: string, body: unknown, token = admin.token): Promise<ApiResponse> {
  return api(`/api/payments/${paymentId}/refund`, { method: 'POST', token, body });
}

async function acceptedRefund(paymentId: string, amount: number): Promise<Record<string, any>> {
  const res = await refund(paymentId, { amount, reason: 'Consultation cancelled by the advocate' });
  expect(res.status).toBe(202);
  return res.body.data;
}

async function payout(id: string): Promise<Record<string, any>> {
  const res = await api(`/api/payouts/${id}`, { token: admin.token });
  expect(res.status).toBe(200);
  return res.body.data;
}

function waitForPayout(id: string, status: 'completed' | 'failed', timeoutMs = 20_000): Promise<Record<string, any>> {
  return waitFor(
    async () => {
      const p = await payout(id);
      return p.status === status ? p : undefined;
    },
    { timeoutMs, message: `payout ${id} to be ${status}` },
  );
}

/** Every B2C payout the simulator received for `phone`, oldest first. */
async function b2cPaymentsTo(phone: string): Promise<SimulatedB2c[]> {
  const res = await sim<{ items: SimulatedB2c[] }>('/b2c', { query: { phone } });
  expect(res.status).toBe(200);
  return res.body.items;
}

async function queueB2cFault(kind: 'system_busy' | 'reset_after_processing'): Promise<void> {
  expect((await sim('/faults', { method: 'POST', body: { endpoint: 'b2c', kind, count: 1 } })).status).toBe(200);
}

/** Sets the simulated Utility account and waits until no earlier balance snapshot counts as fresh. */
async function setUtilityBalance(kes: number): Promise<void> {
  expect((await sim('/balance', { method: 'POST', body: { utility: kes } })).status).toBe(200);
  await sleep(BALANCE_FRESHNESS_MS);
}

async function refundRowsOf(paymentId: string): Promise<Record<string, any>[]> {
  const { rows } = await db().query('SELECT * FROM payouts WHERE payment_id = $1 ORDER BY created_at', [paymentId]);
  return rows;
}

afterEach(async () => {
  // Nothing left in flight: every payment settled, every refund completed or failed (or handed to a person).
  await waitUntilSettled([customer.id]);
  await waitUntilPayoutsSettled([customer.id]);
});

describe('POST /api/payments/:id/refund', () => {
  it('answers 202 with the refund, stored as pending with our own OriginatorConversationID', async () => {
    const { paymentId } = await completedPayment(1_000);

    const res = await refund(paymentId, { amount: 300, reason: 'Consultation cancelled by the advocate' });

    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      success: true,
      data: expect.objectContaining({
        id: expect.any(String),
        kind: 'refund',
        paymentId,
        clientId: customer.id,
        status: 'pending',
        amount: 300,
        currency: 'KES',
        commandId: 'BusinessPayment',
        reason: 'Consultation cancelled by the advocate',
        originatorConversationId: expect.stringMatching(/^[A-Za-z0-9]{1,64}$/),
        requestedBy: admin.id,
      }),
    });
  });

  it('pays the refund by B2C to the phone that paid and moves the payment to partially_refunded with the receipt', async () => {
    const { paymentId, phone } = await completedPayment(1_000);
    const { id } = await acceptedRefund(paymentId, 300);

    const done = await waitForPayout(id, 'completed');

    const [sent] = await b2cPaymentsTo(phone);
    expect(await b2cPaymentsTo(phone)).toHaveLength(1);
    expect(sent).toMatchObject({ originatorConversationId: done.originatorConversationId, amount: 300, paid: true });
    expect(done).toMatchObject({ mpesaReceiptNumber: sent.receipt, settledBy: 'result_callback' });
    const status = await paymentStatus(admin.token, paymentId);
    expect(status.body.data).toMatchObject({ status: 'partially_refunded', refundedAmount: 300 });
    expect(status.body.data.refunds).toEqual([
      expect.objectContaining({ id, status: 'completed', amount: 300, mpesaReceiptNumber: sent.receipt }),
    ]);
  });

  it('moves a payment refunded in full to refunded, and then refuses any further refund with 409', async () => {
    const { paymentId } = await completedPayment(1_000);
    await waitForPayout((await acceptedRefund(paymentId, 400)).id, 'completed');
    await waitForPayout((await acceptedRefund(paymentId, 600)).id, 'completed');

    const further = await refund(paymentId, { amount: 10, reason: 'One more' });

    expect((await paymentStatus(admin.token, paymentId)).body.data).toMatchObject({ status: 'refunded', refundedAmount: 1_000 });
    expect(further.status).toBe(409);
    expect(further.body).toMatchObject({ success: false, code: 'CONFLICT' });
    expect(await refundRowsOf(paymentId)).toHaveLength(2);
  });

  it('refuses a refund larger than what is left to refund with 409, counting refunds still in flight', async () => {
    const { paymentId } = await completedPayment(1_000);
    await acceptedRefund(paymentId, 700); // still pending or on its way: it counts all the same

    const res = await refund(paymentId, { amount: 301, reason: 'Too much' });

    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ success: false, code: 'CONFLICT', message: expect.stringMatching(/KES 300/) });
    expect(await refundRowsOf(paymentId)).toHaveLength(1);
  });

  it('lets exactly one of two concurrent refunds of 600 on a payment of 1000 through; the other gets 409', async () => {
    const { paymentId } = await completedPayment(1_000);

    const responses = await Promise.all([
      refund(paymentId, { amount: 600, reason: 'Race A' }),
      refund(paymentId, { amount: 600, reason: 'Race B' }),
    ]);

    expect(responses.map((r) => r.status).sort()).toEqual([202, 409]);
    const rows = await refundRowsOf(paymentId);
    expect(rows).toHaveLength(1);
    expect(rows[0].amount).toBe(600);
  });

  it('refuses to refund a payment that is still pending with 409 and stores nothing', async () => {
    const res = await pushStk(customer.token, stkPushBody({ phoneNumber: SCENARIO_PHONES.lateCallback, amount: 1_000 }));
    expect(res.status).toBe(201);
    const paymentId = res.body.data.paymentId;

    const refused = await refund(paymentId, { amount: 100, reason: 'Too early' });

    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ success: false, code: 'CONFLICT', message: expect.stringMatching(/pending/) });
    expect(await refundRowsOf(paymentId)).toEqual([]);
    await waitForPaymentStatus(paymentId, 'completed'); // frees the scenario number
  });

  it('refuses a client with 403 and stores nothing', async () => {
    const { paymentId } = await completedPayment(1_000);

    const res = await refund(paymentId, { amount: 100, reason: 'I want my money back' }, customer.token);

    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ success: false, code: 'FORBIDDEN' });
    expect(await refundRowsOf(paymentId)).toEqual([]);
  });

  it.each([
    { amount: 5, message: /amount must be at least 10/ },
    { amount: 250_001, message: /amount must not exceed 250000/ },
    { amount: 10.5, message: /amount must be a whole number/ },
  ])(
    'refuses an amount of $amount (outside B2C limits of 10..250000 whole shillings) with 400 and stores nothing',
    async ({ amount, message }) => {
      const { paymentId } = await completedPayment(1_000);

      const res = await refund(paymentId, { amount, reason: 'Out of range' });

      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ success: false, code: 'VALIDATION_ERROR', message: expect.stringMatching(message) });
      expect(await refundRowsOf(paymentId)).toEqual([]);
    },
  );

  it('refuses a refund without a reason with 400 and stores nothing', async () => {
    const { paymentId } = await completedPayment(1_000);

    const res = await refund(paymentId, { amount: 100 });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, code: 'VALIDATION_ERROR', message: expect.stringMatching(/reason/) });
    expect(await refundRowsOf(paymentId)).toEqual([]);
  });
});

describe('the balance check before sending', () => {
  afterEach(async () => {
    await setUtilityBalance(DEFAULT_UTILITY);
  });

  it('fails a refund the Utility account cannot cover, says why, and sends nothing to M-Pesa', async () => {
    const { paymentId, phone } = await completedPayment(1_000);
    await setUtilityBalance(100);

    const { id } = await acceptedRefund(paymentId, 500);
    const failed = await waitForPayout(id, 'failed');

    expect(failed).toMatchObject({ settledBy: 'balance_check', resultDesc: expect.stringMatching(/KES 100\b.*less than the KES 500/) });
    expect(failed.resultDesc).toMatch(/balance|holds/i);
    expect(await b2cPaymentsTo(phone)).toEqual([]);
    expect(await transactionLogsFor(id, 'B2C')).toEqual([]);
    expect((await paymentStatus(admin.token, paymentId)).body.data).toMatchObject({ status: 'completed', refundedAmount: 0 });
  });
});

describe('one OriginatorConversationID per refund, whatever happens on the wire', () => {
  it('resends with the same OriginatorConversationID after "system busy" and pays once', async () => {
    const { paymentId, phone } = await completedPayment(1_000);
    await queueB2cFault('system_busy');

    const { id, originatorConversationId } = await acceptedRefund(paymentId, 250);
    const done = await waitForPayout(id, 'completed');

    const sends = await transactionLogsFor(id, 'B2C');
    expect(sends.length).toBeGreaterThanOrEqual(2);
    expect(sends.map((s) => s.request_data.OriginatorConversationID)).toEqual(sends.map(() => originatorConversationId));
    expect(done.originatorConversationId).toBe(originatorConversationId);
    const simulated = await b2cPaymentsTo(phone);
    expect(simulated).toEqual([expect.objectContaining({ originatorConversationId, paid: true, receipt: done.mpesaReceiptNumber })]);
    expect((await sim(`/b2c/${originatorConversationId}`)).body).toMatchObject({ originatorConversationId, amount: 250, paid: true });
  });

  it('settles a refund whose B2C answer was lost after M-Pesa took it, with exactly one payment made', async () => {
    const { paymentId, phone } = await completedPayment(1_000);
    await queueB2cFault('reset_after_processing');

    const { id, originatorConversationId } = await acceptedRefund(paymentId, 250);
    const done = await waitForPayout(id, 'completed');

    expect(['result_callback', 'transaction_status']).toContain(done.settledBy);
    expect((await auditEventsFor(id)).map((e) => e.action)).toContain('payout.unknown');
    const sends = await transactionLogsFor(id, 'B2C');
    expect(sends.map((s) => s.request_data.OriginatorConversationID)).toEqual(sends.map(() => originatorConversationId));
    const simulated = await b2cPaymentsTo(phone);
    expect(simulated.filter((p) => p.paid)).toHaveLength(1);
    expect(simulated).toEqual([expect.objectContaining({ originatorConversationId, receipt: done.mpesaReceiptNumber })]);
    expect((await paymentStatus(admin.token, paymentId)).body.data).toMatchObject({ status: 'partially_refunded', refundedAmount: 250 });
  });

  it('gives every refund its own OriginatorConversationID', async () => {
    const { paymentId } = await completedPayment(1_000);

    const first = await acceptedRefund(paymentId, 100);
    const second = await acceptedRefund(paymentId, 100);

    expect(first.originatorConversationId).not.toBe(second.originatorConversationId);
  });
});

describe('what a completed refund leaves behind', () => {
  it('writes a refund.completed notification with the receipt', async () => {
    const { paymentId } = await completedPayment(1_000);
    const { id } = await acceptedRefund(paymentId, 200);
    const done = await waitForPayout(id, 'completed');

    const { rows } = await db().query('SELECT * FROM notifications WHERE subject_id = $1 ORDER BY created_at', [id]);

    expect(rows.map((n) => n.event)).toEqual(['refund.completed']);
    expect(rows[0].payload).toMatchObject({
      payoutId: id,
      paymentId,
      amount: 200,
      status: 'completed',
      mpesaReceiptNumber: done.mpesaReceiptNumber,
    });
  });

  it('audits the request and the completion of the refund, and the payment moving to partially_refunded', async () => {
    const { paymentId } = await completedPayment(1_000);
    const { id } = await acceptedRefund(paymentId, 200);
    await waitForPayout(id, 'completed');

    expect((await auditEventsFor(id)).map((e) => e.action)).toEqual(['refund.requested', 'payout.completed']);
    expect((await auditEventsFor(id, 'refund.requested'))[0]).toMatchObject({ actor_type: 'user', actor_id: admin.id });
    const moved = await auditEventsFor(paymentId, 'payment.partially_refunded');
    expect(moved).toHaveLength(1);
    expect(moved[0].after).toMatchObject({ status: 'partially_refunded', refundedAmount: 200, payoutId: id });
  });

  it('acknowledges the B2C result delivered again and counts the refund once', async () => {
    const { paymentId, phone } = await completedPayment(1_000);
    const { id } = await acceptedRefund(paymentId, 300);
    await waitForPayout(id, 'completed');
    const [sent] = await b2cPaymentsTo(phone);
    const url = new URL(sent.resultUrl);

    const res = await api(`${url.pathname}${url.search}`, {
      method: 'POST',
      body: b2cSuccessResult({ ...sent, receipt: sent.receipt as string }),
    });

    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual({ ResultCode: 0, ResultDesc: 'Accepted' });
    expect((await paymentStatus(admin.token, paymentId)).body.data).toMatchObject({ status: 'partially_refunded', refundedAmount: 300 });
    expect((await auditEventsFor(id)).map((e) => e.action)).toEqual(['refund.requested', 'payout.completed']);
    const { rows } = await db().query('SELECT event FROM notifications WHERE subject_id = $1', [id]);
    expect(rows.map((n) => n.event)).toEqual(['refund.completed']);
  });

  it('logs the B2C request with its SecurityCredential redacted', async () => {
    const { paymentId } = await completedPayment(1_000);
    const { id } = await acceptedRefund(paymentId, 200);
    await waitForPayout(id, 'completed');

    const [sent] = await transactionLogsFor(id, 'B2C');

    expect(sent.request_data.SecurityCredential).toBe('[REDACTED]');
    expect(sent.request_data).toMatchObject({ CommandID: 'BusinessPayment', Amount: 200 });
    const { rows } = await db().query(
      `SELECT id FROM transaction_logs
        WHERE (request_data ? 'SecurityCredential' AND request_data->>'SecurityCredential' <> '[REDACTED]')
           OR (response_data ? 'SecurityCredential' AND response_data->>'SecurityCredential' <> '[REDACTED]')`,
    );
    expect(rows).toEqual([]);
  });
});
