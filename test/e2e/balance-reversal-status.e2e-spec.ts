// The business account at Safaricom, for admins: Account Balance, Transaction Reversal of a C2B payment, and
// Transaction Status look-ups of any transaction.
import { createHmac, randomUUID } from 'node:crypto';
import { api, ApiResponse, db, sim, testEnv, uniquePhone, waitFor } from '../support/app';
import {
  auditEventsFor,
  newAdmin,
  newClient,
  paymentRow,
  paymentStatus,
  pushStk,
  sleep,
  stkPushBody,
  transactionLogsFor,
  waitForPaymentStatus,
  waitUntilPayoutsSettled,
  waitUntilSettled,
} from '../support/factories';

const admin = newAdmin();
const customer = newClient();
/** The simulator's default Utility balance (KES), restored after a test changes it. */
const DEFAULT_UTILITY = 5_000_000;
/** BALANCE_FRESHNESS_SECONDS is 1: past this, a payout asks for a new balance instead of reusing the last one. */
const BALANCE_FRESHNESS_MS = 1_200;

async function completedPayment(amount = 500): Promise<{ paymentId: string; receipt: string; checkoutRequestId: string }> {
  const res = await pushStk(customer.token, stkPushBody({ phoneNumber: uniquePhone(), amount }));
  expect(res.status).toBe(201);
  const row = await waitForPaymentStatus(res.body.data.paymentId, 'completed');
  expect(row.mpesa_receipt_number).toMatch(/^[A-Z0-9]{10}$/);
  return { paymentId: row.id, receipt: row.mpesa_receipt_number, checkoutRequestId: row.checkout_request_id };
}

function waitForReversed(paymentId: string): Promise<Record<string, any>> {
  return waitFor(async () => ((await paymentRow(paymentId))?.status === 'reversed' ? paymentRow(paymentId) : undefined), {
    message: `payment ${paymentId} to be reversed`,
  });
}

async function setUtilityBalance(kes: number): Promise<void> {
  expect((await sim('/balance', { method: 'POST', body: { utility: kes } })).status).toBe(200);
  await sleep(BALANCE_FRESHNESS_MS);
}

async function queueFault(endpoint: 'balance' | 'reversal' | 'transactionstatus', kind: 'system_busy'): Promise<void> {
  expect((await sim('/faults', { method: 'POST', body: { endpoint, kind, count: 1 } })).status).toBe(200);
}

async function setSimulatorCallbacks(enabled: boolean): Promise<void> {
  expect((await sim('/callbacks', { method: 'POST', body: { enabled } })).status).toBe(200);
}

afterEach(async () => {
  await waitUntilSettled([customer.id]);
  await waitUntilPayoutsSettled([customer.id]);
});

describe('Account Balance', () => {
  function requestBalance(token = admin.token): Promise<ApiResponse> {
    return api('/api/mpesa/balance', { method: 'POST', token });
  }

  function waitForSnapshot(id: string, status: 'completed' | 'failed' = 'completed'): Promise<Record<string, any>> {
    return waitFor(
      async () => {
        const res = await api(`/api/mpesa/balance/${id}`, { token: admin.token });
        expect(res.status).toBe(200);
        return res.body.data.status === status ? res.body.data : undefined;
      },
      { message: `balance snapshot ${id} to be ${status}` },
    );
  }

  afterEach(async () => {
    await setUtilityBalance(DEFAULT_UTILITY);
  });

  it('answers 202 with the snapshot id, then shows the accounts with decimal amounts as JSON numbers', async () => {
    await setUtilityBalance(1_234.56);

    const res = await requestBalance();
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ success: true, data: expect.objectContaining({ id: expect.any(String), status: 'pending' }) });
    const snapshot = await waitForSnapshot(res.body.data.id);

    const utility = snapshot.accounts.find((a: any) => a.account === 'Utility Account');
    expect(utility).toEqual({
      account: 'Utility Account',
      currency: 'KES',
      current: 1_234.56,
      available: 1_234.56,
      reserved: expect.any(Number),
      uncleared: expect.any(Number),
    });
    for (const account of snapshot.accounts) {
      expect(account).toEqual({
        account: expect.any(String),
        currency: 'KES',
        current: expect.any(Number),
        available: expect.any(Number),
        reserved: expect.any(Number),
        uncleared: expect.any(Number),
      });
    }
  });

  it('serves the newest completed snapshot on GET /api/mpesa/balance/latest', async () => {
    await setUtilityBalance(1_234.56);
    const { id } = (await requestBalance()).body.data;
    await waitForSnapshot(id);

    const res = await api('/api/mpesa/balance/latest', { token: admin.token });

    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ id, status: 'completed' });
    expect(res.body.data.accounts).toContainEqual(expect.objectContaining({ account: 'Utility Account', available: 1_234.56 }));
  });

  it("stores the snapshot in balance_snapshots with Daraja's AccountBalance string as received", async () => {
    await setUtilityBalance(1_234.56);
    const { id } = (await requestBalance()).body.data;
    await waitForSnapshot(id);

    const { rows } = await db().query('SELECT * FROM balance_snapshots WHERE id = $1', [id]);

    expect(rows[0]).toMatchObject({ status: 'completed', result_code: '0', requested_by: admin.id });
    expect(rows[0].raw_balance).toMatch(/Utility Account\|KES\|1234\.56\|1234\.56\|/);
    expect(rows[0].accounts).toContainEqual(expect.objectContaining({ account: 'Utility Account', available: 1_234.56 }));
  });

  it('stores a balance query M-Pesa refuses as failed, with the reason', async () => {
    await queueFault('balance', 'system_busy');

    const res = await requestBalance();

    expect(res.status).toBe(202);
    expect(res.body.data).toMatchObject({ status: 'failed', resultDesc: expect.stringMatching(/did not accept/) });
  });

  it('refuses a client with 403', async () => {
    const client = newClient();

    expect((await requestBalance(client.token)).status).toBe(403);
    expect((await api('/api/mpesa/balance/latest', { token: client.token })).status).toBe(403);
  });

  it('answers 404 for an unknown snapshot', async () => {
    const res = await api(`/api/mpesa/balance/${randomUUID()}`, { token: admin.token });

    expect(res.status).toBe(404);
  });
});

