// The guarded statements behind bills and incoming money, on real Postgres: a bill takes concurrent payments exactly
// (ten confirmations for one bill at once), a receipt is one payment (the unique constraint, the ledger's one row per
// receipt and its lock), and the look-ups IncomingPayments matches with.
import { randomBytes, randomUUID } from 'node:crypto';
import { AuditService } from '../../src/audit/audit.service';
import { Bill, BillStatus } from '../../src/bills/bill.entity';
import { BillsRepository, UNIQUE_ACCOUNT_REFERENCE } from '../../src/bills/bills.repository';
import { newAccountReference } from '../../src/bills/account-reference';
import { Database } from '../../src/database/database';
import { sql } from '../../src/database/sql';
import { isUniqueViolation } from '../../src/database/unique-violation';
import { MpesaReceiptsRepository, ReceiptSighting } from '../../src/payments/mpesa-receipts.repository';
import { PaymentStatus, PaymentType, SettledBy } from '../../src/payments/payment-status';
import { NewIncomingPayment, PaymentsRepository, UNIQUE_RECEIPT } from '../../src/payments/payments.repository';
import { count, insertPayment, IntegrationDb, openIntegrationDb } from '../support/integration';

let pg: IntegrationDb;
let db: Database;
let bills: BillsRepository;
let payments: PaymentsRepository;
let receipts: MpesaReceiptsRepository;
let audit: AuditService;

beforeAll(async () => {
  pg = await openIntegrationDb({ poolSize: 24 });
  db = pg.db;
  bills = new BillsRepository(db);
  payments = new PaymentsRepository(db);
  receipts = new MpesaReceiptsRepository(db);
  audit = new AuditService(db);
});

afterAll(() => pg.close());

/** 10 upper-case alphanumerics, like an M-Pesa receipt, unique per call. */
const newReceipt = () => `U${randomBytes(5).toString('hex').toUpperCase().slice(0, 9)}`;

async function openBill(amount: number): Promise<Bill> {
  const id = randomUUID();
  return bills.insert(
    {
      id,
      clientId: `client-${randomUUID()}`,
      appointmentId: null,
      amount,
      paymentType: 'consultation_fee',
      description: 'Consultation',
      accountReference: newAccountReference(),
      dueAt: null,
      createdBy: 'admin-integration',
      requestId: null,
    },
    { audit: audit.insertSql({ type: 'system', id: 'integration' }, [{ action: 'bill.created', entityType: 'bill', entityId: id }]) },
  );
}

function incomingPayment(bill: Bill | null, amount: number, receipt = newReceipt()): NewIncomingPayment {
  return {
    id: randomUUID(),
    clientId: bill?.clientId ?? null,
    appointmentId: null,
    billId: bill?.id ?? null,
    amount,
    paymentType: PaymentType.Other,
    description: 'Paybill payment',
    phoneNumberEncrypted: `sealed-${randomUUID()}`,
    phoneNumberHash: randomBytes(32).toString('hex'),
    customerName: 'NICHOLAS',
    accountReference: bill?.accountReference ?? 'NO-SUCH-BILL',
    transactionDesc: 'Pay Bill',
    mpesaReceiptNumber: receipt,
    transactionDate: new Date(),
    settledBy: SettledBy.C2bConfirmation,
    resultDesc: 'Received: C2B confirmation',
    requestId: null,
    callbackPayload: { TransID: receipt },
    completedAt: new Date(),
  };
}

function sighting(receipt: string, overrides: Partial<ReceiptSighting> = {}): ReceiptSighting {
  return {
    receipt,
    channel: 'c2b_confirmation',
    amount: 500,
    occurredAt: new Date(),
    accountReference: 'K7HM3QXA',
    msisdn: '2547 ***** 126',
    payerName: 'NICHOLAS',
    shortCode: '174379',
    transactionType: 'Pay Bill',
    payload: { TransID: receipt, MSISDN: '2547 ***** 126' },
    ...overrides,
  };
}

