// How each answer of the customer's phone ends a payment: spec scenarios "payment cancellation by user" and
// "payment timeout", plus the failures and the success that only the status query reports.
import { db } from '../support/app';
import {
  auditEventsFor,
  newClient,
  paymentStatus,
  pushStk,
  SCENARIO_PHONES,
  sleep,
  stkPushBody,
  waitForPaymentStatus,
  waitUntilSettled,
} from '../support/factories';

const client = newClient();

/** Longer than one status-sweep interval (1 s): a second settlement would have happened by then. */
const QUIET_PERIOD_MS = 1_500;

/** The audit trail's state changes of a payment (`payment.initiated` is its creation, not a change). */
async function stateChangesOf(paymentId: string): Promise<string[]> {
  const events = await auditEventsFor(paymentId);
  return events.map((e) => e.action).filter((action) => action !== 'payment.initiated');
}

/** Outbox rows: one per transition, written in the transition's transaction. */
async function notificationEventsOf(paymentId: string): Promise<string[]> {
  const { rows } = await db().query('SELECT event FROM notifications WHERE subject_id = $1 ORDER BY created_at', [paymentId]);
  return rows.map((r) => r.event);
}

async function startPayment(phoneNumber: string): Promise<string> {
  const res = await pushStk(client.token, stkPushBody({ phoneNumber }));
  expect(res.status).toBe(201);
  return res.body.data.paymentId;
}

afterEach(async () => {
  // Scenario phones allow one pending payment each: leave none behind for the next test or file.
  await waitUntilSettled([client.id]);
});

describe('STK Push outcomes reported by the callback', () => {
  it.each([
    {
      outcome: 'the customer cancels the prompt',
      phone: SCENARIO_PHONES.cancelledByUser,
      status: 'cancelled',
      resultCode: 1032,
      resultDesc: 'Request cancelled by user',
    },
    {
      outcome: 'the balance is insufficient',
      phone: SCENARIO_PHONES.insufficientFunds,
      status: 'failed',
      resultCode: 1,
      resultDesc: 'The balance is insufficient for the transaction.',
    },
    {
      outcome: 'the customer enters a wrong PIN',
      phone: SCENARIO_PHONES.wrongPin,
      status: 'failed',
      resultCode: 2001,
      resultDesc: 'The initiator information is invalid.',
    },
  ])('marks the payment $status when $outcome (ResultCode $resultCode)', async ({ phone, status, resultCode, resultDesc }) => {
    const paymentId = await startPayment(phone);

    await waitForPaymentStatus(paymentId, status as 'cancelled' | 'failed');

    const view = (await paymentStatus(client.token, paymentId)).body.data;
    expect(view).toMatchObject({
      status,
      resultCode,
      resultDesc,
      settledBy: 'callback',
      callbackReceived: true,
      mpesaReceiptNumber: null,
      completedAt: null,
    });
    expect(view.failedAt).not.toBeNull();
  });

  it.each([
    { outcome: 'cancelled', phone: SCENARIO_PHONES.cancelledByUser },
    { outcome: 'failed', phone: SCENARIO_PHONES.insufficientFunds },
    { outcome: 'failed', phone: SCENARIO_PHONES.wrongPin },
  ])('records a $outcome payment ($phone) as exactly one state change', async ({ phone, outcome }) => {
    const paymentId = await startPayment(phone);
    await waitForPaymentStatus(paymentId);
    await sleep(QUIET_PERIOD_MS);

    expect(await stateChangesOf(paymentId)).toEqual([`payment.${outcome}`]);
    expect(await notificationEventsOf(paymentId)).toEqual([`payment.${outcome}`]);
  });
});

describe('STK Push outcomes that only the status query reports', () => {
  it('times out a payment whose customer never answers (no callback; STK Query says 1037)', async () => {
    const paymentId = await startPayment(SCENARIO_PHONES.noAnswer);

    const row = await waitForPaymentStatus(paymentId, 'timeout');

    expect(['status_query', 'timeout']).toContain(row.settled_by);
    expect(row.callback_received).toBe(false);
    expect((await paymentStatus(client.token, paymentId)).body.data.status).toBe('timeout');
  });

  it('records an unanswered payment as exactly one state change, payment.timeout', async () => {
    const paymentId = await startPayment(SCENARIO_PHONES.noAnswer);
    await waitForPaymentStatus(paymentId);
    await sleep(QUIET_PERIOD_MS);

    expect(await stateChangesOf(paymentId)).toEqual(['payment.timeout']);
    expect(await notificationEventsOf(paymentId)).toEqual(['payment.timeout']);
  });

  it('completes a paid payment whose callback never comes, through the status query', async () => {
    const paymentId = await startPayment(SCENARIO_PHONES.noCallback);

    const row = await waitForPaymentStatus(paymentId, 'completed');

    expect(row).toMatchObject({ settled_by: 'status_query', result_code: '0', callback_received: false });
    expect(row.completed_at).not.toBeNull();
    expect((await paymentStatus(client.token, paymentId)).body.data).toMatchObject({
      status: 'completed',
      resultCode: 0,
      settledBy: 'status_query',
    });
  });

  it('records a payment completed by the status query as exactly one state change, payment.completed', async () => {
    const paymentId = await startPayment(SCENARIO_PHONES.noCallback);
    await waitForPaymentStatus(paymentId);
    await sleep(QUIET_PERIOD_MS);

    expect(await stateChangesOf(paymentId)).toEqual(['payment.completed']);
    expect(await notificationEventsOf(paymentId)).toEqual(['payment.completed']);
  });
});
