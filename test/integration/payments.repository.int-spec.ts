// PaymentsRepository on real Postgres: the settle statement with the effects the callback path writes with it (audit
// event, outbox row, callback log row), its exactly-once guarantee under concurrency, and the sweep's selection.
import { randomBytes } from 'node:crypto';
import { Actor, AuditService } from '../../src/audit/audit.service';
import { InboundCallbackLog, TransactionLogService } from '../../src/audit/transaction-log.service';
import { redact } from '../../src/common/redaction';
import { Database } from '../../src/database/database';
import { IF_CHANGED, Sql, sql } from '../../src/database/sql';
import { isUniqueViolation } from '../../src/database/unique-violation';
import { DarajaCallRecord } from '../../src/mpesa/daraja.types';
import { NotificationChannel, NotificationStatus } from '../../src/notifications/notification.entity';
import { NotificationsRepository } from '../../src/notifications/notifications.repository';
import { Payment } from '../../src/payments/payment.entity';
import { paymentWebhookPayload, settledState, settlementAuditAfter } from '../../src/payments/payment-events';
import { PaymentStatus, SettledBy } from '../../src/payments/payment-status';
import { Changed, Effects, PaymentsRepository, SettlementChange, UNIQUE_RECEIPT } from '../../src/payments/payments.repository';
import { parseStkCallback } from '../../src/payments/stk-callback.parser';
import { stkSuccessCallback } from '../fixtures/daraja';
import { count, insertPayment, IntegrationDb, openIntegrationDb, rowOf } from '../support/integration';

const DARAJA: Actor = { type: 'daraja', id: 'stk-callback', ipAddress: '196.201.214.200' };
/** What the settled row's columns must say: exactly the fields settledState sets. */
const SETTLED_FIELDS = [
  'status',
  'settledBy',
  'resultCode',
  'resultDesc',
  'mpesaReceiptNumber',
  'transactionDate',
  'completedAt',
  'failedAt',
] as const;

let pg: IntegrationDb;
let db: Database;
let payments: PaymentsRepository;
let audit: AuditService;
let notifications: NotificationsRepository;
let transactionLog: TransactionLogService;

beforeAll(async () => {
  pg = await openIntegrationDb();
  db = pg.db;
  payments = new PaymentsRepository(db);
  audit = new AuditService(db);
  notifications = new NotificationsRepository(db);
  transactionLog = new TransactionLogService(db);
});

afterAll(() => pg.close());

/** 10 uppercase alphanumerics, like an M-Pesa receipt, unique per call. */
const newReceipt = () => `T${randomBytes(5).toString('hex').toUpperCase().slice(0, 9)}`;

/** A pending payment Daraja acknowledged (it holds a CheckoutRequestID), as a callback finds it. */
function pendingPayment(amount = 1_000): Promise<Payment> {
  return insertPayment(db, { amount, ...newCallbackIds() });
}

/** A CheckoutRequestID and MerchantRequestID nobody else holds. */
function newCallbackIds(): CallbackIds {
  const suffix = randomBytes(6).toString('hex');
  return { checkoutRequestId: `ws_CO_${suffix}`, merchantRequestId: `29115-${suffix}-1` };
}

interface CallbackIds {
  checkoutRequestId: string;
  merchantRequestId: string;
}

/** The success callback Safaricom would send for `payment` (test/fixtures/daraja), and the change it asks for. */
function successCallback(
  payment: Payment,
  receipt = newReceipt(),
  ids: CallbackIds = { checkoutRequestId: payment.checkoutRequestId as string, merchantRequestId: payment.merchantRequestId as string },
): { change: SettlementChange; log: InboundCallbackLog } {
  const body = stkSuccessCallback({ ...ids, amount: payment.amount, receipt, transactionDate: 20250301120304, phone: '254708374149' });
  const parsed = parseStkCallback(body);
  if (!parsed.ok) throw new Error(parsed.reason);
  const callback = parsed.value;
  return {
    change: {
      to: PaymentStatus.Completed,
      settledBy: SettledBy.Callback,
      resultCode: callback.resultCode,
      resultDesc: callback.resultDesc,
      receiptNumber: callback.receiptNumber,
      transactionDate: callback.transactionDate,
      checkoutRequestId: callback.checkoutRequestId,
      merchantRequestId: callback.merchantRequestId,
      callbackPayload: redact(body),
    },
    log: {
      transactionType: 'STK_CALLBACK',
      transactionId: callback.checkoutRequestId,
      reference: payment.id,
      endpoint: '/api/payments/mpesa/stk-callback',
      payload: body,
      statusCode: 200,
      outcome: 'applied',
      durationMs: 4,
    },
  };
}

