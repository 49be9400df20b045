// Bills over HTTP: what a client owes, with an account reference a customer can type, paid by an STK push that names
// the bill (the push's AccountReference is the bill's, the completed payment counts toward it in the settlement's
// transaction), audited and announced by signed webhooks. Paybill payments of bills are in c2b.e2e-spec.ts.
// Daraja is the embedded simulator; independent cases run at once to keep the file short.
import { verifyWebhook } from '../../src/notifications/webhook-signature';
import { api, ApiResponse, db, testEnv, waitFor } from '../support/app';
import { auditEventsFor, newAdmin, newClient, SCENARIO_PHONES, simulatedPushesTo, stkPushBody, TestUser } from '../support/factories';
import { WebhookReceiver } from '../support/webhook-receiver';

const admin = newAdmin();
let webhooks: WebhookReceiver;

beforeAll(async () => {
  webhooks = await WebhookReceiver.start();
});

afterAll(async () => {
  await webhooks.stop();
});

function createBill(user: TestUser, body: Record<string, unknown>): Promise<ApiResponse> {
  return api('/api/bills', { method: 'POST', token: user.token, body });
}

async function openBill(client: TestUser, amount: number, extra: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const res = await createBill(admin, {
    clientId: client.id,
    amount,
    paymentType: 'consultation_fee',
    description: 'Consultation',
    ...extra,
  });
  expect(res.status).toBe(201);
  return res.body.data;
}

const getBill = (user: TestUser, id: string) => api(`/api/bills/${id}`, { token: user.token });
const push = (user: TestUser, body: Record<string, unknown>) => api('/api/payments/stk-push', { method: 'POST', token: user.token, body });

async function billRow(id: string): Promise<Record<string, any>> {
  return (await db().query('SELECT * FROM bills WHERE id = $1', [id])).rows[0];
}

async function waitForBill(id: string, status: string): Promise<Record<string, any>> {
  return waitFor(async () => (await billRow(id))?.status === status && billRow(id), { message: `bill ${id} to be ${status}` });
}

/** A signed webhook, checked against WEBHOOK_SECRET as LegalPro would. */
async function webhook(event: string, match: (data: any) => boolean) {
  const hook = await webhooks.waitFor((h) => h.body?.event === event && match(h.body.data));
  expect(verifyWebhook(testEnv().WEBHOOK_SECRET, hook.rawBody, String(hook.headers['x-legalpro-signature']))).toBe(true);
  return hook.body.data;
}

describe('creating and reading bills', () => {
  it('an admin creates a bill for a client, with a reference of 8 typeable characters, audited', async () => {
    const client = newClient();
    const res = await createBill(admin, {
      clientId: client.id,
      amount: 2_500,
      paymentType: 'case_filing_fee',
      description: 'Filing, case 2291',
      appointmentId: 'apt-1',
      dueAt: '2026-12-31T21:00:00Z',
    });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({
      clientId: client.id,
      amount: 2_500,
      paidAmount: 0,
      balance: 2_500,
      status: 'open',
      paymentType: 'case_filing_fee',
      appointmentId: 'apt-1',
      dueAt: '2026-12-31T21:00:00.000Z',
    });
    expect(res.body.data.accountReference).toMatch(/^[A-HJ-NP-Z2-9]{8}$/);
    const [created] = await auditEventsFor(res.body.data.billId, 'bill.created');
    expect(created).toMatchObject({
      actor_id: admin.id,
      after: expect.objectContaining({ accountReference: res.body.data.accountReference }),
    });
  });

  it('a client creates its own bills, sees only its own, and cannot create or read anyone else’s', async () => {
    const [client, other] = [newClient(), newClient()];
    const own = await createBill(client, { clientId: client.id, amount: 300, paymentType: 'other', description: 'Copies' });
    expect(own.status).toBe(201);
    const theirs = await createBill(client, { clientId: other.id, amount: 300, paymentType: 'other', description: 'Copies' });
    expect(theirs.status).toBe(403);
    expect(theirs.body.message).toMatch(/only for itself/);
    const othersBill = await openBill(other, 400);

    expect((await getBill(client, own.body.data.billId)).body.data).toMatchObject({ billId: own.body.data.billId, payments: [] });
    // Another client's bill is missing, not forbidden.
    expect((await getBill(client, othersBill.billId)).status).toBe(404);
    const mine = await api('/api/bills', { token: client.token });
    expect(mine.body.data).toMatchObject({ total: 1, items: [expect.objectContaining({ billId: own.body.data.billId })] });
    expect((await api('/api/bills', { token: client.token, query: { clientId: other.id } })).status).toBe(403);
    const byAdmin = await api('/api/bills', { token: admin.token, query: { clientId: other.id, status: 'open' } });
    expect(byAdmin.body.data).toMatchObject({ total: 1, items: [expect.objectContaining({ billId: othersBill.billId })] });
  });

  it.each([
    ['no amount', { amount: undefined }, /amount/],
    ['a fraction', { amount: 10.5 }, /whole number/],
    ['nothing owed', { amount: 0 }, /at least 1/],
    ['an unknown payment type', { paymentType: 'tip' }, /paymentType must be one of/],
    ['an empty description', { description: '  ' }, /description must not be empty/],
    ['a bad due date', { dueAt: 'soon' }, /dueAt must be an ISO 8601 date/],
    ['a field of its own', { accountReference: 'MYREF' }, /accountReference should not exist/],
  ])('refuses %s with a 400 and stores nothing', async (_what, change, message) => {
    const client = newClient();
    const res = await createBill(admin, { clientId: client.id, amount: 100, paymentType: 'other', description: 'Fee', ...change });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(message);
    expect((await db().query('SELECT count(*)::int AS n FROM bills WHERE client_id = $1', [client.id])).rows[0].n).toBe(0);
  });
});

