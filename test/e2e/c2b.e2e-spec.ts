// C2B over HTTP: customers paying the Paybill from their own phone. Registration of the validation and confirmation
// URLs, bills paid by Paybill (exact, partial, over, a wrong account number, a confirmation delivered twice), ten
// confirmations for one bill at once, one receipt told by an STK callback and by a confirmation being one payment,
// strict validation, and "URLs already registered". Payments go through the simulator's C2B simulate (it runs
// validation and confirmation against the app) or, at the HTTP boundary, Daraja's exact JSON (test/fixtures/daraja.ts)
// posted to the URL the app registered.
//
// Two apps: the run's shared one (lenient validation, the simulator's defaults), and "the strict app", started in the
// background while the shared app's tests run: C2B_VALIDATION=strict, and simulator switches the shared app must not
// see (production-style registration, STK pushes also confirmed on the C2B URL).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Pool } from 'pg';
import { darajaTimestamp } from '../../src/mpesa/daraja-time';
import { verifyWebhook } from '../../src/notifications/webhook-signature';
import { c2bConfirmation, c2bValidation } from '../fixtures/daraja';
import { api, db, sim, testEnv, uniquePhone, waitFor } from '../support/app';
import { C2bStage, postToRegisteredUrl, registerC2b, registeredC2bUrls, sharedStage, simulateC2b, simulatedC2b } from '../support/c2b';
import { PROJECT_ROOT } from '../support/e2e-state';
import { ExtraApp, startExtraApp } from '../support/extra-app';
import { latestSimulatedPush, newAdmin, newClient, reviewsOf, SCENARIO_PHONES, stkPushBody, TestUser } from '../support/factories';
import { childEnv } from '../support/test-env';
import { WebhookReceiver } from '../support/webhook-receiver';

const admin = newAdmin();
const SUCCESS = { ResultCode: 0, ResultDesc: 'Success' };
/** The simulator's C2B number whose confirmation is delivered twice (src/mpesa/simulator/simulator-scenarios.ts). */
const CONFIRMED_TWICE = '254700000021';

let shared: C2bStage;
let webhooks: WebhookReceiver;
let strictApp: Promise<ExtraApp>;

beforeAll(async () => {
  // Started now, awaited by its own tests: its start overlaps the shared app's tests.
  strictApp = startExtraApp({ C2B_VALIDATION: 'strict', LOG_LEVEL: 'warn' }, 'c2b-strict');
  strictApp.catch(() => undefined);
  webhooks = await WebhookReceiver.start();
  shared = sharedStage();
  const registered = await registerC2b(shared, admin.token);
  expect(registered.status).toBe(200);
});

afterAll(async () => {
  await webhooks.stop();
  await (await strictApp.catch(() => undefined))?.stop();
});

// ---- Questions asked of an app ----

async function openBill(client: TestUser, amount: number, baseUrl?: string): Promise<Record<string, any>> {
  const res = await api('/api/bills', {
    method: 'POST',
    token: admin.token,
    body: { clientId: client.id, amount, paymentType: 'consultation_fee', description: 'Consultation' },
    baseUrl,
  });
  expect(res.status).toBe(201);
  return res.body.data;
}

const billOf = (id: string, baseUrl?: string) => api(`/api/bills/${id}`, { token: admin.token, baseUrl }).then((r) => r.body.data);

async function waitForBill(id: string, paidAmount: number, baseUrl?: string): Promise<Record<string, any>> {
  return waitFor(async () => (await billOf(id, baseUrl))?.paidAmount === paidAmount && billOf(id, baseUrl), {
    message: `bill ${id} to have KES ${paidAmount} paid`,
  });
}

async function paymentOfReceipt(receipt: string): Promise<Record<string, any>> {
  return waitFor(async () => (await db().query('SELECT * FROM payments WHERE mpesa_receipt_number = $1', [receipt])).rows[0], {
    message: `a payment holding receipt ${receipt}`,
  });
}

/** The AccountReference the app sent with a push (what a C2B confirmation of it would carry as BillRefNumber). */
async function accountReferenceOf(paymentId: string): Promise<string> {
  return (await db().query('SELECT account_reference FROM payments WHERE id = $1', [paymentId])).rows[0].account_reference;
}

async function ledgerRow(receipt: string): Promise<Record<string, any> | undefined> {
  return (await db().query('SELECT * FROM mpesa_receipts WHERE receipt = $1', [receipt])).rows[0];
}

