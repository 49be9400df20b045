import { randomUUID } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import { api, ApiResponse, closeDb, testEnv, tokenFor, uniquePhone } from '../support/app';
import {
  auditEventsForRequest,
  listPayments,
  masked,
  newAdmin,
  newClient,
  paymentStatus,
  pushStk,
  SCENARIO_PHONES,
  sleep,
  stkPushBody,
  StkPushBody,
  TestUser,
  waitForPaymentStatus,
  waitUntilSettled,
} from '../support/factories';

/** Every client made here, so that afterAll can wait for their payments to settle. */
const clients: string[] = [];
function client(): TestUser {
  const c = newClient();
  clients.push(c.id);
  return c;
}

afterAll(async () => {
  await waitUntilSettled(clients);
  // e2e-setup's afterAll, registered before this one, has already closed the pool that db() just reopened.
  await closeDb();
});

/** Pushes and waits for the payment to settle; returns the push's answer. */
async function settledPayment(owner: TestUser, body: StkPushBody): Promise<ApiResponse> {
  const res = await pushStk(owner.token, body);
  if (res.status !== 201) throw new Error(`push answered ${res.status}: ${res.text}`);
  await waitForPaymentStatus(res.body.data.paymentId);
  return res;
}

describe('GET /api/payments/:id/status', () => {
  let owner: TestUser;
  let phone: string;
  let push: ApiResponse;
  let paymentId: string;

  beforeAll(async () => {
    owner = client();
    phone = uniquePhone();
    push = await settledPayment(
      owner,
      stkPushBody({
        phoneNumber: phone,
        amount: 1_500,
        paymentType: 'case_filing_fee',
        description: 'Filing fee',
        appointmentId: 'apt_8812',
      }),
    );
    paymentId = push.body.data.paymentId;
  });

  it('shows the owner the completed payment with its receipt and Daraja result', async () => {
    const res = await paymentStatus(owner.token, paymentId);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      data: expect.objectContaining({
        paymentId,
        status: 'completed',
        amount: 1_500,
        currency: 'KES',
        phoneNumber: masked(phone),
        paymentType: 'case_filing_fee',
        description: 'Filing fee',
        appointmentId: 'apt_8812',
        resultCode: 0,
        resultDesc: 'The service request is processed successfully.',
        mpesaReceiptNumber: expect.stringMatching(/^[A-Z0-9]{10}$/),
        checkoutRequestID: push.body.data.checkoutRequestID,
        merchantRequestID: push.body.data.merchantRequestID,
        initiatedAt: expect.any(String),
        completedAt: expect.any(String),
        failedAt: null,
      }),
    });
    expect(Date.parse(res.body.data.completedAt)).toBeGreaterThanOrEqual(Date.parse(res.body.data.initiatedAt));
  });

  it('never shows the full phone number', async () => {
    const res = await paymentStatus(owner.token, paymentId);

    expect(res.status).toBe(200);
    expect(res.body.data.phoneNumber).toMatch(/^2547\*{4}\d{3}$/);
    expect(res.text).not.toContain(phone.slice(3));
  });

  it('shows a payment still waiting for the customer as pending, without a receipt', async () => {
    const customer = client();
    const pending = await pushStk(customer.token, stkPushBody({ phoneNumber: SCENARIO_PHONES.lateCallback }));
    expect(pending.status).toBe(201);

    const res = await paymentStatus(customer.token, pending.body.data.paymentId);

    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ status: 'pending', mpesaReceiptNumber: null, resultCode: null, completedAt: null });
    await waitForPaymentStatus(pending.body.data.paymentId); // frees the scenario number for later tests
  });

  it("answers 404 to another client asking for this client's payment", async () => {
    const stranger = client();

    const res = await paymentStatus(stranger.token, paymentId);

    expect(res.status).toBe(404);
    expect(res.body).toEqual({ success: false, message: 'Payment not found', code: 'NOT_FOUND' });
  });

  it("shows an admin any client's payment", async () => {
    const res = await paymentStatus(newAdmin().token, paymentId);

    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ paymentId, clientId: owner.id, status: 'completed' });
  });

  it('answers 404 for an id that does not exist', async () => {
    const res = await paymentStatus(owner.token, randomUUID());

    expect(res.status).toBe(404);
    expect(res.body).toEqual({ success: false, message: 'Payment not found', code: 'NOT_FOUND' });
  });

  it.each([
    ['a short word', 'not-a-payment-id'],
    ['36 hex digits without dashes', 'a'.repeat(36)],
    ['36 dashes', '-'.repeat(36)],
  ])('answers 404 for an id that is not a UUID (%s)', async (_case, id) => {
    const res = await paymentStatus(owner.token, id);

    expect(res.status).toBe(404);
    expect(res.body).toEqual({ success: false, message: 'Payment not found', code: 'NOT_FOUND' });
  });
});

