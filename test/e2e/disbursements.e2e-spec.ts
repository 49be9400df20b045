// Disbursements: an admin pays compensation or another payout to any Safaricom number by B2C.
import { randomUUID } from 'node:crypto';
import { api, ApiResponse, db, sim, uniquePhone, waitFor } from '../support/app';
import { auditEventsFor, masked, newAdmin, newClient, pushStk, sleep, stkPushBody, waitForPaymentStatus } from '../support/factories';

const admin = newAdmin();
/** Tags this file's disbursements (clientId), so that afterEach waits for exactly them. */
const CLIENT_TAG = `disbursements-${randomUUID()}`;
const QUIET_PERIOD_MS = 2_500;

interface SimulatedB2c {
  originatorConversationId: string;
  amount: number;
  commandId: string;
  outcome: string;
  paid: boolean;
  receipt: string | null;
}

interface DisbursementBody {
  phoneNumber?: unknown;
  amount?: unknown;
  commandId?: unknown;
  remarks?: unknown;
  occasion?: unknown;
  clientId?: unknown;
  [field: string]: unknown;
}

/** A valid disbursement to a fresh success-scenario phone; `overrides` replace fields. */
function disbursementBody(overrides: DisbursementBody = {}): DisbursementBody {
  return {
    phoneNumber: uniquePhone(),
    amount: 1_500,
    commandId: 'BusinessPayment',
    remarks: 'Compensation for delayed hearing',
    occasion: 'Case 2291',
    clientId: CLIENT_TAG,
    ...overrides,
  };
}

function disburse(body: unknown, token = admin.token): Promise<ApiResponse> {
  return api('/api/disbursements', { method: 'POST', token, body });
}

async function acceptedDisbursement(overrides: DisbursementBody = {}): Promise<Record<string, any>> {
  const res = await disburse(disbursementBody(overrides));
  expect(res.status).toBe(202);
  return res.body.data;
}

async function disbursement(id: string): Promise<Record<string, any>> {
  const res = await api(`/api/disbursements/${id}`, { token: admin.token });
  expect(res.status).toBe(200);
  return res.body.data;
}

function waitForDisbursement(id: string, status: 'completed' | 'failed'): Promise<Record<string, any>> {
  return waitFor(
    async () => {
      const d = await disbursement(id);
      return d.status === status ? d : undefined;
    },
    { timeoutMs: 20_000, message: `disbursement ${id} to be ${status}` },
  );
}

async function b2cPaymentsTo(phone: string): Promise<SimulatedB2c[]> {
  const res = await sim<{ items: SimulatedB2c[] }>('/b2c', { query: { phone } });
  expect(res.status).toBe(200);
  return res.body.items;
}

async function payoutRowsOf(clientId: string): Promise<Record<string, any>[]> {
  const { rows } = await db().query('SELECT * FROM payouts WHERE client_id = $1', [clientId]);
  return rows;
}

/** Sends `body` with its own clientId tag and checks it was refused as expected, with nothing stored or sent. */
async function expectRefusedWithNothingStored(
  body: DisbursementBody,
  expected: { status: number; code: string; message?: RegExp },
  token = admin.token,
): Promise<void> {
  const tag = `refused-${randomUUID()}`;
  const phone = typeof body.phoneNumber === 'string' && /^2547\d{8}$/.test(body.phoneNumber) ? body.phoneNumber : undefined;

  const res = await disburse({ ...body, clientId: tag }, token);

  expect(res.status).toBe(expected.status);
  expect(res.body).toMatchObject({ success: false, code: expected.code });
  if (expected.message) expect(res.body.message).toMatch(expected.message);
  expect(await payoutRowsOf(tag)).toEqual([]);
  if (phone) expect(await b2cPaymentsTo(phone)).toEqual([]);
}

afterEach(async () => {
  await waitFor(
    async () => {
      const { rows } = await db().query(
        `SELECT count(*)::int AS n FROM payouts WHERE client_id LIKE $1 AND status NOT IN ('completed', 'failed') AND review_reason IS NULL`,
        [`${CLIENT_TAG}%`],
      );
      return rows[0].n === 0;
    },
    { timeoutMs: 25_000, message: "this file's disbursements to settle" },
  );
});

