// How LegalPro hears about a payment's end: a signed webhook per terminal state, retried until LegalPro's
// endpoint takes it, each attempt recorded, and no full phone number on the wire.
import { randomInt } from 'node:crypto';
import { db, testEnv, uniquePhone, waitFor } from '../support/app';
import {
  masked,
  newClient,
  paymentRow,
  pushStk,
  SCENARIO_PHONES,
  sleep,
  stkPushBody,
  waitForPaymentStatus,
  waitUntilSettled,
} from '../support/factories';
import { ReceivedWebhook, WebhookReceiver } from '../support/webhook-receiver';
import { verifyWebhook } from '../../src/notifications/webhook-signature';

const client = newClient();
let legalpro: WebhookReceiver;

beforeAll(async () => {
  legalpro = await WebhookReceiver.start();
});

afterAll(async () => {
  await legalpro?.stop();
});

afterEach(async () => {
  legalpro.respondWith(200);
  await waitUntilSettled([client.id]);
});

async function startPayment(phoneNumber: string = uniquePhone(), amount = 100): Promise<string> {
  const res = await pushStk(client.token, stkPushBody({ phoneNumber, amount }));
  expect(res.status).toBe(201);
  return res.body.data.paymentId;
}

/** Recognises a delivery before its payment id is known: the payment's masked phone and its amount. */
function isAbout(hook: ReceivedWebhook, phone: string, amount: number): boolean {
  return hook.body?.data?.phoneNumber === masked(phone) && hook.body?.data?.amount === amount;
}

/** Webhooks about one payment (earlier files' retried deliveries may reach this receiver too). */
function webhooksAbout(paymentId: string): ReceivedWebhook[] {
  return legalpro.received.filter((hook) => hook.body?.data?.paymentId === paymentId);
}

function firstWebhookAbout(paymentId: string): Promise<ReceivedWebhook> {
  return legalpro.waitFor((hook) => hook.body?.data?.paymentId === paymentId, 20_000);
}

async function notificationsOf(paymentId: string): Promise<Record<string, any>[]> {
  const { rows } = await db().query('SELECT * FROM notifications WHERE subject_id = $1 ORDER BY created_at', [paymentId]);
  return rows;
}

async function attemptsOf(notificationId: string): Promise<Record<string, any>[]> {
  const { rows } = await db().query('SELECT * FROM notification_attempts WHERE notification_id = $1 ORDER BY attempt', [notificationId]);
  return rows;
}

/** Waits until the payment's one notification is no longer pending, and returns it. */
async function finishedNotificationOf(paymentId: string): Promise<Record<string, any>> {
  return waitFor(
    async () => {
      const rows = await notificationsOf(paymentId);
      return rows.length === 1 && rows[0].status !== 'pending' ? rows[0] : undefined;
    },
    { timeoutMs: 20_000, message: `the notification about payment ${paymentId} to be delivered or failed` },
  );
}