describe('POST /api/payments/:id/reversal', () => {
  function reverse(paymentId: string, token = admin.token, reason: unknown = 'Paid to the wrong paybill'): Promise<ApiResponse> {
    return api(`/api/payments/${paymentId}/reversal`, { method: 'POST', token, body: { reason } });
  }

  async function reversalRowsOf(paymentId: string): Promise<Record<string, any>[]> {
    const { rows } = await db().query('SELECT * FROM reversals WHERE payment_id = $1 ORDER BY created_at', [paymentId]);
    return rows;
  }

  it('answers 202 and, once M-Pesa reverses the payment, moves it to reversed', async () => {
    const { paymentId, checkoutRequestId } = await completedPayment(500);

    const res = await reverse(paymentId);

    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ success: true, data: { id: expect.any(String), paymentId, amount: 500 } });
    await waitForReversed(paymentId);
    const status = (await paymentStatus(admin.token, paymentId)).body.data;
    expect(status.status).toBe('reversed');
    expect(status.reversals).toEqual([
      expect.objectContaining({ id: res.body.data.id, status: 'completed', amount: 500, resultCode: '0' }),
    ]);
    expect((await sim(`/stk/${checkoutRequestId}`)).body.reversal).toMatchObject({ amount: 500 });
    expect(await auditEventsFor(paymentId, 'payment.reversed')).toHaveLength(1);
  });

  it('acknowledges the reversal result delivered again and applies it once', async () => {
    const { paymentId } = await completedPayment(500);
    const { id } = (await reverse(paymentId)).body.data;
    await waitForReversed(paymentId);
    const [delivered] = await transactionLogsFor(id, 'REVERSAL_RESULT');
    // The URL Daraja was given: /result?kind=reversal&id=...&token=HMAC-SHA256(MPESA_CALLBACK_SECRET, "reversal:<id>").
    const token = createHmac('sha256', testEnv().MPESA_CALLBACK_SECRET).update(`reversal:${id}`).digest('hex');

    const res = await api('/api/payments/mpesa/result', {
      method: 'POST',
      query: { kind: 'reversal', id, token },
      body: delivered.request_data,
    });

    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual({ ResultCode: 0, ResultDesc: 'Accepted' });
    expect((await auditEventsFor(id)).map((e) => e.action)).toEqual(['reversal.requested', 'reversal.completed']);
    expect(await auditEventsFor(paymentId, 'payment.reversed')).toHaveLength(1);
    const { rows } = await db().query('SELECT event FROM notifications WHERE subject_id = $1', [id]);
    expect(rows.map((n) => n.event)).toEqual(['reversal.completed']);
  });

  it('refuses to reverse a payment twice with 409', async () => {
    const { paymentId } = await completedPayment(500);
    expect((await reverse(paymentId)).status).toBe(202);
    await waitForReversed(paymentId);

    const again = await reverse(paymentId);

    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ success: false, code: 'CONFLICT' });
    expect(await reversalRowsOf(paymentId)).toHaveLength(1);
  });

  it('refuses a second reversal while the first awaits its result with 409', async () => {
    const { paymentId } = await completedPayment(500);
    await setSimulatorCallbacks(false); // the first reversal's result never arrives: it stays in progress
    try {
      const first = await reverse(paymentId);
      expect(first.status).toBe(202);

      const second = await reverse(paymentId);

      expect(second.status).toBe(409);
      expect(second.body).toMatchObject({ success: false, code: 'CONFLICT', message: expect.stringMatching(/reversal in progress/) });
      expect(await reversalRowsOf(paymentId)).toHaveLength(1);
      expect((await paymentRow(paymentId))?.status).toBe('completed');
    } finally {
      await setSimulatorCallbacks(true);
    }
  });

  it('refuses to reverse a payment that has a refund with 409', async () => {
    const { paymentId } = await completedPayment(500);
    const refund = await api(`/api/payments/${paymentId}/refund`, {
      method: 'POST',
      token: admin.token,
      body: { amount: 100, reason: 'Overpaid' },
    });
    expect(refund.status).toBe(202);

    const res = await reverse(paymentId);

    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ success: false, code: 'CONFLICT', message: expect.stringMatching(/refunds/) });
    expect(await reversalRowsOf(paymentId)).toEqual([]);
  });

  it('refuses to refund a reversed payment with 409', async () => {
    const { paymentId } = await completedPayment(500);
    expect((await reverse(paymentId)).status).toBe(202);
    await waitForReversed(paymentId);

    const res = await api(`/api/payments/${paymentId}/refund`, {
      method: 'POST',
      token: admin.token,
      body: { amount: 100, reason: 'Overpaid' },
    });

    expect(res.status).toBe(409);
    const { rows } = await db().query('SELECT id FROM payouts WHERE payment_id = $1', [paymentId]);
    expect(rows).toEqual([]);
  });

  it('refuses a client with 403 and stores nothing', async () => {
    const { paymentId } = await completedPayment(500);

    const res = await reverse(paymentId, customer.token);

    expect(res.status).toBe(403);
    expect(await reversalRowsOf(paymentId)).toEqual([]);
    expect((await paymentRow(paymentId))?.status).toBe('completed');
  });

  it('refuses a reversal without a reason with 400 and stores nothing', async () => {
    const { paymentId } = await completedPayment(500);

    const res = await reverse(paymentId, admin.token, '');

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, code: 'VALIDATION_ERROR' });
    expect(await reversalRowsOf(paymentId)).toEqual([]);
  });
});