async function confirmationLogs(receipt: string): Promise<Record<string, any>[]> {
  const { rows } = await db().query(
    `SELECT * FROM transaction_logs WHERE transaction_type = 'C2B_CONFIRMATION' AND transaction_id = $1 ORDER BY id`,
    [receipt],
  );
  return rows;
}

async function webhook(event: string, match: (data: any) => boolean) {
  const hook = await webhooks.waitFor((h) => h.body?.event === event && match(h.body.data));
  expect(verifyWebhook(testEnv().WEBHOOK_SECRET, hook.rawBody, String(hook.headers['x-legalpro-signature']))).toBe(true);
  return hook.body.data;
}

/** Daraja's confirmation JSON (docs/daraja.md §9.5) for a payment made now. */
function confirmationBody(receipt: string, amount: number, accountReference: string, msisdn = '2547 ***** 126') {
  return c2bConfirmation({ receipt, amount, accountReference, transTime: darajaTimestamp(), shortCode: '174379', msisdn });
}

let receiptCount = 0;
/** A receipt no simulator will ever issue (they start with a letter and count up here). */
const ownReceipt = () => `TC${process.pid.toString(36).toUpperCase().slice(-3)}${String(++receiptCount).padStart(5, '0')}`;

/** `2547 ***** 149`: a number as C2B v2 shows it (docs/daraja.md §9.7). */
const maskedLikeC2b = (phone: string) => `${phone.slice(0, 4)} ***** ${phone.slice(-3)}`;

describe('registration', () => {
  it('registers the URLs (admins only), which carry a token and no "mpesa"', async () => {
    const res = await registerC2b(shared, admin.token);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      shortCode: '174379',
      responseType: 'Completed',
      validationUrl: expect.stringMatching(/\/api\/payments\/daraja\/c2b\/validation$/),
      confirmationUrl: expect.stringMatching(/\/api\/payments\/daraja\/c2b\/confirmation$/),
    });
    const urls = await registeredC2bUrls(shared);
    expect(new URL(urls.confirmationUrl).searchParams.get('token')).toMatch(/^[0-9a-f]{64}$/);
    expect(urls.confirmationUrl.toLowerCase()).not.toContain('mpesa');
    expect((await registerC2b(shared, newClient().token)).status).toBe(403);
  });
});