describe('a bill paid by STK push', () => {
  it.concurrent('completes with the bill’s reference and balance: the bill is paid, audited and announced', async () => {
    const client = newClient();
    const bill = await openBill(client, 1_200);
    const phone = stkPushBody().phoneNumber as string;
    const res = await push(client, { phoneNumber: phone, billId: bill.billId });
    expect(res.status).toBe(201);
    const paymentId = res.body.data.paymentId;

    // The prompt asked for the balance, under the bill's reference.
    const [prompt] = await simulatedPushesTo(phone);
    expect(prompt).toMatchObject({ amount: 1_200, accountReference: bill.accountReference });

    const paid = await waitForBill(bill.billId, 'paid');
    expect(paid.paid_amount).toBe(1_200);
    const view = (await getBill(client, bill.billId)).body.data;
    expect(view).toMatchObject({ status: 'paid', paidAmount: 1_200, balance: 0 });
    expect(view.payments).toEqual([expect.objectContaining({ paymentId, amount: 1_200, channel: 'stk', status: 'completed' })]);

    const payment = (await api(`/api/payments/${paymentId}/status`, { token: client.token })).body.data;
    expect(payment).toMatchObject({
      channel: 'stk',
      billId: bill.billId,
      accountReference: bill.accountReference,
      paymentType: 'consultation_fee',
    });
    expect(await webhook('payment.completed', (d) => d.paymentId === paymentId)).toMatchObject({ channel: 'stk', billId: bill.billId });
    expect(await webhook('bill.paid', (d) => d.billId === bill.billId)).toMatchObject({
      status: 'paid',
      previousStatus: 'open',
      paidAmount: 1_200,
      balance: 0,
      payment: { paymentId, amount: 1_200, channel: 'stk', mpesaReceiptNumber: payment.mpesaReceiptNumber },
    });
    const [event] = await auditEventsFor(bill.billId, 'bill.paid');
    expect(event).toMatchObject({
      before: { status: 'open', paidAmount: 0 },
      after: expect.objectContaining({ paidAmount: 1_200, paymentId }),
    });
  });

  it.concurrent('pays part of the balance, one push at a time, never more than is owed', async () => {
    const client = newClient();
    const bill = await openBill(client, 1_000);
    // The simulator answers this number's push 4 s late: the payment stays pending meanwhile.
    const first = await push(client, { phoneNumber: SCENARIO_PHONES.lateCallback, billId: bill.billId, amount: 400 });
    expect(first.status).toBe(201);
    const second = await push(client, { phoneNumber: stkPushBody().phoneNumber, billId: bill.billId, amount: 100 });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({
      message: expect.stringMatching(/already pending/),
      details: { paymentId: first.body.data.paymentId },
    });

    const partly = await waitForBill(bill.billId, 'partially_paid');
    expect(partly.paid_amount).toBe(400);
    expect(await webhook('bill.partially_paid', (d) => d.billId === bill.billId)).toMatchObject({ paidAmount: 400, balance: 600 });

    const tooMuch = await push(client, { phoneNumber: stkPushBody().phoneNumber, billId: bill.billId, amount: 601 });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body.message).toBe("amount must not exceed the bill's balance of KES 600");
    const rest = await push(client, { phoneNumber: stkPushBody().phoneNumber, billId: bill.billId });
    expect(rest.status).toBe(201);
    expect((await waitForBill(bill.billId, 'paid')).paid_amount).toBe(1_000);
    // Nothing left to pay.
    const again = await push(client, { phoneNumber: stkPushBody().phoneNumber, billId: bill.billId });
    expect(again.status).toBe(409);
    expect(again.body.message).toBe('This bill is paid: it has nothing left to pay');
  });

  it.concurrent('is refused for another client’s bill, a cancelled one, or with another reference; nothing is pushed', async () => {
    const [client, other] = [newClient(), newClient()];
    const othersBill = await openBill(other, 500);
    const cancelled = await openBill(client, 500);
    const cancel = await api(`/api/bills/${cancelled.billId}/cancel`, { method: 'POST', token: client.token, body: { reason: 'Waived' } });
    expect(cancel.status).toBe(200);
    expect(cancel.body.data).toMatchObject({ status: 'cancelled', cancelReason: 'Waived' });
    const own = await openBill(client, 500);

    const phone = stkPushBody().phoneNumber as string;
    const cases = await Promise.all([
      push(client, { phoneNumber: phone, billId: othersBill.billId }),
      push(client, { phoneNumber: phone, billId: cancelled.billId }),
      push(client, { phoneNumber: phone, billId: own.billId, accountReference: 'OTHER' }),
      push(client, { phoneNumber: phone, billId: 'not-a-uuid' }),
      push(client, { phoneNumber: phone }), // without a bill, amount and the rest stay required
    ]);
    expect(cases.map((r) => r.status)).toEqual([404, 409, 400, 400, 400]);
    expect(cases[1].body.message).toBe('This bill is cancelled: it has nothing left to pay');
    expect(cases[2].body.message).toMatch(/accountReference of a bill's push is the bill's own/);
    expect(cases[4].body.message).toMatch(/amount must be a whole number/);
    expect(await simulatedPushesTo(phone)).toEqual([]);
    // An admin may push for any client's bill; the payment is the bill's client's.
    const byAdmin = await push(admin, { phoneNumber: phone, billId: othersBill.billId });
    expect(byAdmin.status).toBe(201);
    expect((await db().query('SELECT client_id FROM payments WHERE id = $1', [byAdmin.body.data.paymentId])).rows[0].client_id).toBe(
      other.id,
    );
    await waitForBill(othersBill.billId, 'paid');
  });

  it.concurrent('cancels an open bill once, and not a paid one', async () => {
    const client = newClient();
    const bill = await openBill(client, 100);
    const cancel = () => api(`/api/bills/${bill.billId}/cancel`, { method: 'POST', token: client.token, body: {} });
    expect((await cancel()).status).toBe(200);
    const twice = await cancel();
    expect(twice.status).toBe(409);
    expect(twice.body.message).toBe('This bill is already cancelled');
    expect(await auditEventsFor(bill.billId, 'bill.cancelled')).toHaveLength(1);

    const paidBill = await openBill(client, 100);
    await push(client, { phoneNumber: stkPushBody().phoneNumber, billId: paidBill.billId });
    await waitForBill(paidBill.billId, 'paid');
    const refused = await api(`/api/bills/${paidBill.billId}/cancel`, { method: 'POST', token: admin.token, body: {} });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toMatch(/This bill is paid \(KES 100 of 100 paid\): only open or partially_paid bills can be cancelled/);
  });
});