describe('a bill taking payments', () => {
  it('ten confirmations for one bill at once leave paidAmount exact, the bill paid once, then overpaid', async () => {
    const bill = await openBill(1_000);
    // Ten payments of 100 and one of 50, each in its own transaction as IncomingPayments writes them.
    const amounts = [...Array.from({ length: 10 }, () => 100), 50];
    const results = await Promise.all(
      amounts.map((amount) =>
        db.transaction(async (tx) => {
          const row = incomingPayment(bill, amount);
          await payments.insertIncoming(tx, row, {});
          return bills.applyPayment(tx, bill.id, amount);
        }),
      ),
    );
    const after = await bills.findById(bill.id);
    expect(after).toMatchObject({ paidAmount: 1_050, status: BillStatus.Overpaid });
    expect(after?.paidAt).toBeInstanceOf(Date);
    // Exactly one payment moved it to paid (its previous status partially_paid): never two, never skipped.
    const transitions = results.map((r) => `${r?.previousStatus}->${r?.bill.status}`);
    expect(transitions.filter((t) => t.endsWith('->paid'))).toHaveLength(results.some((r) => r?.bill.paidAmount === 1_000) ? 1 : 0);
    expect(transitions.filter((t) => t === 'open->partially_paid' || t === 'open->paid')).toHaveLength(1);
    // The previous amounts are each step's own: every total from the first to the last appears once.
    const totals = results.map((r) => r?.bill.paidAmount).sort((a, b) => (a ?? 0) - (b ?? 0));
    expect(new Set(totals).size).toBe(amounts.length);
    expect(totals[totals.length - 1]).toBe(1_050);
    expect(await count(db, sql`SELECT count(*)::int AS n FROM payments WHERE bill_id = ${bill.id}`)).toBe(11);
  });

  it('takes nothing once cancelled, and a cancelled bill cannot be paid into', async () => {
    const bill = await openBill(500);
    await db.transaction((tx) => bills.applyPayment(tx, bill.id, 200));
    const cancelled = await bills.cancel(bill.id, 'admin-integration', 'waived', {});
    expect(cancelled).toMatchObject({ status: BillStatus.Cancelled, cancelReason: 'waived', paidAmount: 200 });
    expect(await db.transaction((tx) => bills.applyPayment(tx, bill.id, 100))).toBeNull();
    expect((await bills.findById(bill.id))?.paidAmount).toBe(200);
    // Cancelling twice is refused by the guard, not by luck.
    expect(await bills.cancel(bill.id, 'admin-integration', null, {})).toBeNull();
  });

  it('cannot be cancelled once paid in full', async () => {
    const bill = await openBill(300);
    await db.transaction((tx) => bills.applyPayment(tx, bill.id, 300));
    expect(await bills.cancel(bill.id, 'admin-integration', null, {})).toBeNull();
    expect((await bills.findById(bill.id))?.status).toBe(BillStatus.Paid);
  });

  it('keeps its status and paid amount in step (the database refuses anything else)', async () => {
    const bill = await openBill(300);
    await expect(db.query(sql`UPDATE bills SET status = 'paid' WHERE id = ${bill.id}`)).rejects.toThrow(
      /CHK_bills_status_follows_paid_amount/,
    );
    await expect(db.query(sql`UPDATE bills SET paid_amount = 300 WHERE id = ${bill.id}`)).rejects.toThrow(
      /CHK_bills_status_follows_paid_amount/,
    );
  });

  it('has an account reference no other bill has', async () => {
    const bill = await openBill(100);
    const clash = bills.insert(
      {
        id: randomUUID(),
        clientId: 'client-x',
        appointmentId: null,
        amount: 100,
        paymentType: 'other',
        description: 'Clash',
        accountReference: bill.accountReference,
        dueAt: null,
        createdBy: null,
        requestId: null,
      },
      {},
    );
    expect(isUniqueViolation(await clash.catch((e: unknown) => e), UNIQUE_ACCOUNT_REFERENCE)).toBe(true);
    expect(await bills.findByReference(bill.accountReference)).toMatchObject({ id: bill.id });
  });
});

