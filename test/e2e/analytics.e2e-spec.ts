// GET /api/payments/analytics: figures computed by Postgres over a window of Kenya days. The suite shares one
// database, so these tests write their own payments, straight into the table, in March 2001 (no other test
// goes near it), and ask only about that month.
import { randomBytes, randomUUID } from 'node:crypto';
import { api, ApiResponse, closeDb, db } from '../support/app';
import { newAdmin, newClient } from '../support/factories';

const admin = newAdmin();
const clientId = `analytics-${randomUUID()}`;

interface Fixture {
  status: 'pending' | 'completed' | 'failed' | 'cancelled' | 'timeout' | 'partially_refunded' | 'refunded' | 'reversed';
  paymentType: 'consultation_fee' | 'appointment_fee' | 'case_filing_fee' | 'other';
  amount: number;
  /** UTC. Kenya time is three hours ahead. */
  createdAt: string;
  resultCode: string | null;
  secondsToComplete?: number;
  refundedAmount?: number;
}

// Kenya days 2001-03-01 and 2001-03-02 (2001-03-03 has no payments), plus one payment on each side of them.
const FIXTURES: Record<string, Fixture> = {
  // 00:30 on 1 March in Nairobi, still 28 February in UTC.
  earlyKenyaMorning: {
    status: 'completed',
    paymentType: 'consultation_fee',
    amount: 1_000,
    createdAt: '2001-02-28T21:30:00Z',
    resultCode: '0',
    secondsToComplete: 20,
  },
  insufficientFunds: { status: 'failed', paymentType: 'consultation_fee', amount: 500, createdAt: '2001-03-01T08:00:00Z', resultCode: '1' },
  cancelled: { status: 'cancelled', paymentType: 'appointment_fee', amount: 2_000, createdAt: '2001-03-01T09:00:00Z', resultCode: '1032' },
  wrongPin: { status: 'failed', paymentType: 'appointment_fee', amount: 700, createdAt: '2001-03-01T10:00:00Z', resultCode: '2001' },
  // 01:30 on 2 March in Nairobi, still 1 March in UTC.
  lateUtcEvening: {
    status: 'completed',
    paymentType: 'case_filing_fee',
    amount: 5_000,
    createdAt: '2001-03-01T22:30:00Z',
    resultCode: '0',
    secondsToComplete: 40,
  },
  partlyRefunded: {
    status: 'partially_refunded',
    paymentType: 'consultation_fee',
    amount: 3_000,
    createdAt: '2001-03-02T06:00:00Z',
    resultCode: '0',
    secondsToComplete: 30,
    refundedAmount: 1_000,
  },
  refunded: {
    status: 'refunded',
    paymentType: 'appointment_fee',
    amount: 1_500,
    createdAt: '2001-03-02T07:00:00Z',
    resultCode: '0',
    secondsToComplete: 11,
    refundedAmount: 1_500,
  },
  reversed: {
    status: 'reversed',
    paymentType: 'case_filing_fee',
    amount: 7_000,
    createdAt: '2001-03-02T08:00:00Z',
    resultCode: '0',
    secondsToComplete: 50,
  },
  noAnswer: { status: 'timeout', paymentType: 'other', amount: 800, createdAt: '2001-03-02T09:00:00Z', resultCode: '1037' },
  neverAcknowledged: { status: 'timeout', paymentType: 'other', amount: 900, createdAt: '2001-03-02T10:00:00Z', resultCode: null },
  pending: { status: 'pending', paymentType: 'consultation_fee', amount: 1_200, createdAt: '2001-03-02T11:00:00Z', resultCode: null },
  // 23:59:59 on 28 February and 00:00 on 4 March in Nairobi: outside 1-3 March.
  dayBefore: {
    status: 'completed',
    paymentType: 'consultation_fee',
    amount: 99_000,
    createdAt: '2001-02-28T20:59:59Z',
    resultCode: '0',
    secondsToComplete: 5,
  },
  dayAfter: {
    status: 'completed',
    paymentType: 'consultation_fee',
    amount: 99_000,
    createdAt: '2001-03-03T21:00:00Z',
    resultCode: '0',
    secondsToComplete: 5,
  },
};

async function insertPayment(f: Fixture): Promise<void> {
  await db().query(
    `INSERT INTO payments (client_id, amount, status, payment_type, phone_number_encrypted, phone_number_hash, account_reference,
                           transaction_desc, result_code, refunded_amount, review_reason, initiated_at, completed_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'analytics-fixture', $5, 'LPANALYTICS', 'Analytics', $6, $7, $8, $9,
             $9::timestamptz + $10 * interval '1 second', $9, $9)`,
    [
      clientId,
      f.amount,
      f.status,
      f.paymentType,
      randomBytes(32).toString('hex'),
      f.resultCode,
      f.refundedAmount ?? 0,
      // A reason for a person keeps the status sweep away from the pending one.
      f.status === 'pending' ? 'analytics e2e fixture' : null,
      f.createdAt,
      f.secondsToComplete ?? null,
    ],
  );
}