describe('a bill paid by Paybill', () => {
  it.concurrent('exactly: a completed c2b payment with the receipt, the bill paid, both announced', async () => {
    const client = newClient();
    const bill = await openBill(client, 500);
    const paid = await simulateC2b(shared, { amount: 500, billRefNumber: bill.accountReference }, admin.token);
    const { receipt } = await simulatedC2b(shared, paid);

    const row = await paymentOfReceipt(receipt);
    expect(row).toMatchObject({ channel: 'c2b', status: 'completed', amount: 500, client_id: client.id, bill_id: bill.billId });
    expect(row.settled_by).toBe('c2b_confirmation');
    expect(await waitForBill(bill.billId, 500)).toMatchObject({ status: 'paid', balance: 0 });
    // The client sees its Paybill payment, with the payer's number as M-Pesa masked it, under channel c2b.
    const list = await api('/api/payments', { token: client.token, query: { channel: 'c2b' } });
    expect(list.body.data.items).toEqual([
      expect.objectContaining({
        paymentId: row.id,
        channel: 'c2b',
        billId: bill.billId,
        mpesaReceiptNumber: receipt,
        accountReference: bill.accountReference,
        phoneNumber: `${paid.phone.slice(0, 4)}*****${paid.phone.slice(-3)}`,
      }),
    ]);
    expect((await api('/api/payments', { token: client.token, query: { channel: 'stk' } })).body.data.total).toBe(0);
    expect(await webhook('payment.completed', (d) => d.paymentId === row.id)).toMatchObject({
      channel: 'c2b',
      billId: bill.billId,
      mpesaReceiptNumber: receipt,
      settledBy: 'c2b_confirmation',
    });
    expect(await webhook('bill.paid', (d) => d.billId === bill.billId)).toMatchObject({ paidAmount: 500, payment: { channel: 'c2b' } });
    expect(await reviewsOf(row.id)).toEqual([]);
  });

  it.concurrent('in parts, the account number typed in lower case and with spaces', async () => {
    const client = newClient();
    const bill = await openBill(client, 1_000);
    const typed = `  ${bill.accountReference.slice(0, 4).toLowerCase()} ${bill.accountReference.slice(4).toLowerCase()} `;
    await simulatedC2b(shared, await simulateC2b(shared, { amount: 300, billRefNumber: typed }, admin.token));
    expect(await waitForBill(bill.billId, 300)).toMatchObject({ status: 'partially_paid', balance: 700 });
    await simulatedC2b(shared, await simulateC2b(shared, { amount: 700, billRefNumber: bill.accountReference }, admin.token));
    const done = await waitForBill(bill.billId, 1_000);
    expect(done).toMatchObject({ status: 'paid', balance: 0 });
    expect(done.payments.map((p: any) => p.amount)).toEqual([300, 700]);
  });

  it.concurrent('beyond its balance: overpaid, with an overpayment review naming the excess', async () => {
    const client = newClient();
    const bill = await openBill(client, 300);
    const { receipt } = await simulatedC2b(
      shared,
      await simulateC2b(shared, { amount: 500, billRefNumber: bill.accountReference }, admin.token),
    );
    const row = await paymentOfReceipt(receipt);
    expect(await waitForBill(bill.billId, 500)).toMatchObject({ status: 'overpaid', balance: 0 });
    const [review] = await waitFor(async () => (await reviewsOf(row.id)).length === 1 && reviewsOf(row.id));
    expect(review).toMatchObject({
      reason: 'overpayment',
      status: 'open',
      evidence: expect.objectContaining({ excess: 200, billId: bill.billId }),
    });
    expect(await webhook('bill.overpaid', (d) => d.billId === bill.billId)).toMatchObject({ overpaidBy: 200 });
  });

  it.concurrent('to an account number no bill has: kept as an unmatched payment of nobody, for a person to place', async () => {
    const phone = uniquePhone();
    const { receipt } = await simulatedC2b(
      shared,
      await simulateC2b(shared, { amount: 250, billRefNumber: 'CASE 88', phone }, admin.token),
    );
    const row = await paymentOfReceipt(receipt);
    expect(row).toMatchObject({ channel: 'c2b', status: 'completed', client_id: null, bill_id: null, account_reference: 'CASE 88' });
    const [review] = await waitFor(async () => (await reviewsOf(row.id)).length === 1 && reviewsOf(row.id));
    expect(review).toMatchObject({
      reason: 'unmatched_payment',
      evidence: expect.objectContaining({ receipt, accountReference: 'CASE 88' }),
    });
    expect(review.evidence.detail).toMatch(/names account "CASE 88", which matches no bill/);
    const flagged = await api('/api/payments', { token: admin.token, query: { channel: 'c2b', needsReview: true, limit: 100 } });
    expect(flagged.body.data.items.map((p: any) => p.paymentId)).toContain(row.id);
    expect(await webhook('payment.completed', (d) => d.paymentId === row.id)).toMatchObject({ clientId: null, billId: null });
  });

  it.concurrent(
    'with its confirmation delivered twice: one payment, counted once; the repeat is answered and changes nothing',
    async () => {
      const client = newClient();
      const bill = await openBill(client, 400);
      const { receipt } = await simulatedC2b(
        shared,
        await simulateC2b(shared, { amount: 400, billRefNumber: bill.accountReference, phone: CONFIRMED_TWICE }, admin.token),
      );
      const logs = await waitFor(async () => (await confirmationLogs(receipt)).length === 2 && confirmationLogs(receipt));
      expect(logs.map((l) => [l.outcome, l.status_code])).toEqual([
        ['created', 200],
        ['duplicate', 200],
      ]);
      expect((await db().query('SELECT count(*)::int AS n FROM payments WHERE mpesa_receipt_number = $1', [receipt])).rows[0].n).toBe(1);
      expect(await waitForBill(bill.billId, 400)).toMatchObject({ status: 'paid' });
    },
  );
});