describe('Transaction Status', () => {
  function queryStatus(body: unknown, token = admin.token): Promise<ApiResponse> {
    return api('/api/mpesa/transaction-status', { method: 'POST', token, body });
  }

  function waitForQuery(id: string): Promise<Record<string, any>> {
    return waitFor(
      async () => {
        const res = await api(`/api/mpesa/transaction-status/${id}`, { token: admin.token });
        expect(res.status).toBe(200);
        return res.body.data.status === 'completed' ? res.body.data : undefined;
      },
      { message: `transaction status query ${id} to complete` },
    );
  }

  it('answers 202 with the query id, then stores what Safaricom says of an STK receipt', async () => {
    const { receipt } = await completedPayment(750);

    const res = await queryStatus({ transactionId: receipt });

    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      success: true,
      data: expect.objectContaining({ id: expect.any(String), status: 'pending', transactionId: receipt }),
    });
    const answered = await waitForQuery(res.body.data.id);
    expect(answered).toMatchObject({ resultCode: '0', transactionId: receipt });
    expect(answered.result.parameters).toMatchObject({ receiptno: receipt, transactionstatus: 'Completed', amount: '750' });
  });

  it('looks a B2C payout up by its OriginatorConversationID', async () => {
    const disbursement = await api('/api/disbursements', {
      method: 'POST',
      token: admin.token,
      body: { phoneNumber: uniquePhone(), amount: 300, commandId: 'BusinessPayment', remarks: 'Compensation', clientId: customer.id },
    });
    expect(disbursement.status).toBe(202);
    const { id, originatorConversationId } = disbursement.body.data;
    const paid = await waitFor(async () => {
      const p = (await api(`/api/payouts/${id}`, { token: admin.token })).body.data;
      return p.status === 'completed' ? p : undefined;
    });

    const res = await queryStatus({ originatorConversationId });

    expect(res.status).toBe(202);
    const answered = await waitForQuery(res.body.data.id);
    expect(answered).toMatchObject({ resultCode: '0', originatorConversationId });
    expect(answered.result.parameters).toMatchObject({ receiptno: paid.mpesaReceiptNumber, transactionstatus: 'Completed', amount: '300' });
  });

  it('stores the "not found" answer for a receipt M-Pesa does not know', async () => {
    const res = await queryStatus({ transactionId: 'TZZZZZZZZZ' });

    expect(res.status).toBe(202);
    const answered = await waitForQuery(res.body.data.id);
    expect(answered.resultCode).toBe('2033'); // the simulator's "cannot be found", as the EDL SDK lists it
  });

  it('refuses a query with neither transactionId nor originatorConversationId with 400 and stores nothing', async () => {
    const { rows: before } = await db().query('SELECT count(*)::int AS n FROM transaction_status_queries');

    const res = await queryStatus({});

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, code: 'VALIDATION_ERROR', message: expect.stringMatching(/transactionId/) });
    const { rows: after } = await db().query('SELECT count(*)::int AS n FROM transaction_status_queries');
    expect(after[0].n).toBe(before[0].n);
  });

  it('refuses a client with 403', async () => {
    const res = await queryStatus({ transactionId: 'TZZZZZZZZZ' }, newClient().token);

    expect(res.status).toBe(403);
  });

  it('answers 404 for an unknown query', async () => {
    const res = await api(`/api/mpesa/transaction-status/${randomUUID()}`, { token: admin.token });

    expect(res.status).toBe(404);
  });
});