describe('POST /api/disbursements', () => {
  it('answers 202 with the disbursement, stored as pending, showing the phone masked', async () => {
    const body = disbursementBody();

    const res = await disburse(body);

    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      success: true,
      data: expect.objectContaining({
        id: expect.any(String),
        kind: 'disbursement',
        paymentId: null,
        clientId: CLIENT_TAG,
        status: 'pending',
        amount: 1_500,
        currency: 'KES',
        phoneNumber: masked(body.phoneNumber as string),
        commandId: 'BusinessPayment',
        remarks: 'Compensation for delayed hearing',
        occasion: 'Case 2291',
        originatorConversationId: expect.stringMatching(/^[A-Za-z0-9]{1,64}$/),
        requestedBy: admin.id,
      }),
    });
    const { rows } = await db().query('SELECT * FROM payouts WHERE id = $1', [res.body.data.id]);
    expect(rows[0].phone_number_encrypted).not.toContain(body.phoneNumber);
  });

  it.each(['BusinessPayment', 'SalaryPayment', 'PromotionPayment'])(
    'pays a %s by B2C once and completes it with the receipt',
    async (commandId) => {
      const phone = uniquePhone();
      const { id, originatorConversationId } = await acceptedDisbursement({ phoneNumber: phone, commandId, amount: 2_000 });

      const done = await waitForDisbursement(id, 'completed');
      await sleep(QUIET_PERIOD_MS);

      const sent = await b2cPaymentsTo(phone);
      expect(sent).toEqual([expect.objectContaining({ originatorConversationId, commandId, amount: 2_000, paid: true })]);
      expect(done).toMatchObject({ settledBy: 'result_callback', resultCode: '0', mpesaReceiptNumber: sent[0].receipt });
      expect(done.completedAt).toEqual(expect.any(String));
    },
  );

  it('accepts a local 07XXXXXXXX number and pays it as 2547XXXXXXXX', async () => {
    const phone = uniquePhone();
    const { id } = await acceptedDisbursement({ phoneNumber: `0${phone.slice(3)}` });

    await waitForDisbursement(id, 'completed');

    expect(await b2cPaymentsTo(phone)).toHaveLength(1);
  });

  it.each([
    { phone: '254700000001', resultCode: '1', resultDesc: 'The balance is insufficient for the transaction.' },
    { phone: '254700002001', resultCode: '2001', resultDesc: 'The initiator information is invalid.' },
  ])('fails a payout M-Pesa answers with ResultCode $resultCode, and resends nothing', async ({ phone, resultCode, resultDesc }) => {
    const before = (await b2cPaymentsTo(phone)).length;
    const { id, originatorConversationId } = await acceptedDisbursement({ phoneNumber: phone });

    const failed = await waitForDisbursement(id, 'failed');
    await sleep(QUIET_PERIOD_MS);

    expect(failed).toMatchObject({ settledBy: 'result_callback', resultCode, resultDesc, mpesaReceiptNumber: null });
    expect((await b2cPaymentsTo(phone)).slice(before)).toEqual([expect.objectContaining({ originatorConversationId, paid: false })]);
  });

  it('audits the request with the admin as actor, and writes a disbursement.completed notification', async () => {
    const { id } = await acceptedDisbursement();
    await waitForDisbursement(id, 'completed');

    const [requested] = await auditEventsFor(id, 'disbursement.requested');
    const { rows } = await db().query('SELECT event FROM notifications WHERE subject_id = $1', [id]);

    expect(requested).toMatchObject({ actor_type: 'user', actor_id: admin.id, entity_type: 'payout' });
    expect(rows.map((n) => n.event)).toEqual(['disbursement.completed']);
  });

  describe('refuses with 400 and stores nothing', () => {
    it.each([
      {
        case: 'an unknown commandId',
        overrides: { commandId: 'BusinessPayBill' },
        message: /commandId must be one of: BusinessPayment, SalaryPayment, PromotionPayment/,
      },
      { case: 'remarks of 1 character', overrides: { remarks: 'x' }, message: /remarks must be 2 to 100 characters/ },
      { case: 'remarks of 101 characters', overrides: { remarks: 'x'.repeat(101) }, message: /remarks must be 2 to 100 characters/ },
      { case: 'an amount of 5', overrides: { amount: 5 }, message: /amount must be at least 10/ },
      { case: 'an amount of 250001', overrides: { amount: 250_001 }, message: /amount must not exceed 250000/ },
      { case: 'an amount in cents', overrides: { amount: 99.5 }, message: /whole number/ },
      {
        case: 'a non-Safaricom phone number',
        overrides: { phoneNumber: '255712345678' },
        message: /phoneNumber must be a Safaricom number/,
      },
      { case: 'an empty occasion', overrides: { occasion: '' }, message: /occasion must be 1 to 100 characters/ },
      { case: 'an unknown field', overrides: { priority: 'high' }, message: /property priority should not exist/ },
    ])('$case', async ({ overrides, message }) => {
      await expectRefusedWithNothingStored(disbursementBody(overrides), { status: 400, code: 'VALIDATION_ERROR', message });
    });

    it.each(['phoneNumber', 'amount', 'commandId', 'remarks'])('a request without %s', async (field) => {
      const { [field]: _omitted, ...body } = disbursementBody();

      await expectRefusedWithNothingStored(body, { status: 400, code: 'VALIDATION_ERROR', message: new RegExp(field) });
    });
  });

  it('refuses a client with 403 and stores nothing', async () => {
    await expectRefusedWithNothingStored(disbursementBody(), { status: 403, code: 'FORBIDDEN' }, newClient().token);
  });

  it('refuses a request without a token with 401 and stores nothing', async () => {
    const tag = `refused-${randomUUID()}`;

    const res = await api('/api/disbursements', { method: 'POST', body: disbursementBody({ clientId: tag }) });

    expect(res.status).toBe(401);
    expect(await payoutRowsOf(tag)).toEqual([]);
  });
});