/** What PaymentSettlementService writes with a settlement, each part built by the module that owns its table. */
function settlementEffects(settled: Payment, callbackLog?: InboundCallbackLog, event = `payment.${settled.status}`): Effects {
  return {
    audit: audit.insertSql(
      DARAJA,
      [
        {
          action: `payment.${settled.status}`,
          entityType: 'payment',
          entityId: settled.id,
          before: { status: PaymentStatus.Pending },
          after: settlementAuditAfter(settled),
        },
      ],
      IF_CHANGED,
    ),
    outbox: notifications.insertSql(
      [
        {
          channel: NotificationChannel.Webhook,
          event,
          subjectId: settled.id,
          payload: paymentWebhookPayload(settled, '2547****149'),
          status: NotificationStatus.Pending,
          lastError: null,
        },
      ],
      IF_CHANGED,
    ),
    ...(callbackLog ? { log: transactionLog.inboundSql(callbackLog, IF_CHANGED) } : {}),
  };
}

/** Settles `payment` as the callback path does: settledState, then one statement with its effects. */
function settleByCallback(payment: Payment, receipt?: string): Promise<Changed | null> {
  const { change, log } = successCallback(payment, receipt);
  const settled = settledState(payment, change, new Date());
  return payments.settle(settled, change, settlementEffects(settled, log), [PaymentStatus.Pending]);
}

/** What was written about one payment, table by table. */
async function writtenAbout(paymentId: string): Promise<{ audit: number; outbox: number; log: number }> {
  return {
    audit: await count(db, sql`SELECT count(*)::int AS n FROM audit_events WHERE entity_id = ${paymentId}`),
    outbox: await count(db, sql`SELECT count(*)::int AS n FROM notifications WHERE subject_id = ${paymentId}`),
    log: await count(db, sql`SELECT count(*)::int AS n FROM transaction_logs WHERE reference = ${paymentId}`),
  };
}

const pick = (p: Payment) => Object.fromEntries(SETTLED_FIELDS.map((field) => [field, p[field]]));