describe('one receipt, one payment', () => {
  it('refuses a second payment for a TransID (the receipt is unique)', async () => {
    const receipt = newReceipt();
    await db.transaction((tx) => payments.insertIncoming(tx, incomingPayment(null, 250, receipt), {}));
    const second = db.transaction((tx) => payments.insertIncoming(tx, incomingPayment(null, 250, receipt), {}));
    expect(isUniqueViolation(await second.catch((e: unknown) => e), UNIQUE_RECEIPT)).toBe(true);
    expect(await count(db, sql`SELECT count(*)::int AS n FROM payments WHERE mpesa_receipt_number = ${receipt}`)).toBe(1);
  });

  it('keeps one ledger row per receipt however many deliveries arrive at once, stamping each channel once', async () => {
    const receipt = newReceipt();
    await Promise.all(Array.from({ length: 10 }, () => receipts.record(sighting(receipt))));
    const first = await receipts.find(receipt);
    await receipts.record(
      sighting(receipt, { channel: 'pull', amount: 999, accountReference: 'OTHER', payload: { transactionId: receipt } }),
    );
    const row = await receipts.find(receipt);
    expect(await count(db, sql`SELECT count(*)::int AS n FROM mpesa_receipts WHERE receipt = ${receipt}`)).toBe(1);
    expect(row).toMatchObject({ amount: 500, accountReference: 'K7HM3QXA', paymentId: null });
    expect(row?.c2bConfirmationAt).toEqual(first?.c2bConfirmationAt);
    expect(row?.pullAt).toBeInstanceOf(Date);
    expect(Object.keys(row?.payloads ?? {}).sort()).toEqual(['c2b_confirmation', 'pull']);
    // Redacted before it is stored: the masked number is masked again our way.
    expect(JSON.stringify(row?.payloads)).not.toContain('2547 ***** 126');
  });

  it("records an STK callback's receipt in the statement that reads its payment, under the payment's own reference", async () => {
    const payment = await insertPayment(db);
    const receipt = newReceipt();
    const callback = sighting(receipt, { channel: 'stk_callback', payload: { Body: { stkCallback: { ResultCode: 0 } } } });
    const read = await payments.findByIdWith(payment.id, receipts.recordForPaymentSql(callback, payment.id));
    expect(read).toMatchObject({ id: payment.id, status: 'pending', mpesaReceiptNumber: null });
    const row = await receipts.find(receipt);
    expect(row).toMatchObject({ paymentId: payment.id, accountReference: 'LP-TEST', amount: 500, msisdn: '2547 ***** 126' });
    expect(row?.stkCallbackAt).toBeInstanceOf(Date);
    expect(Object.keys(row?.payloads ?? {})).toEqual(['stk_callback']);

    // A receipt the ledger already holds unplaced (its C2B confirmation came first) is placed on the payment.
    const earlier = newReceipt();
    await receipts.record(sighting(earlier));
    await payments.findByIdWith(payment.id, receipts.recordForPaymentSql({ ...callback, receipt: earlier }, payment.id));
    const placed = await receipts.find(earlier);
    expect(placed).toMatchObject({ paymentId: payment.id, accountReference: 'K7HM3QXA' });
    expect(Object.keys(placed?.payloads ?? {}).sort()).toEqual(['c2b_confirmation', 'stk_callback']);
  });

  it('records nothing for a callback whose payment does not exist', async () => {
    const receipt = newReceipt();
    const missing = randomUUID();
    const read = await payments.findByIdWith(
      missing,
      receipts.recordForPaymentSql(sighting(receipt, { channel: 'stk_callback' }), missing),
    );
    expect(read).toBeNull();
    expect(await receipts.find(receipt)).toBeNull();
  });

  it('links a receipt to one payment only: a later link never moves it', async () => {
    const receipt = newReceipt();
    await receipts.record(sighting(receipt));
    const [first, second] = [randomUUID(), randomUUID()];
    await db.transaction((tx) => receipts.link(tx, receipt, first));
    await db.transaction((tx) => receipts.link(tx, receipt, second));
    await receipts.record(sighting(receipt, { channel: 'stk_callback', paymentId: second }));
    expect((await receipts.find(receipt))?.paymentId).toBe(first);
  });

  it('places two deliveries of one receipt one after the other (the ledger row is locked while one is placed)', async () => {
    const receipt = newReceipt();
    await receipts.record(sighting(receipt));
    const order: string[] = [];
    let releaseFirst!: () => void;
    const firstHolds = new Promise<void>((resolve) => (releaseFirst = resolve));
    const first = db.transaction(async (tx) => {
      await receipts.lock(tx, receipt);
      order.push('first locked');
      await firstHolds;
      await receipts.link(tx, receipt, randomUUID());
      order.push('first placed');
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = db.transaction(async (tx) => {
      const row = await receipts.lock(tx, receipt);
      order.push(`second locked, placed: ${row?.paymentId ? 'yes' : 'no'}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    releaseFirst();
    await Promise.all([first, second]);
    expect(order).toEqual(['first locked', 'first placed', 'second locked, placed: yes']);
  });

  it('finds the payment of a receipt through the ledger or on the payment itself', async () => {
    const viaLedger = newReceipt();
    const onPayment = newReceipt();
    const unplaced = newReceipt();
    const created = incomingPayment(null, 700, viaLedger);
    await db.transaction(async (tx) => {
      await payments.insertIncoming(tx, created, {});
      await receipts.record(sighting(viaLedger), tx);
      await receipts.link(tx, viaLedger, created.id);
    });
    const stk = await insertPayment(db, { amount: 300, status: PaymentStatus.Completed, receipt: onPayment });
    await receipts.record(sighting(unplaced));
    const owners = await receipts.findOwners([viaLedger, onPayment, unplaced, newReceipt()]);
    expect(Object.fromEntries(owners)).toEqual({
      [viaLedger]: { paymentId: created.id, amount: 700, status: 'completed' },
      [onPayment]: { paymentId: stk.id, amount: 300, status: 'completed' },
    });
  });
});

describe('our pushes that money without our ids may be', () => {
  it('are those with the reference and amount, pushed in the window, still open to the evidence', async () => {
    const reference = `IT${randomBytes(4).toString('hex').toUpperCase()}`;
    const at = new Date();
    const minutesAgo = (m: number) => new Date(at.getTime() - m * 60_000);
    const make = async (status: PaymentStatus, initiatedAt: Date, amount = 500, receipt?: string) => {
      const p = await insertPayment(db, { amount, status, initiatedAt, receipt });
      await db.query(sql`UPDATE payments SET account_reference = ${reference.toLowerCase()} WHERE id = ${p.id}`);
      return p.id;
    };
    const pending = await make(PaymentStatus.Pending, minutesAgo(1));
    const expired = await make(PaymentStatus.Expired, minutesAgo(5));
    const completedNoReceipt = await make(PaymentStatus.Completed, minutesAgo(3));
    await make(PaymentStatus.Completed, minutesAgo(2), 500, newReceipt()); // holds a receipt already
    await make(PaymentStatus.Failed, minutesAgo(2)); // M-Pesa said no money
    await make(PaymentStatus.Pending, minutesAgo(20)); // too long before the money
    await make(PaymentStatus.Pending, minutesAgo(1), 501); // another amount
    const found = await payments.findIncomingCandidates({
      reference,
      amount: 500,
      from: minutesAgo(10),
      to: new Date(at.getTime() + 120_000),
    });
    expect(found.map((p) => p.id).sort()).toEqual([pending, expired, completedNoReceipt].sort());
  });
});