describe('GET /api/disbursements/:id', () => {
  it('returns the disbursement', async () => {
    const created = await acceptedDisbursement();

    const res = await api(`/api/disbursements/${created.id}`, { token: admin.token });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      data: expect.objectContaining({ id: created.id, kind: 'disbursement', amount: created.amount }),
    });
  });

  it('answers 404 for an unknown id', async () => {
    const res = await api(`/api/disbursements/${randomUUID()}`, { token: admin.token });

    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ success: false, code: 'NOT_FOUND' });
  });

  it('refuses a client with 403', async () => {
    const created = await acceptedDisbursement();

    const res = await api(`/api/disbursements/${created.id}`, { token: newClient().token });

    expect(res.status).toBe(403);
  });
});

describe('GET /api/disbursements', () => {
  it('lists disbursements newest first, with the total and the page', async () => {
    const first = await acceptedDisbursement();
    const second = await acceptedDisbursement();

    const res = await api('/api/disbursements', { token: admin.token, query: { page: 1, limit: 2 } });

    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ page: 1, limit: 2 });
    expect(res.body.data.total).toBeGreaterThanOrEqual(2);
    expect(res.body.data.items.map((d: any) => d.id)).toEqual([second.id, first.id]);
  });

  it('lists only disbursements, never refunds', async () => {
    const customer = newClient();
    const push = await pushStk(customer.token, stkPushBody({ amount: 500 }));
    expect(push.status).toBe(201);
    await waitForPaymentStatus(push.body.data.paymentId, 'completed');
    const refund = await api(`/api/payments/${push.body.data.paymentId}/refund`, {
      method: 'POST',
      token: admin.token,
      body: { amount: 100, reason: 'Overpaid' },
    });
    expect(refund.status).toBe(202);
    const created = await acceptedDisbursement();

    const res = await api('/api/disbursements', { token: admin.token, query: { limit: 100 } });

    expect(res.status).toBe(200);
    const ids = res.body.data.items.map((d: any) => d.id);
    expect(ids).toContain(created.id);
    expect(ids).not.toContain(refund.body.data.id);
    expect(new Set(res.body.data.items.map((d: any) => d.kind))).toEqual(new Set(['disbursement']));
    await waitFor(
      async () => (await db().query(`SELECT status FROM payouts WHERE id = $1`, [refund.body.data.id])).rows[0].status === 'completed',
      {
        message: 'the refund to complete',
      },
    );
  });

  it('refuses a client with 403', async () => {
    const res = await api('/api/disbursements', { token: newClient().token });

    expect(res.status).toBe(403);
  });
});