/** As the admin, unless another token is given (null: none). */
function analytics(query: Record<string, string | undefined>, token: string | null = admin.token): Promise<ApiResponse> {
  return api('/api/payments/analytics', { token: token ?? undefined, query });
}

const MARCH = { from: '2001-03-01', to: '2001-03-03' };

const nothing = {
  count: 0,
  completed: 0,
  reversed: 0,
  failed: 0,
  cancelled: 0,
  timeout: 0,
  pending: 0,
  successRate: null,
  failureRate: null,
  revenue: 0,
  refunded: 0,
  avgSecondsToComplete: null,
};

beforeAll(async () => {
  for (const fixture of Object.values(FIXTURES)) await insertPayment(fixture);
});

afterAll(async () => {
  await db().query('DELETE FROM payments WHERE client_id = $1', [clientId]);
  // e2e-setup's afterAll, registered before this one, has already closed the pool that db() just reopened.
  await closeDb();
});

describe('GET /api/payments/analytics', () => {
  it('totals the window: counts per outcome, rates over settled payments, revenue without reversals, refunds, time to complete', async () => {
    const res = await analytics(MARCH);

    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    expect(res.body.data).toMatchObject({ from: '2001-02-28T21:00:00.000Z', to: '2001-03-03T21:00:00.000Z', groupBy: 'day' });
    expect(res.body.data.totals).toEqual({
      count: 11,
      completed: 4, // completed, partially_refunded and refunded
      reversed: 1,
      failed: 2,
      cancelled: 1,
      timeout: 2,
      pending: 1,
      successRate: 0.4, // 4 of the 10 settled
      failureRate: 0.5, // (2 + 1 + 2) of 10
      revenue: 10_500, // 1,000 + 5,000 + 3,000 + 1,500: not the reversed 7,000
      refunded: 2_500,
      avgSecondsToComplete: 25.3, // (20 + 40 + 30 + 11) / 4 = 25.25, the reversed payment's 50 s left out
    });
  });

  it('groups by Kenya day, every day of the window, with the early-morning payments on their Nairobi day', async () => {
    const res = await analytics(MARCH);

    expect(res.status).toBe(200);
    expect(res.body.data.groups).toEqual([
      {
        key: '2001-03-01',
        ...nothing,
        count: 4,
        completed: 1,
        failed: 2,
        cancelled: 1,
        successRate: 0.25,
        failureRate: 0.75,
        revenue: 1_000,
        avgSecondsToComplete: 20,
      },
      {
        key: '2001-03-02',
        ...nothing,
        count: 7,
        completed: 3,
        reversed: 1,
        timeout: 2,
        pending: 1,
        successRate: 0.5,
        failureRate: 0.3333,
        revenue: 9_500,
        refunded: 2_500,
        avgSecondsToComplete: 27,
      },
      { key: '2001-03-03', ...nothing },
    ]);
  });

  it('puts a payment made at 22:30 UTC on the next Kenya day', async () => {
    const first = await analytics({ from: '2001-03-01', to: '2001-03-01' });
    const second = await analytics({ from: '2001-03-02', to: '2001-03-02' });

    expect(first.body.data).toMatchObject({ from: '2001-02-28T21:00:00.000Z', to: '2001-03-01T21:00:00.000Z' });
    expect(first.body.data.totals).toMatchObject({ count: 4, revenue: 1_000 }); // with 00:30 Kenya time (21:30 UTC the day before)
    expect(second.body.data.totals).toMatchObject({ count: 7, revenue: 9_500 }); // with the 5,000 paid at 22:30 UTC on 1 March
  });

  it('takes date-times as instants: from included, to excluded', async () => {
    const res = await analytics({ from: FIXTURES.lateUtcEvening.createdAt, to: FIXTURES.refunded.createdAt });

    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ from: '2001-03-01T22:30:00.000Z', to: '2001-03-02T07:00:00.000Z' });
    expect(res.body.data.totals).toMatchObject({ count: 2, completed: 2, revenue: 8_000, refunded: 1_000 });
    expect(res.body.data.groups.map((g: { key: string }) => g.key)).toEqual(['2001-03-02']);
  });

  it('groups by payment type, every type, in a fixed order', async () => {
    const res = await analytics({ ...MARCH, groupBy: 'paymentType' });

    expect(res.status).toBe(200);
    expect(res.body.data.groupBy).toBe('paymentType');
    expect(res.body.data.groups).toEqual([
      {
        key: 'consultation_fee',
        ...nothing,
        count: 4,
        completed: 2,
        failed: 1,
        pending: 1,
        successRate: 0.6667,
        failureRate: 0.3333,
        revenue: 4_000,
        refunded: 1_000,
        avgSecondsToComplete: 25,
      },
      {
        key: 'appointment_fee',
        ...nothing,
        count: 3,
        completed: 1,
        failed: 1,
        cancelled: 1,
        successRate: 0.3333,
        failureRate: 0.6667,
        revenue: 1_500,
        refunded: 1_500,
        avgSecondsToComplete: 11,
      },
      {
        key: 'case_filing_fee',
        ...nothing,
        count: 2,
        completed: 1,
        reversed: 1,
        successRate: 0.5,
        failureRate: 0,
        revenue: 5_000,
        avgSecondsToComplete: 40,
      },
      { key: 'other', ...nothing, count: 2, timeout: 2, successRate: 0, failureRate: 1 },
    ]);
    expect(res.body.data.totals).toMatchObject({ count: 11, revenue: 10_500 });
  });

  it('counts result codes, most frequent first, pending and code-less payments as null', async () => {
    const res = await analytics(MARCH);

    expect(res.body.data.resultCodes).toEqual([
      { resultCode: '0', count: 5 },
      { resultCode: null, count: 2 },
      { resultCode: '1', count: 1 },
      { resultCode: '1032', count: 1 },
      { resultCode: '1037', count: 1 },
      { resultCode: '2001', count: 1 },
    ]);
  });

  it('answers zeros and null rates for a window without payments', async () => {
    const res = await analytics({ from: '2001-04-01', to: '2001-04-02' });

    expect(res.status).toBe(200);
    expect(res.body.data.totals).toEqual(nothing);
    expect(res.body.data.groups).toEqual([
      { key: '2001-04-01', ...nothing },
      { key: '2001-04-02', ...nothing },
    ]);
    expect(res.body.data.resultCodes).toEqual([]);
  });

  it('covers the last 30 Kenya days, today included, by default', async () => {
    const kenyaToday = () => new Date(Date.now() + 3 * 3_600_000).toISOString().slice(0, 10);
    const before = kenyaToday();
    const res = await analytics({});
    const after = kenyaToday();

    expect(res.status).toBe(200);
    const days: string[] = res.body.data.groups.map((g: { key: string }) => g.key);
    expect(days).toHaveLength(30);
    expect([before, after]).toContain(days[29]);
    expect(Date.parse(res.body.data.to) - Date.parse(res.body.data.from)).toBe(30 * 86_400_000);
    expect(res.body.data.to).toBe(new Date(Date.parse(`${days[29]}T00:00:00+03:00`) + 86_400_000).toISOString());
  });

  it('allows a window of exactly 366 days', async () => {
    const res = await analytics({ from: '2001-01-01', to: '2002-01-01', groupBy: 'paymentType' });

    expect(res.status).toBe(200);
    expect(res.body.data.totals.count).toBe(13); // all of this file's payments
  });

  it.each([
    [{ from: '2001-03-03', to: '2001-03-01' }, 'from must not be after to'],
    [{ from: '2001-01-01', to: '2002-01-02' }, 'from and to must be at most 366 days apart (this window spans 367 days)'],
    [{ from: '2001-01-01' }, 'from and to must be at most 366 days apart'],
    [{ ...MARCH, groupBy: 'week' }, 'groupBy must be one of: day, paymentType'],
    [{ from: '2001-02-30' }, 'from must be a day (YYYY-MM-DD, in Kenya time) or an ISO 8601 date-time with Z or an offset'],
    [{ to: '2001-03-01T10:00:00' }, 'to must be a day (YYYY-MM-DD, in Kenya time) or an ISO 8601 date-time with Z or an offset'],
    [{ ...MARCH, clientId }, 'property clientId should not exist'],
  ])('answers 400 to %j', async (query, message) => {
    const res = await analytics(query);

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, code: 'VALIDATION_ERROR' });
    expect(res.body.message).toContain(message);
  });

  it('answers 403 to a client', async () => {
    const res = await analytics(MARCH, newClient().token);

    expect(res.status).toBe(403);
    expect(res.body).toEqual({ success: false, message: 'This action requires the admin role', code: 'FORBIDDEN' });
  });

  it('answers 401 without a token', async () => {
    const res = await analytics(MARCH, null);

    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ success: false, code: 'UNAUTHENTICATED' });
  });
});
