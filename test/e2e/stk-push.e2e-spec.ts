import { randomUUID } from 'node:crypto';
import { api, ApiResponse, closeDb, db, uniquePhone, waitFor } from '../support/app';
import {
  auditEventsFor,
  countPayments,
  masked,
  newClient,
  PAYMENT_TYPES,
  paymentRow,
  paymentRowsOf,
  pushStk,
  queueSimulatorFault,
  SCENARIO_PHONES,
  simulatedPushesTo,
  simulatorStats,
  stkPushBody,
  TestUser,
  transactionLogsFor,
  uniquePhone2541,
  waitForPaymentStatus,
  waitUntilSettled,
  without,
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

/** A refused request must leave no trace: no payment row and no STK push to anyone. */
async function expectRefusedWithNothingStored(
  send: () => Promise<ApiResponse>,
  who: TestUser,
  expected: { status: number; message: RegExp; code: string; phone?: string },
): Promise<void> {
  const rowsBefore = await countPayments();
  const pushesBefore = (await simulatorStats()).calls.stkpush;

  const res = await send();

  expect(res.status).toBe(expected.status);
  expect(res.body).toMatchObject({ success: false, message: expect.stringMatching(expected.message), code: expected.code });
  expect(await countPayments()).toBe(rowsBefore);
  expect(await paymentRowsOf(who.id)).toHaveLength(0);
  expect((await simulatorStats()).calls.stkpush).toBe(pushesBefore);
  if (expected.phone) expect(await simulatedPushesTo(expected.phone)).toHaveLength(0);
}

describe('POST /api/payments/stk-push', () => {
  describe('a successful payment to the Daraja test number 254708374149', () => {
    let customer: TestUser;
    let pushesBefore: number;
    let push: ApiResponse;
    let paymentId: string;
    let settled: Record<string, any>;

    beforeAll(async () => {
      customer = client();
      pushesBefore = (await simulatedPushesTo(SCENARIO_PHONES.success)).length;
      push = await pushStk(
        customer.token,
        stkPushBody({ phoneNumber: SCENARIO_PHONES.success, amount: 100, description: 'Consultation fee' }),
      );
      paymentId = push.body?.data?.paymentId;
      if (push.status !== 201) throw new Error(`push answered ${push.status}: ${push.text}`);
      settled = await waitForPaymentStatus(paymentId);
    });

    it('answers 201 with the payment id, the checkout ids and the customer message', () => {
      expect(push.status).toBe(201);
      expect(push.body).toEqual({
        success: true,
        message: 'STK Push initiated successfully',
        data: {
          paymentId: expect.stringMatching(/^[0-9a-f-]{36}$/),
          status: 'pending',
          checkoutRequestID: expect.stringMatching(/^ws_CO_/),
          merchantRequestID: expect.any(String),
          customerMessage: 'Success. Request accepted for processing',
        },
      });
    });

    it('sends exactly one push to Daraja', async () => {
      const pushes = await simulatedPushesTo(SCENARIO_PHONES.success);

      expect(pushes).toHaveLength(pushesBefore + 1);
      expect(pushes.filter((p) => p.checkoutRequestId === push.body.data.checkoutRequestID)).toEqual([
        expect.objectContaining({ phone: SCENARIO_PHONES.success, amount: 100 }),
      ]);
    });

    it('ends completed with a 10-character M-Pesa receipt', () => {
      expect(settled).toMatchObject({
        status: 'completed',
        amount: 100,
        result_code: '0',
        checkout_request_id: push.body.data.checkoutRequestID,
        mpesa_receipt_number: expect.stringMatching(/^[A-Z0-9]{10}$/),
      });
      expect(settled.completed_at).toBeInstanceOf(Date);
    });

    it('is settled by the callback', () => {
      expect(settled.settled_by).toBe('callback');
      expect(settled.callback_received).toBe(true);
    });

    it('records exactly one payment.completed audit event', async () => {
      const events = await auditEventsFor(paymentId, 'payment.completed');

      expect(events).toHaveLength(1);
      expect(events[0].after).toMatchObject({
        status: 'completed',
        settledBy: 'callback',
        mpesaReceiptNumber: settled.mpesa_receipt_number,
      });
    });

    it('logs one STK_PUSH call and one STK_CALLBACK against the payment', async () => {
      expect(await transactionLogsFor(paymentId, 'STK_PUSH')).toHaveLength(1);
      expect(await transactionLogsFor(paymentId, 'STK_CALLBACK')).toHaveLength(1);
    });

    it('logs the push with the password redacted and the phone masked', async () => {
      const [log] = await transactionLogsFor(paymentId, 'STK_PUSH');

      expect(log.request_data).toMatchObject({
        Password: '[REDACTED]',
        PartyA: masked(SCENARIO_PHONES.success),
        PhoneNumber: masked(SCENARIO_PHONES.success),
      });
      expect(JSON.stringify(log.request_data)).not.toContain('708374149');
    });

    it('stores the phone number encrypted', () => {
      expect(settled.phone_number_encrypted).toEqual(expect.any(String));
      expect(settled.phone_number_encrypted).not.toContain('708374149');
    });

    it('keeps the phone number in clear out of every column of the stored payment', async () => {
      const { rows } = await db().query('SELECT row_to_json(p) AS row FROM payments p WHERE id = $1', [paymentId]);
      const columnsWithTheNumber = Object.entries(rows[0].row as Record<string, unknown>)
        .filter(([, value]) => JSON.stringify(value ?? null).includes('708374149'))
        .map(([column]) => column);

      expect(columnsWithTheNumber).toEqual([]);
    });
  });

  describe('phone numbers', () => {
    it.each([
      ['07XXXXXXXX', (msisdn: string) => `0${msisdn.slice(3)}`, uniquePhone],
      ['01XXXXXXXX', (msisdn: string) => `0${msisdn.slice(3)}`, uniquePhone2541],
      ['2547XXXXXXXX', (msisdn: string) => msisdn, uniquePhone],
      ['2541XXXXXXXX', (msisdn: string) => msisdn, uniquePhone2541],
      ['+2547XXXXXXXX', (msisdn: string) => `+${msisdn}`, uniquePhone],
    ])('accepts %s and sends Daraja the 254 form', async (_format, written, newMsisdn) => {
      const customer = client();
      const msisdn = newMsisdn();

      const res = await pushStk(customer.token, stkPushBody({ phoneNumber: written(msisdn) }));

      expect(res.status).toBe(201);
      expect(await simulatedPushesTo(msisdn)).toEqual([
        expect.objectContaining({ phone: msisdn, checkoutRequestId: res.body.data.checkoutRequestID }),
      ]);
    });

    it.each([
      ['a non-Safaricom prefix', '0812345678'],
      ['too few digits', '07123456'],
      ['too many digits', '0712345678901'],
      ['another country code', '+255712345678'],
      ['letters', '07one2three4'],
      ['an empty string', ''],
      ['a number instead of a string', 254712345678],
    ])('refuses %s with 400 and stores nothing', async (_case, phoneNumber) => {
      const customer = client();

      await expectRefusedWithNothingStored(() => pushStk(customer.token, stkPushBody({ phoneNumber })), customer, {
        status: 400,
        message: /phoneNumber must be/,
        code: 'VALIDATION_ERROR',
      });
    });
  });

  describe('amounts', () => {
    it.each([
      [0, /amount must be at least 1/],
      [-5, /amount must be at least 1/],
      [10.5, /amount must be a whole number of shillings/],
      ['100', /amount must be a whole number of shillings/],
    ])('refuses %p with 400 and stores nothing', async (amount, message) => {
      const customer = client();
      const phone = uniquePhone();

      await expectRefusedWithNothingStored(() => pushStk(customer.token, stkPushBody({ phoneNumber: phone, amount })), customer, {
        status: 400,
        message,
        code: 'VALIDATION_ERROR',
        phone,
      });
    });

    it('accepts the minimum of 1', async () => {
      const customer = client();

      const res = await pushStk(customer.token, stkPushBody({ amount: 1 }));

      expect(res.status).toBe(201);
      expect(await paymentRow(res.body.data.paymentId)).toMatchObject({ amount: 1 });
    });

    it('accepts the Daraja maximum of 250,000 and completes it', async () => {
      const customer = client();
      const phone = uniquePhone();

      const res = await pushStk(customer.token, stkPushBody({ phoneNumber: phone, amount: 250_000 }));

      expect(res.status).toBe(201);
      expect(await waitForPaymentStatus(res.body.data.paymentId)).toMatchObject({ status: 'completed', amount: 250_000 });
      expect(await simulatedPushesTo(phone)).toEqual([expect.objectContaining({ amount: 250_000 })]);
    });

    it('refuses 250,001 with 400 and stores nothing', async () => {
      const customer = client();
      const phone = uniquePhone();

      await expectRefusedWithNothingStored(() => pushStk(customer.token, stkPushBody({ phoneNumber: phone, amount: 250_001 })), customer, {
        status: 400,
        message: /amount must not exceed 250000/,
        code: 'VALIDATION_ERROR',
        phone,
      });
    });
  });

  describe('payment types', () => {
    it.each(PAYMENT_TYPES)('accepts %s', async (paymentType) => {
      const customer = client();

      const res = await pushStk(customer.token, stkPushBody({ paymentType }));

      expect(res.status).toBe(201);
      expect(await paymentRow(res.body.data.paymentId)).toMatchObject({ payment_type: paymentType });
    });

    it('refuses an unknown payment type with 400 naming the allowed ones', async () => {
      const customer = client();
      const phone = uniquePhone();

      await expectRefusedWithNothingStored(
        () => pushStk(customer.token, stkPushBody({ phoneNumber: phone, paymentType: 'retainer' })),
        customer,
        {
          status: 400,
          message: /paymentType must be one of: consultation_fee, appointment_fee, case_filing_fee, other/,
          code: 'VALIDATION_ERROR',
          phone,
        },
      );
    });
  });

  describe('request shape', () => {
    it.each(['phoneNumber', 'amount', 'paymentType', 'description'])(
      'refuses a request without %s with 400 and stores nothing',
      async (field) => {
        const customer = client();
        const phone = uniquePhone();

        await expectRefusedWithNothingStored(() => pushStk(customer.token, without(stkPushBody({ phoneNumber: phone }), field)), customer, {
          status: 400,
          message: new RegExp(field),
          code: 'VALIDATION_ERROR',
          phone: field === 'phoneNumber' ? undefined : phone,
        });
      },
    );

    it('refuses an unknown field with 400 and stores nothing', async () => {
      const customer = client();
      const phone = uniquePhone();

      await expectRefusedWithNothingStored(() => pushStk(customer.token, stkPushBody({ phoneNumber: phone, discount: 50 })), customer, {
        status: 400,
        message: /property discount should not exist/,
        code: 'VALIDATION_ERROR',
        phone,
      });
    });

    it('refuses an account reference longer than 12 characters with 400 and stores nothing', async () => {
      const customer = client();
      const phone = uniquePhone();

      await expectRefusedWithNothingStored(
        () => pushStk(customer.token, stkPushBody({ phoneNumber: phone, accountReference: 'CASE-2291-KLA' })),
        customer,
        { status: 400, message: /accountReference must be 1-12 letters, digits, spaces or dashes/, code: 'VALIDATION_ERROR', phone },
      );
    });

    it('sends Daraja the account reference as given', async () => {
      const customer = client();
      const phone = uniquePhone();

      const res = await pushStk(customer.token, stkPushBody({ phoneNumber: phone, accountReference: 'CASE-2291' }));

      expect(res.status).toBe(201);
      expect(await simulatedPushesTo(phone)).toEqual([expect.objectContaining({ accountReference: 'CASE-2291' })]);
    });

    it('defaults the account reference to LP and the start of the payment id', async () => {
      const customer = client();
      const phone = uniquePhone();

      const res = await pushStk(customer.token, stkPushBody({ phoneNumber: phone }));

      expect(res.status).toBe(201);
      const expected = `LP${res.body.data.paymentId.replace(/-/g, '').slice(0, 10).toUpperCase()}`;
      expect(await simulatedPushesTo(phone)).toEqual([expect.objectContaining({ accountReference: expected })]);
    });

    it('accepts a long description and sends Daraja its first 13 characters', async () => {
      const customer = client();
      const phone = uniquePhone();
      const description = 'Consultation with Advocate Otieno about the Karen land dispute, second session';

      const res = await pushStk(customer.token, stkPushBody({ phoneNumber: phone, description }));

      expect(res.status).toBe(201);
      const [sent] = await simulatedPushesTo(phone);
      expect(sent.transactionDesc.length).toBeLessThanOrEqual(13);
      expect(description.startsWith(sent.transactionDesc)).toBe(true);
      expect(sent.accountReference.length).toBeLessThanOrEqual(12);
      expect(await paymentRow(res.body.data.paymentId)).toMatchObject({ description });
    });
  });

  describe('authentication', () => {
    it('refuses a push with a forged token with 401 and stores nothing', async () => {
      const customer = client();
      const phone = uniquePhone();
      const [header, payload, signature] = customer.token.split('.');
      const forged = `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;

      await expectRefusedWithNothingStored(() => pushStk(forged, stkPushBody({ phoneNumber: phone })), customer, {
        status: 401,
        message: /Invalid token/,
        code: 'UNAUTHENTICATED',
        phone,
      });
    });

    it('refuses a push without a token with 401 and stores nothing', async () => {
      const customer = client();
      const phone = uniquePhone();

      await expectRefusedWithNothingStored(() => pushStk(undefined, stkPushBody({ phoneNumber: phone })), customer, {
        status: 401,
        message: /Missing bearer token/,
        code: 'UNAUTHENTICATED',
        phone,
      });
    });
  });

  describe('one pending payment per phone', () => {
    it('refuses a second push to a phone whose payment is pending with 409 naming that payment', async () => {
      const customer = client();
      const phone = SCENARIO_PHONES.lateCallback; // the customer takes seconds to answer the prompt
      const pushesBefore = (await simulatedPushesTo(phone)).length;
      const first = await pushStk(customer.token, stkPushBody({ phoneNumber: phone }));
      expect(first.status).toBe(201);

      const second = await pushStk(customer.token, stkPushBody({ phoneNumber: phone, amount: 250 }));

      expect(second.status).toBe(409);
      expect(second.body).toEqual({
        success: false,
        message: expect.stringMatching(/already pending/),
        code: 'PAYMENT_PENDING_FOR_PHONE',
        details: { paymentId: first.body.data.paymentId },
      });
      expect(await paymentRowsOf(customer.id)).toHaveLength(1);
      expect(await simulatedPushesTo(phone)).toHaveLength(pushesBefore + 1);
      await waitForPaymentStatus(first.body.data.paymentId); // frees the scenario number for later tests
    });
  });

  describe('the payment row', () => {
    it('is stored as pending before M-Pesa answers the push', async () => {
      const customer = client();
      await queueSimulatorFault('stkpush', 'delay', { delayMs: 1_500 });
      let answered = false;
      const response = pushStk(customer.token, stkPushBody()).finally(() => {
        answered = true;
      });

      const row = await waitFor(() => paymentRowsOf(customer.id).then((rows) => rows[0]), { intervalMs: 20 });

      expect(answered).toBe(false);
      expect(row).toMatchObject({ stk_push_status: 'initiating', amount: 100 });
      expect((await response).status).toBe(201);
    });
  });

  describe('Idempotency-Key', () => {
    it('replays the first answer for the same key and body, without a second push', async () => {
      const customer = client();
      const body = stkPushBody();
      const key = randomUUID();
      const first = await pushStk(customer.token, body, { idempotencyKey: key });

      const second = await pushStk(customer.token, body, { idempotencyKey: key });

      expect(first.status).toBe(201);
      expect(second.status).toBe(first.status);
      expect(second.body).toEqual(first.body);
      expect(second.headers['idempotent-replayed']).toBe('true');
      expect(await simulatedPushesTo(body.phoneNumber as string)).toHaveLength(1);
      expect(await paymentRowsOf(customer.id)).toHaveLength(1);
    });

    it('does not mark a first answer as replayed', async () => {
      const customer = client();

      const res = await pushStk(customer.token, stkPushBody(), { idempotencyKey: randomUUID() });

      expect(res.status).toBe(201);
      expect(res.headers['idempotent-replayed']).toBeUndefined();
    });

    it('refuses the same key with another body with 422, without a second push', async () => {
      const customer = client();
      const key = randomUUID();
      const first = await pushStk(customer.token, stkPushBody(), { idempotencyKey: key });
      expect(first.status).toBe(201);
      const other = stkPushBody({ amount: 200 });

      const second = await pushStk(customer.token, other, { idempotencyKey: key });

      expect(second.status).toBe(422);
      expect(second.body).toEqual({ success: false, message: expect.stringMatching(/different request/), code: 'IDEMPOTENCY_KEY_REUSED' });
      expect(await simulatedPushesTo(other.phoneNumber as string)).toHaveLength(0);
      expect(await paymentRowsOf(customer.id)).toHaveLength(1);
    });

    it("treats another client's use of the same key as a new payment", async () => {
      const alice = client();
      const bob = client();
      const body = stkPushBody();
      const key = randomUUID();
      const first = await pushStk(alice.token, body, { idempotencyKey: key });
      await waitForPaymentStatus(first.body.data.paymentId); // the phone is free again

      const second = await pushStk(bob.token, body, { idempotencyKey: key });

      expect(second.status).toBe(201);
      expect(second.headers['idempotent-replayed']).toBeUndefined();
      expect(second.body.data.paymentId).not.toBe(first.body.data.paymentId);
      expect(await simulatedPushesTo(body.phoneNumber as string)).toHaveLength(2);
    });

    it('refuses the same key with 409 while the first request is still running', async () => {
      const customer = client();
      const body = stkPushBody();
      const key = randomUUID();
      // Daraja holds its answer for 2 s (under the app's 2.5 s timeout): the first request stays in flight.
      await queueSimulatorFault('stkpush', 'delay', { delayMs: 2_000 });
      const first = pushStk(customer.token, body, { idempotencyKey: key });
      await waitFor(() => paymentRowsOf(customer.id).then((rows) => rows.length > 0), { intervalMs: 20 });

      const second = await pushStk(customer.token, body, { idempotencyKey: key });

      expect(second.status).toBe(409);
      expect(second.body).toEqual({
        success: false,
        message: expect.stringMatching(/still being processed/),
        code: 'IDEMPOTENCY_KEY_IN_USE',
      });
      expect((await first).status).toBe(201);
      expect(await simulatedPushesTo(body.phoneNumber as string)).toHaveLength(1);
    });

    it('refuses a key longer than 255 characters with 400 and stores nothing', async () => {
      const customer = client();
      const phone = uniquePhone();

      await expectRefusedWithNothingStored(
        () => pushStk(customer.token, stkPushBody({ phoneNumber: phone }), { idempotencyKey: 'k'.repeat(256) }),
        customer,
        {
          status: 400,
          message: /Idempotency-Key must be 1-255 printable ASCII characters/,
          code: 'VALIDATION_ERROR',
          phone,
        },
      );
    });
  });

  describe('50 concurrent payments', () => {
    it('completes all of them, each with its own receipt', async () => {
      const customer = client();
      const bodies = Array.from({ length: 50 }, () => stkPushBody());

      const responses = await Promise.all(bodies.map((body) => pushStk(customer.token, body)));

      expect(responses.map((r) => r.status)).toEqual(bodies.map(() => 201));
      await waitUntilSettled([customer.id]);
      const { rows } = await db().query('SELECT status, mpesa_receipt_number FROM payments WHERE client_id = $1', [customer.id]);
      expect(rows).toHaveLength(50);
      expect(rows.filter((r) => r.status !== 'completed')).toEqual([]);
      expect(new Set(rows.map((r) => r.mpesa_receipt_number)).size).toBe(50);
    });
  });
});

describe('the OpenAPI document', () => {
  it('lists POST /api/payments/stk-push with the payment types', async () => {
    const res = await api('/docs-json');

    expect(res.status).toBe(200);
    expect(res.body.paths['/api/payments/stk-push']).toHaveProperty('post');
    expect(res.body.components.schemas.InitiateStkPushDto.properties.paymentType.enum).toEqual([
      'consultation_fee',
      'appointment_fee',
      'case_filing_fee',
      'other',
    ]);
  });
});