describe('GET /api/payments', () => {
  let alice: TestUser;
  let bob: TestUser;
  let startedAt: string;
  /** Alice's payment ids, oldest first: a consultation, a case filing, then (after `between`) a failed appointment. */
  let aliceIds: string[];
  let between: string;
  let bobId: string;

  beforeAll(async () => {
    alice = client();
    bob = client();
    startedAt = new Date(Date.now() - 1_000).toISOString();
    const consultation = await settledPayment(alice, stkPushBody({ paymentType: 'consultation_fee' }));
    const filing = await settledPayment(alice, stkPushBody({ paymentType: 'case_filing_fee' }));
    await sleep(50);
    between = new Date().toISOString();
    await sleep(50);
    const appointment = await settledPayment(
      alice,
      stkPushBody({ phoneNumber: SCENARIO_PHONES.insufficientFunds, paymentType: 'appointment_fee' }),
    );
    const bobs = await settledPayment(bob, stkPushBody());
    aliceIds = [consultation, filing, appointment].map((r) => r.body.data.paymentId);
    bobId = bobs.body.data.paymentId;
  });

  const idsOf = (res: ApiResponse): string[] => res.body.data.items.map((p: { paymentId: string }) => p.paymentId);

  it("lists only the client's own payments, newest first", async () => {
    const res = await listPayments(alice.token);

    expect(res.status).toBe(200);
    expect(idsOf(res)).toEqual([...aliceIds].reverse());
    expect(res.body.data.items.every((p: { clientId: string }) => p.clientId === alice.id)).toBe(true);
  });

  it('answers with the total, page 1 and a limit of 20 by default', async () => {
    const res = await listPayments(alice.token);

    expect(res.body).toEqual({ success: true, data: { items: expect.any(Array), total: 3, page: 1, limit: 20 } });
  });

  it('shows phone numbers masked in the list', async () => {
    const res = await listPayments(alice.token);

    expect(res.body.data.items.map((p: { phoneNumber: string }) => p.phoneNumber)).toEqual([
      masked(SCENARIO_PHONES.insufficientFunds),
      expect.stringMatching(/^2547\*{4}\d{3}$/),
      expect.stringMatching(/^2547\*{4}\d{3}$/),
    ]);
  });

  it('pages with page and limit', async () => {
    const res = await listPayments(alice.token, { page: 2, limit: 1 });

    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ total: 3, page: 2, limit: 1 });
    expect(idsOf(res)).toEqual([aliceIds[1]]);
  });

  it('pages with the nextCursor of each page, newest first, to the last page', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let n = 0; n < 5; n++) {
      const res = await listPayments(alice.token, { limit: 1, cursor });
      expect(res.status).toBe(200);
      seen.push(...idsOf(res));
      cursor = res.body.data.nextCursor;
      if (!cursor) break;
    }

    expect(seen).toEqual([...aliceIds].reverse());
  });

  it('keeps its filters across cursor pages', async () => {
    const first = await listPayments(alice.token, { limit: 1, to: between });
    const second = await listPayments(alice.token, { limit: 1, to: between, cursor: first.body.data.nextCursor });

    expect([...idsOf(first), ...idsOf(second)]).toEqual([aliceIds[1], aliceIds[0]]);
    expect(second.body.data.nextCursor).toBeUndefined();
  });

  it.each([
    ['a cursor that is not one of ours', 'bm90LWEtY3Vyc29y'],
    ['a cursor with an impossible date', Buffer.from(JSON.stringify(['2026-02-30 10:00:00+00', randomUUID()])).toString('base64url')],
  ])('refuses %s with 400', async (_case, cursor) => {
    const res = await listPayments(alice.token, { cursor });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, code: 'VALIDATION_ERROR', message: expect.stringMatching(/cursor/) });
  });

  it('answers an empty page past the end', async () => {
    const res = await listPayments(alice.token, { page: 5, limit: 1 });

    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ items: [], total: 3, page: 5, limit: 1 });
  });

  it('filters by status', async () => {
    const res = await listPayments(alice.token, { status: 'failed' });

    expect(res.status).toBe(200);
    expect(idsOf(res)).toEqual([aliceIds[2]]);
    expect(res.body.data.total).toBe(1);
  });

  it('filters by payment type', async () => {
    const res = await listPayments(alice.token, { paymentType: 'case_filing_fee' });

    expect(res.status).toBe(200);
    expect(idsOf(res)).toEqual([aliceIds[1]]);
  });

  it('filters by from: payments created at or after it', async () => {
    const res = await listPayments(alice.token, { from: between });

    expect(res.status).toBe(200);
    expect(idsOf(res)).toEqual([aliceIds[2]]);
  });

  it('filters by to: payments created at or before it', async () => {
    const res = await listPayments(alice.token, { to: between });

    expect(res.status).toBe(200);
    expect(idsOf(res)).toEqual([aliceIds[1], aliceIds[0]]);
  });

  it('lets an admin see every client’s payments', async () => {
    const res = await listPayments(newAdmin().token, { from: startedAt, limit: 100 });

    expect(res.status).toBe(200);
    expect(idsOf(res)).toEqual(expect.arrayContaining([...aliceIds, bobId]));
  });

  it('accepts a limit of 100', async () => {
    const res = await listPayments(alice.token, { limit: 100 });

    expect(res.status).toBe(200);
    expect(res.body.data.limit).toBe(100);
  });

  it.each([
    ['a limit above 100', { limit: 101 }, /limit must not be greater than 100/],
    ['a limit of 0', { limit: 0 }, /limit must not be less than 1/],
    ['page 0', { page: 0 }, /page must not be less than 1/],
    ['a page that is not a number', { page: 'two' }, /page must be an integer/],
    ['a page beyond any possible list', { page: '100000000000000000000' }, /page/],
    ['an unknown status', { status: 'paid' }, /status must be one of/],
    ['an unknown payment type', { paymentType: 'retainer' }, /paymentType must be one of/],
    ['a from that is not a date', { from: 'yesterday' }, /from must be an ISO 8601 date/],
    ['an unknown filter', { clientId: 'someone-else' }, /property clientId should not exist/],
  ])('refuses %s with 400', async (_case, query, message) => {
    const res = await listPayments(alice.token, query as Record<string, string | number>);

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, message: expect.stringMatching(message), code: 'VALIDATION_ERROR' });
  });
});