describe(PaymentsRepository.name, () => {
  describe('settle', () => {
    it('leaves the row exactly as settledState describes it', async () => {
      const payment = await pendingPayment();
      const { change, log } = successCallback(payment);
      const settled = settledState(payment, change, new Date());

      await payments.settle(settled, change, settlementEffects(settled, log), [PaymentStatus.Pending]);

      const row = (await payments.findById(payment.id)) as Payment;
      expect(pick(row)).toEqual(pick(settled));
      expect(row).toMatchObject({ status: 'completed', settledBy: 'callback', resultCode: '0', failedAt: null });
    });

    it('records the callback: its payload, the receipt as the transaction id, a version more', async () => {
      const payment = await pendingPayment();
      const receipt = newReceipt();

      await settleByCallback(payment, receipt);

      const row = await rowOf(db, 'payments', payment.id);
      expect(row).toMatchObject({ callback_received: true, mpesa_transaction_id: receipt, version: payment.version + 1 });
      expect(row.callback_payload.Body.stkCallback.CheckoutRequestID).toBe(payment.checkoutRequestId);
      expect(row.checkout_request_id).toBe(payment.checkoutRequestId);
    });

    it('takes the CheckoutRequestID from a callback that came before Daraja acknowledged the push', async () => {
      const payment = await insertPayment(db); // no CheckoutRequestID yet
      const ids = newCallbackIds();
      const { change, log } = successCallback(payment, newReceipt(), ids);
      const settled = settledState(payment, change, new Date());

      await payments.settle(settled, change, settlementEffects(settled, log), [PaymentStatus.Pending]);

      expect(await rowOf(db, 'payments', payment.id)).toMatchObject({
        checkout_request_id: ids.checkoutRequestId,
        merchant_request_id: ids.merchantRequestId,
      });
    });

    it('leaves the callback columns alone when a status query settles the payment', async () => {
      const payment = await pendingPayment();
      const change: SettlementChange = {
        to: PaymentStatus.Cancelled,
        settledBy: SettledBy.StatusQuery,
        resultCode: '1032',
        resultDesc: 'Request cancelled by user',
      };
      const settled = settledState(payment, change, new Date());

      await payments.settle(settled, change, settlementEffects(settled), [PaymentStatus.Pending]);

      expect(await rowOf(db, 'payments', payment.id)).toMatchObject({
        status: 'cancelled',
        settled_by: 'status_query',
        callback_received: false,
        callback_payload: null,
        completed_at: null,
        failed_at: settled.failedAt,
      });
    });

    it('writes its audit event, outbox row and callback log row with the change, and returns their ids', async () => {
      const payment = await pendingPayment();

      const changed = (await settleByCallback(payment)) as Changed;

      const idsOf = (rows: unknown[]) => rows.map((r) => String((r as { id: unknown }).id));
      const idsIn = async (statement: Sql) => idsOf(await db.query(statement));
      expect(idsOf(changed.effects.audit)).toEqual(await idsIn(sql`SELECT id FROM audit_events WHERE entity_id = ${payment.id}`));
      expect(idsOf(changed.effects.outbox)).toEqual(await idsIn(sql`SELECT id FROM notifications WHERE subject_id = ${payment.id}`));
      expect(idsOf(changed.effects.log)).toEqual(await idsIn(sql`SELECT id FROM transaction_logs WHERE reference = ${payment.id}`));
      expect(await writtenAbout(payment.id)).toEqual({ audit: 1, outbox: 1, log: 1 });
    });

    it('files the audit event and the outbox row under what the payment became', async () => {
      const payment = await pendingPayment();

      const changed = (await settleByCallback(payment)) as Changed;

      const [event] = await db.query(sql`SELECT action, actor_type, before, after FROM audit_events WHERE entity_id = ${payment.id}`);
      expect(event).toEqual({
        action: 'payment.completed',
        actor_type: 'daraja',
        before: { status: 'pending' },
        after: settlementAuditAfter(changed.payment),
      });
      const [outbox] = await db.query(sql`SELECT event, channel, status, payload FROM notifications WHERE subject_id = ${payment.id}`);
      expect(outbox).toMatchObject({
        event: 'payment.completed',
        channel: 'webhook',
        status: 'pending',
        payload: { paymentId: payment.id, status: 'completed', mpesaReceiptNumber: changed.payment.mpesaReceiptNumber },
      });
    });

    it('applies once: a second settle of the same payment returns null and writes nothing', async () => {
      const payment = await pendingPayment();
      await settleByCallback(payment);
      const before = await writtenAbout(payment.id);

      const again = await settleByCallback(payment);

      expect(again).toBeNull();
      expect(before).toEqual({ audit: 1, outbox: 1, log: 1 });
      expect(await writtenAbout(payment.id)).toEqual(before);
      expect((await rowOf(db, 'payments', payment.id)).version).toBe(payment.version + 1);
    });

    it('writes nothing at all when one of its effects fails', async () => {
      const payment = await pendingPayment();
      const { change, log } = successCallback(payment);
      const settled = settledState(payment, change, new Date());
      const tooLongEvent = `payment.${'x'.repeat(60)}`; // notifications.event is varchar(64)

      await expect(
        payments.settle(settled, change, settlementEffects(settled, log, tooLongEvent), [PaymentStatus.Pending]),
      ).rejects.toThrow(/too long/);

      expect((await rowOf(db, 'payments', payment.id)).status).toBe('pending');
      expect(await writtenAbout(payment.id)).toEqual({ audit: 0, outbox: 0, log: 0 });
    });

    it('refuses a receipt that another payment holds, and writes nothing', async () => {
      const receipt = newReceipt();
      await insertPayment(db, { status: PaymentStatus.Completed, receipt });
      const payment = await pendingPayment();

      const error: unknown = await settleByCallback(payment, receipt).catch((e: unknown) => e);

      expect(isUniqueViolation(error, UNIQUE_RECEIPT)).toBe(true);
      expect((await rowOf(db, 'payments', payment.id)).status).toBe('pending');
      expect(await writtenAbout(payment.id)).toEqual({ audit: 0, outbox: 0, log: 0 });
    });
  });

  describe('settle, 10 at once on one pending payment', () => {
    let payment: Payment;
    let results: (Changed | null)[];

    beforeAll(async () => {
      payment = await pendingPayment();
      // Ten callbacks with different receipts, as ten retries or replicas might race: each its own connection.
      results = await Promise.all(Array.from({ length: 10 }, () => settleByCallback(payment)));
    });

    it('applies exactly one of them', () => {
      expect(results.filter((r) => r !== null)).toHaveLength(1);
    });

    it('writes one audit event, one outbox row and one callback log row', async () => {
      expect(await writtenAbout(payment.id)).toEqual({ audit: 1, outbox: 1, log: 1 });
    });

    it("leaves the payment with the winner's receipt, changed once", async () => {
      const winner = results.find((r) => r !== null) as Changed;
      expect(await rowOf(db, 'payments', payment.id)).toMatchObject({
        status: 'completed',
        mpesa_receipt_number: winner.payment.mpesaReceiptNumber,
        version: payment.version + 1,
      });
    });
  });

  describe('findPendingOlderThan', () => {
    // The rows of this block are the only ones in 1971: other tests write payments initiated now, so a cutoff in
    // 1971 sees exactly these, whatever runs beside them.
    const at = (day: number) => new Date(Date.UTC(1971, 0, day, 9));
    const CUTOFF = at(10);
    let oldest: Payment;
    let middle: Payment;
    let newest: Payment;
    let flagged: Payment;
    let settled: Payment;
    let young: Payment;

    beforeAll(async () => {
      middle = await insertPayment(db, { initiatedAt: at(2) });
      young = await insertPayment(db, { initiatedAt: at(20) });
      oldest = await insertPayment(db, { initiatedAt: at(1) });
      flagged = await insertPayment(db, { initiatedAt: at(4), reviewReason: 'amount_mismatch' });
      settled = await insertPayment(db, { initiatedAt: at(1), status: PaymentStatus.Completed });
      newest = await insertPayment(db, { initiatedAt: at(3) });
    });

    const ids = (found: { id: string }[]) => found.map((p) => p.id);

    it('returns the pending payments initiated before the cutoff, oldest first', async () => {
      expect(ids(await payments.findPendingOlderThan(CUTOFF, 100))).toEqual([oldest.id, middle.id, newest.id]);
    });

    it('leaves out a payment initiated after the cutoff', async () => {
      expect(ids(await payments.findPendingOlderThan(CUTOFF, 100))).not.toContain(young.id);
    });

    it('leaves out a payment under review: it waits for the person deciding it', async () => {
      expect(ids(await payments.findPendingOlderThan(CUTOFF, 100))).not.toContain(flagged.id);
    });

    it('leaves out a payment that is no longer pending', async () => {
      expect(ids(await payments.findPendingOlderThan(CUTOFF, 100))).not.toContain(settled.id);
    });

    it('returns at most `limit` payments, the oldest ones', async () => {
      expect(ids(await payments.findPendingOlderThan(CUTOFF, 2))).toEqual([oldest.id, middle.id]);
    });
  });

  describe('findExpiredDueForLateQuery', () => {
    // Expired in 1972: no other test writes payments that expired then, so `now` in 1972 sees only these.
    const expiredAt = new Date(Date.UTC(1972, 0, 1, 9));
    const after = (ms: number) => new Date(expiredAt.getTime() + ms);
    const DELAYS = [300_000, 900_000, 3_600_000];
    let neverAsked: Payment;
    let askedOnce: Payment;
    let askedThrice: Payment;
    let flagged: Payment;
    let unacknowledged: Payment;

    beforeAll(async () => {
      const expired = (extra: Parameters<typeof insertPayment>[1] = {}) =>
        insertPayment(db, { status: PaymentStatus.Expired, failedAt: expiredAt, ...newCallbackIds(), ...extra });
      neverAsked = await expired();
      askedOnce = await expired({ lateQueries: 1 });
      askedThrice = await expired({ lateQueries: 3 });
      flagged = await expired({ reviewReason: 'amount_mismatch' });
      unacknowledged = await insertPayment(db, { status: PaymentStatus.Expired, failedAt: expiredAt });
    });

    const due = async (at: Date) => ids(await payments.findExpiredDueForLateQuery(at, DELAYS, 100));
    const ids = (found: Payment[]) =>
      found.map((p) => p.id).filter((id) => [neverAsked, askedOnce, askedThrice, flagged, unacknowledged].some((p) => p.id === id));

    it('asks nothing before the first delay', async () => {
      expect(await due(after(299_000))).toEqual([]);
    });

    it('asks the n-th question once the n-th delay has passed, whatever sweeps were missed', async () => {
      expect(await due(after(301_000))).toEqual([neverAsked.id]);
      expect((await due(after(901_000))).sort()).toEqual([neverAsked.id, askedOnce.id].sort());
    });

    it('stops after the last delay, and never asks about a payment under review or without a CheckoutRequestID', async () => {
      expect(await due(after(10 * 3_600_000))).not.toEqual(expect.arrayContaining([askedThrice.id]));
      expect(await due(after(10 * 3_600_000))).not.toContain(flagged.id);
      expect(await due(after(10 * 3_600_000))).not.toContain(unacknowledged.id);
    });

    it('counts an answer once: recordLateQuery moves the payment to its next delay', async () => {
      await payments.recordLateQuery(neverAsked.id, 0);
      await payments.recordLateQuery(neverAsked.id, 0); // a second worker with the same stale count changes nothing
      expect(await rowOf(db, 'payments', neverAsked.id)).toMatchObject({ late_queries: 1 });
      expect(await due(after(301_000))).toEqual([]);
    });
  });
});