describe("Daraja's confirmation JSON at the HTTP boundary", () => {
  it.concurrent('is answered ResultCode 0 once stored; a repeat is answered the same and changes nothing', async () => {
    const client = newClient();
    const bill = await openBill(client, 150);
    const { confirmationUrl } = await registeredC2bUrls(shared);
    const receipt = ownReceipt();
    const body = confirmationBody(receipt, 150, bill.accountReference);
    const first = await postToRegisteredUrl(shared, confirmationUrl, body);
    expect([first.status, first.body]).toEqual([200, SUCCESS]);
    expect(await waitForBill(bill.billId, 150)).toMatchObject({ status: 'paid' });
    const again = await postToRegisteredUrl(shared, confirmationUrl, body);
    expect([again.status, again.body]).toEqual([200, SUCCESS]);
    expect((await billOf(bill.billId)).paidAmount).toBe(150);
    expect((await confirmationLogs(receipt)).map((l) => l.outcome)).toEqual(['created', 'duplicate']);
    const ledger = await ledgerRow(receipt);
    expect(ledger).toMatchObject({ amount: 150, account_reference: bill.accountReference, msisdn: '2547 ***** 126' });
    expect(ledger?.c2b_confirmation_at).toBeInstanceOf(Date);
  });

  it.concurrent('is refused when malformed or forged, storing nothing', async () => {
    const { confirmationUrl } = await registeredC2bUrls(shared);
    const fraction = ownReceipt();
    const malformed = await postToRegisteredUrl(shared, confirmationUrl, { ...confirmationBody(fraction, 1, 'X'), TransAmount: '10.50' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.message).toBe('Invalid C2B confirmation: TransAmount "10.50" is not a whole number of shillings of at least 1');
    const forged = ownReceipt();
    const badToken = await postToRegisteredUrl(shared, confirmationUrl, confirmationBody(forged, 100, 'X'), { token: 'f'.repeat(64) });
    const noToken = await postToRegisteredUrl(shared, confirmationUrl, confirmationBody(forged, 100, 'X'), { token: null });
    expect([badToken.status, noToken.status]).toEqual([403, 403]);
    for (const receipt of [fraction, forged]) {
      expect(await ledgerRow(receipt)).toBeUndefined();
      expect((await db().query('SELECT count(*)::int AS n FROM payments WHERE mpesa_receipt_number = $1', [receipt])).rows[0].n).toBe(0);
    }
  });

  it.concurrent('ten confirmations for one bill at once leave its paid amount exact', async () => {
    const client = newClient();
    const bill = await openBill(client, 1_000);
    const { confirmationUrl } = await registeredC2bUrls(shared);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        postToRegisteredUrl(shared, confirmationUrl, confirmationBody(ownReceipt(), 110, bill.accountReference)),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    const view = await waitForBill(bill.billId, 1_100);
    expect(view).toMatchObject({ status: 'overpaid', paidAmount: 1_100 });
    expect(view.payments).toHaveLength(10);
    // The one that went past the balance is in review for its excess of 100.
    const { rows } = await db().query(
      `SELECT r.evidence FROM reviews r JOIN payments p ON p.id = r.entity_id WHERE p.bill_id = $1 AND r.reason = 'overpayment'`,
      [bill.billId],
    );
    expect(rows.map((r) => r.evidence.excess)).toEqual([100]);
  });
});

describe('one receipt, one payment', () => {
  it.concurrent('a confirmation after the STK callback is evidence for the STK payment, not a second payment', async () => {
    const client = newClient();
    const body = stkPushBody({ amount: 120 });
    const pushed = await api('/api/payments/stk-push', { method: 'POST', token: client.token, body });
    const paymentId = pushed.body.data.paymentId;
    const stk = await waitFor(
      async () => (await db().query('SELECT * FROM payments WHERE id = $1', [paymentId])).rows[0]?.mpesa_receipt_number,
    );
    const { confirmationUrl } = await registeredC2bUrls(shared);
    const push = await latestSimulatedPush(body.phoneNumber as string);
    const answer = await postToRegisteredUrl(
      shared,
      confirmationUrl,
      confirmationBody(stk, 120, await accountReferenceOf(paymentId), maskedLikeC2b(push.phone)),
    );
    expect([answer.status, answer.body]).toEqual([200, SUCCESS]);
    expect((await confirmationLogs(stk)).map((l) => l.outcome)).toEqual(['duplicate']);
    expect((await db().query('SELECT id FROM payments WHERE mpesa_receipt_number = $1', [stk])).rows).toEqual([{ id: paymentId }]);
    const ledger = await ledgerRow(stk);
    expect(ledger).toMatchObject({ payment_id: paymentId });
    expect([ledger?.stk_callback_at, ledger?.c2b_confirmation_at].every((t) => t instanceof Date)).toBe(true);
  });

  it.concurrent(
    'a confirmation before the STK callback completes the pending push with its receipt; the callback then changes nothing',
    async () => {
      const client = newClient();
      // The simulator answers this number's push 4 s late; a status query meanwhile hears "being processed".
      const body = stkPushBody({ amount: 130, phoneNumber: SCENARIO_PHONES.lateCallback });
      const pushed = await api('/api/payments/stk-push', { method: 'POST', token: client.token, body });
      expect(pushed.status).toBe(201);
      const paymentId = pushed.body.data.paymentId;
      const push = await latestSimulatedPush(SCENARIO_PHONES.lateCallback);
      const { confirmationUrl } = await registeredC2bUrls(shared);
      const answer = await postToRegisteredUrl(
        shared,
        confirmationUrl,
        confirmationBody(push.receipt as string, 130, await accountReferenceOf(paymentId), maskedLikeC2b(SCENARIO_PHONES.lateCallback)),
      );
      expect([answer.status, answer.body]).toEqual([200, SUCCESS]);
      const row = (await db().query('SELECT * FROM payments WHERE id = $1', [paymentId])).rows[0];
      expect(row).toMatchObject({
        status: 'completed',
        settled_by: 'c2b_confirmation',
        mpesa_receipt_number: push.receipt,
        channel: 'stk',
      });
      expect((await confirmationLogs(push.receipt as string)).map((l) => l.outcome)).toEqual(['attached']);
      // The late callback, with the same receipt, is a duplicate.
      await waitFor(async () => (await ledgerRow(push.receipt as string))?.stk_callback_at, { message: 'the late STK callback' });
      const callbacks = await waitFor(async () => {
        const { rows } = await db().query(
          `SELECT outcome FROM transaction_logs WHERE reference = $1 AND transaction_type = 'STK_CALLBACK'`,
          [paymentId],
        );
        return rows.length === 1 && rows;
      });
      expect(callbacks).toEqual([{ outcome: 'duplicate' }]);
      expect((await db().query('SELECT count(*)::int AS n FROM payments WHERE mpesa_receipt_number = $1', [push.receipt])).rows[0].n).toBe(
        1,
      );
    },
  );
});

describe('channel in analytics and metrics', () => {
  it('counts Paybill payments apart from pushes', async () => {
    const client = newClient();
    const bill = await openBill(client, 75);
    const { confirmationUrl } = await registeredC2bUrls(shared);
    await postToRegisteredUrl(shared, confirmationUrl, confirmationBody(ownReceipt(), 75, bill.accountReference));
    await waitForBill(bill.billId, 75);
    const analytics = await api('/api/payments/analytics', { token: admin.token, query: { groupBy: 'channel' } });
    expect(analytics.status).toBe(200);
    expect(analytics.body.data.groups.map((g: any) => g.key)).toEqual(['stk', 'c2b']);
    expect(analytics.body.data.groups[1].completed).toBeGreaterThan(0);
    const metrics = await waitFor(async () => {
      const text = (await api('/metrics')).text;
      return /legalpro_payments_by_channel\{channel="c2b",status="completed"\} [1-9]/.test(text) && text;
    });
    expect(metrics).toMatch(/legalpro_revenue_by_channel_kes\{channel="c2b"\} [1-9]/);
    expect(metrics).toMatch(/legalpro_incoming_payments_total\{source="c2b_confirmation",outcome="created"\} [1-9]/);
  });
});

describe('the strict app', () => {
  let app: ExtraApp;
  let appDb: Pool;
  let stage: C2bStage;
  const strictAdmin = newAdmin();

  beforeAll(async () => {
    app = await strictApp;
    appDb = new Pool({ connectionString: app.databaseUrl, max: 2, allowExitOnIdle: true });
    stage = { baseUrl: app.url, redisKeyPrefix: app.redisKeyPrefix, shortCode: '174379' };
    expect((await registerC2b(stage, strictAdmin.token)).status).toBe(200);
  });

  afterAll(async () => {
    await appDb?.end();
  });

  it('refuses an account number no open bill has (C2B00012) and takes one that has one', async () => {
    const client = newClient();
    const bill = await openBill(client, 200, app.url);
    const [unknown, known] = await Promise.all([
      simulateC2b(stage, { amount: 200, billRefNumber: 'NOSUCHBILL' }, strictAdmin.token),
      simulateC2b(stage, { amount: 200, billRefNumber: bill.accountReference.toLowerCase() }, strictAdmin.token),
    ]);
    expect(await simulatedC2b(stage, unknown, 'cancelled')).toMatchObject({ validation: 'rejected', validationResultCode: 'C2B00012' });
    expect(await simulatedC2b(stage, known)).toMatchObject({ validation: 'accepted', validationResultCode: '0' });
    expect(await waitForBill(bill.billId, 200, app.url)).toMatchObject({ status: 'paid' });
  });

  it("answers Daraja's validation JSON within 2 s: C2B00013 below 1 shilling, C2B00012 for an unknown account", async () => {
    const { validationUrl } = await registeredC2bUrls(stage);
    const body = (amount: number, accountReference: string) =>
      c2bValidation({ receipt: ownReceipt(), amount, accountReference, transTime: darajaTimestamp(), shortCode: '174379' });
    const started = Date.now();
    const answers = await Promise.all([
      postToRegisteredUrl(stage, validationUrl, { ...body(1, 'ANY'), TransAmount: '0.00' }),
      postToRegisteredUrl(stage, validationUrl, body(100, 'NOSUCHBILL')),
      postToRegisteredUrl(stage, validationUrl, { ...body(100, 'ANY'), TransAmount: '99.50' }),
    ]);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(answers.map((a) => [a.status, a.body.ResultCode])).toEqual([
      [200, 'C2B00013'],
      [200, 'C2B00012'],
      [200, 'C2B00013'],
    ]);
    expect(answers[1].body.ResultDesc).toBe('Rejected: invalid account number');
  });

  it('takes one receipt from an STK callback and a confirmation as one payment', async () => {
    // The simulator also confirms completed pushes on the C2B URL, here before the STK callback.
    expect(
      (await sim('/c2b', { method: 'POST', body: { stkConfirmations: true, stkConfirmationDelayMs: -200 }, baseUrl: app.url })).status,
    ).toBe(200);
    try {
      const client = newClient();
      const bill = await openBill(client, 90, app.url);
      const body = stkPushBody({ billId: bill.billId, amount: undefined });
      const pushed = await api('/api/payments/stk-push', { method: 'POST', token: client.token, body, baseUrl: app.url });
      expect(pushed.status).toBe(201);
      const push = await latestSimulatedPush(body.phoneNumber as string, app.url);
      const ledger = await waitFor(
        async () => {
          const { rows } = await appDb.query('SELECT * FROM mpesa_receipts WHERE receipt = $1', [push.receipt]);
          return rows[0]?.stk_callback_at && rows[0]?.c2b_confirmation_at && rows[0];
        },
        { message: 'the receipt from both channels' },
      );
      expect(ledger.payment_id).toBe(pushed.body.data.paymentId);
      const { rows } = await appDb.query('SELECT id, channel, status FROM payments WHERE mpesa_receipt_number = $1', [push.receipt]);
      expect(rows).toEqual([{ id: pushed.body.data.paymentId, channel: 'stk', status: 'completed' }]);
      expect(await waitForBill(bill.billId, 90, app.url)).toMatchObject({ status: 'paid' });
      // Sent 100 ms after the push was taken, the confirmation came first and completed the push; the callback was a repeat.
      const outcomes = await waitFor(async () => {
        const logs = await appDb.query(
          `SELECT transaction_type, outcome FROM transaction_logs WHERE transaction_type IN ('C2B_CONFIRMATION', 'STK_CALLBACK')
              AND (transaction_id = $1 OR reference = $2) ORDER BY id`,
          [push.receipt, pushed.body.data.paymentId],
        );
        return logs.rows.length === 2 && logs.rows.map((r) => `${r.transaction_type} ${r.outcome}`);
      });
      expect(outcomes).toEqual(['C2B_CONFIRMATION attached', 'STK_CALLBACK duplicate']);
    } finally {
      await sim('/c2b', { method: 'POST', body: { stkConfirmations: false, stkConfirmationDelayMs: 0 }, baseUrl: app.url });
    }
  });

  it('says clearly when URLs are already registered: 409 from the API, exit code 2 from npm run c2b:register', async () => {
    expect((await sim('/c2b', { method: 'POST', body: { registration: 'production' }, baseUrl: app.url })).status).toBe(200);
    const refused = await registerC2b(stage, strictAdmin.token);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/already registered for this shortcode.*URL Management/s),
      details: { shortCode: '174379', reason: 'already_registered' },
    });
    const cli = spawnSync(process.execPath, [join(PROJECT_ROOT, 'dist', 'src', 'cli', 'c2b-register.js')], {
      cwd: PROJECT_ROOT,
      env: childEnv(app.env),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(cli.status).toBe(2);
    expect(cli.stderr).toMatch(/already registered for this shortcode/);
    expect(cli.stderr).toMatch(/M-Pesa said: Urls are already registered/);
  });
});