describe('authentication', () => {
  const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = () => Math.floor(Date.now() / 1000);

  /** GET /api/payments with `authorization` and a request id to find its audit event by. */
  async function listWith(authorization: string | undefined): Promise<{ res: ApiResponse; requestId: string }> {
    const requestId = randomUUID();
    const headers: Record<string, string> = { 'x-request-id': requestId };
    if (authorization !== undefined) headers.authorization = authorization;
    return { res: await api('/api/payments', { headers }), requestId };
  }

  const claims = () => ({ sub: `client-${randomUUID()}`, role: 'client' });

  it.each<[string, () => string | undefined, RegExp]>([
    ['no Authorization header', () => undefined, /Missing bearer token/],
    ['a non-Bearer scheme', () => `Basic ${Buffer.from('client:secret').toString('base64')}`, /Missing bearer token/],
    [
      'an expired token',
      () => `Bearer ${sign({ ...claims(), exp: now() - 60 }, testEnv().JWT_SECRET, { algorithm: 'HS256' })}`,
      /Token expired/,
    ],
    [
      'a token without exp',
      () => `Bearer ${sign(claims(), testEnv().JWT_SECRET, { algorithm: 'HS256' })}`,
      /^Token has no expiry \(exp claim\)$/,
    ],
    [
      'an unexpired token issued more than JWT_MAX_AGE_SECONDS (a day) ago',
      () => `Bearer ${sign({ ...claims(), iat: now() - 2 * 86_400, exp: now() + 3600 }, testEnv().JWT_SECRET, { algorithm: 'HS256' })}`,
      /^Token too old: issued more than 86400 s ago$/,
    ],
    [
      'a token valid for 10 years',
      () => `Bearer ${sign(claims(), testEnv().JWT_SECRET, { algorithm: 'HS256', expiresIn: '3650d' })}`,
      /^Token lifetime too long: it must expire within 86400 s$/,
    ],
    [
      'a token whose payload was changed after signing',
      () => {
        const [header, , signature] = tokenFor(claims()).split('.');
        return `Bearer ${header}.${base64url({ ...claims(), role: 'admin', exp: now() + 3600 })}.${signature}`;
      },
      /Invalid token/,
    ],
    [
      'a token whose signature was changed',
      () => {
        const [header, payload, signature] = tokenFor(claims()).split('.');
        return `Bearer ${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
      },
      /Invalid token/,
    ],
    [
      'a token signed with another secret',
      () => `Bearer ${sign(claims(), 'not-the-app-secret-0123456789abcdefghij', { algorithm: 'HS256', expiresIn: '1h' })}`,
      /Invalid token/,
    ],
    [
      'an alg: none token',
      () => `Bearer ${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ ...claims(), exp: now() + 3600 })}.`,
      /Invalid token/,
    ],
    [
      'a role other than client or admin',
      () => `Bearer ${tokenFor({ sub: `lawyer-${randomUUID()}`, role: 'lawyer' })}`,
      /Invalid token claims/,
    ],
    [
      'a token without a sub',
      () => `Bearer ${sign({ role: 'admin' }, testEnv().JWT_SECRET, { algorithm: 'HS256', expiresIn: '1h' })}`,
      /Invalid token claims/,
    ],
  ])('refuses %s with 401 and audits the failure', async (_case, authorization, message) => {
    const { res, requestId } = await listWith(authorization());

    expect(res.status).toBe(401);
    expect(res.body).toEqual({ success: false, message: expect.stringMatching(message), code: 'UNAUTHENTICATED' });
    expect(await auditEventsForRequest(requestId)).toEqual([expect.objectContaining({ action: 'auth.failed', entity_type: 'route' })]);
  });

  it('refuses an unauthenticated status request with 401', async () => {
    const res = await api(`/api/payments/${randomUUID()}/status`);

    expect(res.status).toBe(401);
    expect(res.body).toEqual({ success: false, message: 'Missing bearer token', code: 'UNAUTHENTICATED' });
  });

  it('lets a valid client token through', async () => {
    const { res, requestId } = await listWith(`Bearer ${newClient().token}`);

    expect(res.status).toBe(200);
    expect(await auditEventsForRequest(requestId)).toEqual([]);
  });
});