describe('an accepted STK push recorded with its Daraja call', () => {
  const answered = (reference: string, checkoutRequestId: string): DarajaCallRecord => ({
    api: 'STK_PUSH',
    endpoint: '/mpesa/stkpush/v1/processrequest',
    request: { BusinessShortCode: 174379, Amount: 10 },
    response: { CheckoutRequestID: checkoutRequestId, ResponseCode: '0' },
    statusCode: 200,
    durationMs: 12,
    outcome: 'ok',
    transactionId: checkoutRequestId,
    context: { reference, requestId: 'req-push-log', userId: 'client-1' },
    storedByCaller: true,
  });
  const logRows = (reference: string) =>
    db.query<Record<string, unknown>>(
      sql`SELECT transaction_type, transaction_id, status_code, outcome, request_id, user_id, response_data FROM transaction_logs WHERE reference = ${reference}`,
    );

  it("writes the call's log row in the statement that stores Daraja's ids", async () => {
    const payment = await insertPayment(db, { amount: 10 });
    const ids = newCallbackIds();
    const call = answered(payment.id, ids.checkoutRequestId);

    expect(
      await payments.markPushAccepted(
        payment.id,
        ids.checkoutRequestId,
        ids.merchantRequestId,
        { ok: true },
        { callLog: transactionLog.outboundSql(call) },
      ),
    ).toBe(true);

    expect(await rowOf(db, 'payments', payment.id)).toMatchObject({
      checkout_request_id: ids.checkoutRequestId,
      stk_push_status: 'accepted',
    });
    expect(await logRows(payment.id)).toEqual([
      {
        transaction_type: 'STK_PUSH',
        transaction_id: ids.checkoutRequestId,
        status_code: 200,
        outcome: 'ok',
        request_id: 'req-push-log',
        user_id: 'client-1',
        response_data: { CheckoutRequestID: ids.checkoutRequestId, ResponseCode: '0' },
      },
    ]);
  });

  it('still writes the log row when the payment keeps the CheckoutRequestID its callback brought first', async () => {
    const payment = await pendingPayment();
    const other = newCallbackIds();

    expect(
      await payments.markPushAccepted(
        payment.id,
        other.checkoutRequestId,
        other.merchantRequestId,
        {},
        {
          callLog: transactionLog.outboundSql(answered(payment.id, other.checkoutRequestId)),
        },
      ),
    ).toBe(false);

    expect(await rowOf(db, 'payments', payment.id)).toMatchObject({ checkout_request_id: payment.checkoutRequestId });
    expect(await logRows(payment.id)).toHaveLength(1);
  });

  it('is logged without a row by the call observer, and stored once on its own when its statement never ran', async () => {
    const payment = await insertPayment(db, { amount: 10 });
    const call = answered(payment.id, newCallbackIds().checkoutRequestId);

    await transactionLog.record(call);
    expect(await logRows(payment.id)).toEqual([]);

    await transactionLog.storeUnstored(call);
    expect(await logRows(payment.id)).toHaveLength(1);
  });
});