describe('the payment webhook', () => {
  it('is signed: x-legalpro-signature verifies with WEBHOOK_SECRET over the raw body', async () => {
    const paymentId = await startPayment();

    const hook = await firstWebhookAbout(paymentId);

    const signature = String(hook.headers['x-legalpro-signature']);
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhook(testEnv().WEBHOOK_SECRET, hook.rawBody, signature)).toBe(true);
  });

  it('does not verify with another secret or over another body', async () => {
    const paymentId = await startPayment();

    const hook = await firstWebhookAbout(paymentId);

    const signature = String(hook.headers['x-legalpro-signature']);
    expect(verifyWebhook('some-other-secret', hook.rawBody, signature)).toBe(false);
    expect(verifyWebhook(testEnv().WEBHOOK_SECRET, hook.rawBody.replace('"completed"', '"failed"'), signature)).toBe(false);
  });

  it('announces a completed payment with its amount, receipt and masked phone number', async () => {
    const phone = uniquePhone();
    const paymentId = await startPayment(phone, 2_500);
    const row = await waitForPaymentStatus(paymentId, 'completed');

    const hook = await firstWebhookAbout(paymentId);

    const [notification] = await notificationsOf(paymentId);
    expect(hook.method).toBe('POST');
    expect(hook.headers['x-legalpro-event']).toBe('payment.completed');
    expect(hook.headers['x-legalpro-delivery']).toBe(notification.id);
    expect(hook.body).toMatchObject({
      id: notification.id,
      event: 'payment.completed',
      data: {
        paymentId,
        clientId: client.id,
        status: 'completed',
        amount: 2_500,
        currency: 'KES',
        mpesaReceiptNumber: row.mpesa_receipt_number,
        phoneNumber: masked(phone),
        settledBy: 'callback',
      },
    });
  });

  it('never carries the full phone number', async () => {
    const phone = uniquePhone();
    const paymentId = await startPayment(phone);

    const hook = await firstWebhookAbout(paymentId);

    expect(hook.rawBody).not.toContain(phone);
    expect(hook.rawBody).not.toContain(phone.slice(3)); // nor its local form without 254
    expect(JSON.stringify(hook.headers)).not.toContain(phone);
  });

  it.each([
    { end: 'cancelled by the customer', phone: SCENARIO_PHONES.cancelledByUser, event: 'payment.cancelled' },
    { end: 'failed for insufficient funds', phone: SCENARIO_PHONES.insufficientFunds, event: 'payment.failed' },
    { end: 'timed out (no answer)', phone: SCENARIO_PHONES.noAnswer, event: 'payment.timeout' },
  ])('is sent, signed, for a payment $end: $event', async ({ phone, event }) => {
    const paymentId = await startPayment(phone);

    const hook = await firstWebhookAbout(paymentId);

    expect(hook.body).toMatchObject({ event, data: { paymentId, status: event.replace('payment.', '') } });
    expect(verifyWebhook(testEnv().WEBHOOK_SECRET, hook.rawBody, String(hook.headers['x-legalpro-signature']))).toBe(true);
  });

  it('is sent once for a payment whose callback Daraja delivered three times', async () => {
    const paymentId = await startPayment(SCENARIO_PHONES.duplicateCallbacks);
    await firstWebhookAbout(paymentId);

    await sleep(1_500);

    expect(webhooksAbout(paymentId)).toHaveLength(1);
    expect(await notificationsOf(paymentId)).toHaveLength(1);
  });
});

describe('webhook delivery records', () => {
  it('marks the notification delivered after one attempt when LegalPro answers 200', async () => {
    const paymentId = await startPayment();

    const notification = await finishedNotificationOf(paymentId);

    expect(notification).toMatchObject({
      channel: 'webhook',
      event: 'payment.completed',
      status: 'delivered',
      attempts: 1,
      last_error: null,
    });
    expect(notification.delivered_at).not.toBeNull();
    const attempts = await attemptsOf(notification.id);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ attempt: 1, status_code: 200, error: null });
  });

  it('retries a webhook LegalPro answered with 500, records both attempts, and ends delivered', async () => {
    const phone = uniquePhone();
    const amount = randomInt(1_000, 250_000);
    let refused = 0;
    legalpro.respondWith((hook) => (isAbout(hook, phone, amount) && refused++ === 0 ? 500 : 200));
    const paymentId = await startPayment(phone, amount);

    const notification = await waitFor(
      async () => {
        const [row] = await notificationsOf(paymentId);
        return row?.status === 'delivered' ? row : undefined;
      },
      { timeoutMs: 20_000, message: 'the refused webhook to be delivered on a retry' },
    );

    expect(notification).toMatchObject({ attempts: 2, last_error: null });
    expect((await attemptsOf(notification.id)).map(({ attempt, status_code, error }) => ({ attempt, status_code, error }))).toEqual([
      { attempt: 1, status_code: 500, error: 'HTTP 500' },
      { attempt: 2, status_code: 200, error: null },
    ]);
    const deliveries = webhooksAbout(paymentId);
    expect(deliveries).toHaveLength(2);
    expect(deliveries[1].body.id).toBe(deliveries[0].body.id);
  });

  it('keeps the payment completed while its webhook is being retried', async () => {
    const phone = uniquePhone();
    const amount = randomInt(1_000, 250_000);
    legalpro.respondWith((hook) => (isAbout(hook, phone, amount) ? 500 : 200));
    const paymentId = await startPayment(phone, amount);

    await waitFor(async () => webhooksAbout(paymentId).length >= 1, { message: 'the first, refused, delivery' });

    expect((await paymentRow(paymentId))?.status).toBe('completed');
    const [notification] = await notificationsOf(paymentId);
    expect(notification.status).toBe('pending');
    // Let the retry through, so no delivery is left in flight after this file.
    legalpro.respondWith(200);
    await finishedNotificationOf(paymentId);
  });
});
