import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Actor, AuditService } from '../audit/audit.service';
import { Bill, BillStatus } from '../bills/bill.entity';
import { BillLedger } from '../bills/bill-ledger.service';
import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { FIELDS } from '../common/crypto/sealed-field';
import { ValidationError } from '../common/errors/app-error';
import { normalizeKenyanPhone } from '../common/phone-number';
import { maskPartyName, redact } from '../common/redaction';
import { currentRequestId } from '../common/request-context';
import { Database, Tx } from '../database/database';
import { IF_CHANGED } from '../database/sql';
import { MetricsService } from '../metrics/metrics.service';
import { sanitizeDarajaText, TRANSACTION_DESC_MAX } from '../mpesa/daraja.client';
import { WrittenNotification } from '../notifications/notifications.repository';
import { NotificationsService } from '../notifications/notifications.service';
import { ReviewReason } from '../reviews/review.entity';
import { displayPayerMsisdn, MATCH_WINDOW_BEFORE_MS, matchWindow, phoneAgreement, referenceKey } from './incoming-matching';
import { ReceiptOwner, MpesaReceiptsRepository } from './mpesa-receipts.repository';
import { Payment } from './payment.entity';
import { paymentWebhookPayload, settlementAuditAfter } from './payment-events';
import { IncomingEvidence, PaymentSettlementService } from './payment-settlement.service';
import { PaymentChannel, PaymentStatus, PaymentType, SettledBy, StkPushStatus } from './payment-status';
import { NewIncomingPayment, PaymentsRepository } from './payments.repository';

/** Where a piece of money-in evidence that is not an STK callback or query came from. */
export type IncomingSource = 'c2b_confirmation' | 'pull' | 'statement';

/** One incoming transaction, as a C2B confirmation, a Pull record or a statement row tells it. */
export interface IncomingTransaction {
  /** TransID / transactionId / Receipt No. */
  receipt: string;
  /** Whole KES (M-Pesa amounts are whole: a fraction is refused as malformed). */
  amount: number;
  /** TransTime / trxDate / Completion Time. */
  occurredAt: Date;
  /** BillRefNumber / billreference / A/C No., raw (trimmed here). */
  accountReference: string | null;
  /** As given: masked, hashed, plain or empty (docs/daraja.md §9.7). Never used to identify or contact anyone. */
  msisdn: string | null;
  payerName: string | null;
  shortCode: string | null;
  transactionType: string | null;
  /** The raw record; redacted before it is stored. */
  payload: unknown;
}

export type IngestOutcome = 'created' | 'attached' | 'receipt_recorded' | 'duplicate' | 'flagged';

export interface IngestResult {
  /**
   * created: a new `c2b` payment; attached: one of our pushes completed with this receipt; receipt_recorded: a push a
   * status query had completed now holds its receipt; duplicate: already recorded exactly so; flagged: a review holds it.
   */
  outcome: IngestOutcome;
  paymentId: string | null;
  reviewIds: string[];
}

/**
 * The transaction was stored in the ledger, but placing it failed (a database error): it stays there unplaced, and the
 * next delivery of it, or the next Pull run, places it. A C2B confirmation is still answered as received.
 */
export class IncomingNotPlacedError extends Error {
  constructor(
    readonly receipt: string,
    readonly placingError: unknown,
  ) {
    super(`Receipt ${receipt} was stored but not placed: ${placingError instanceof Error ? placingError.message : String(placingError)}`);
    this.name = 'IncomingNotPlacedError';
  }
}

const SETTLED_BY: Record<IncomingSource, IncomingEvidence['settledBy']> = {
  c2b_confirmation: SettledBy.C2bConfirmation,
  pull: SettledBy.Pull,
  statement: SettledBy.Statement,
};
const SOURCE_LABEL: Record<IncomingSource, string> = {
  c2b_confirmation: 'C2B confirmation',
  pull: 'Pull Transactions',
  statement: 'the statement',
};
/** How many times placing money that lost a race to another path is tried again against what won. */
const RACE_RETRIES = 2;
const RECEIPT = /^[A-Z0-9]{6,32}$/;

/** What `ingest` works with: the transaction checked and trimmed. */
interface Incoming extends IncomingTransaction {
  /** The account reference compared against our pushes: trimmed, upper-case. */
  referenceKey: string | null;
}

/**
 * The one path for money that reaches the service without our ids (a C2B confirmation, a Pull record, a statement
 * row): one receipt is one payment, whatever told us of it and however often (docs/reconciliation.md).
 *
 * 1. The receipt is stored in the ledger (`mpesa_receipts`) before anything else, and locked while it is placed.
 * 2. A receipt the service knows (its ledger row names a payment, or a payment holds it) is evidence for that payment:
 *    the same amount is a `duplicate`; anything else opens a review. Never a second payment.
 * 3. Otherwise it may be one of our pushes whose callback is late or lost: same account reference, same amount, the
 *    payer's visible digits fitting the push's phone, pushed in a short window before the money's time, and still
 *    open to such evidence (pending, expired, or completed without a receipt). Exactly one: it is completed with this
 *    receipt (`attached`, or `receipt_recorded`). Several: a `possible_match` review on each, no payment created.
 * 4. Otherwise a new completed payment, channel `c2b`, matched to a bill by its account number (an `unmatched_payment`
 *    review when none; an `overpayment` review beyond the bill's balance).
 */
@Injectable()
export class IncomingPayments {
  private readonly logger = new Logger(IncomingPayments.name);

  constructor(
    private readonly db: Database,
    private readonly payments: PaymentsRepository,
    private readonly receipts: MpesaReceiptsRepository,
    private readonly settlement: PaymentSettlementService,
    private readonly bills: BillLedger,
    private readonly audit: AuditService,
    private readonly notifications: NotificationsService,
    private readonly crypto: FieldEncryptionService,
    private readonly metrics: MetricsService,
  ) {}

  /** Places one incoming transaction (see the class comment). Throws ValidationError for a malformed one (nothing stored). */
  async ingest(transaction: IncomingTransaction, source: IncomingSource, actor: Actor): Promise<IngestResult> {
    const incoming = checked(transaction);
    // Stored first, on its own: if placing it fails, the ledger still holds it unplaced for the next delivery or Pull run.
    await this.receipts.record({
      receipt: incoming.receipt,
      channel: source,
      amount: incoming.amount,
      occurredAt: incoming.occurredAt,
      accountReference: incoming.accountReference,
      msisdn: ledgerMsisdn(incoming.msisdn),
      // The ledger is read by reconciliation, not by people: it keeps the name reduced to initials.
      payerName: incoming.payerName ? maskPartyName(incoming.payerName) : null,
      shortCode: incoming.shortCode,
      transactionType: incoming.transactionType,
      payload: incoming.payload,
    });
    const written: WrittenNotification[] = [];
    let result: IngestResult;
    try {
      result = await this.db.transaction((tx) => this.place(tx, incoming, source, actor, written));
    } catch (error) {
      this.metrics.incomingPayment(source, 'not_placed');
      this.logger.error(
        `Receipt ${incoming.receipt} from ${source} stored but not placed: ${error instanceof Error ? error.stack : String(error)}`,
      );
      throw new IncomingNotPlacedError(incoming.receipt, error);
    }
    await this.notifications.dispatch(written);
    this.metrics.incomingPayment(source, result.outcome);
    this.logger.log(
      `Receipt ${incoming.receipt} (KES ${incoming.amount}) from ${source}: ${result.outcome}${result.paymentId ? ` payment ${result.paymentId}` : ''}`,
    );
    return result;
  }

  /**
   * Whether an account number names something owed to us now: a bill still open (or partly paid), or one of our
   * pushes of the last few minutes (an STK payment reaches the validation URL too: refusing it would cancel it).
   * For C2B validation (strict mode); one indexed look-up each.
   */
  async recognisesAccountNumber(accountNumber: string | null, now = new Date()): Promise<boolean> {
    const key = referenceKey(accountNumber);
    if (!key) return false;
    const bill = await this.bills.findByAccountNumber(key);
    if (bill && (bill.status === BillStatus.Open || bill.status === BillStatus.PartiallyPaid)) return true;
    return this.payments.hasPushWithReference(key, new Date(now.getTime() - MATCH_WINDOW_BEFORE_MS));
  }

  /** The payments these receipts belong to (receipts seen but not placed on a payment are absent). */
  findByReceipts(receipts: string[]): Promise<Map<string, ReceiptOwner>> {
    return this.receipts.findOwners(receipts.map((r) => r.trim().toUpperCase()));
  }

  private async place(
    tx: Tx,
    incoming: Incoming,
    source: IncomingSource,
    actor: Actor,
    written: WrittenNotification[],
  ): Promise<IngestResult> {
    const ledger = await this.receipts.lock(tx, incoming.receipt);
    const owner = ledger?.paymentId
      ? await this.payments.findById(ledger.paymentId, tx)
      : await this.payments.findByReceipt(incoming.receipt, tx);
    if (owner) {
      if (!ledger?.paymentId) await this.receipts.link(tx, incoming.receipt, owner.id);
      return this.applyTo(tx, owner, incoming, source, actor, written);
    }
    const candidates = await this.candidates(tx, incoming);
    if (candidates.length === 1) return this.applyTo(tx, candidates[0], incoming, source, actor, written);
    if (candidates.length > 1) return this.possibleMatch(tx, candidates, incoming, source, actor, written);
    return this.create(tx, incoming, source, actor, written);
  }

  /** Our pushes this money may be (see incoming-matching.ts): the SQL narrows by reference, amount and time; the phone decides. */
  private async candidates(tx: Tx, incoming: Incoming): Promise<Payment[]> {
    if (!incoming.referenceKey) return [];
    const window = matchWindow(incoming.occurredAt);
    const found = await this.payments.findIncomingCandidates({ reference: incoming.referenceKey, amount: incoming.amount, ...window }, tx);
    return found.filter(
      (p) => phoneAgreement(this.crypto.decrypt(p.phoneNumberEncrypted, FIELDS.paymentPhone(p.id)), incoming.msisdn) === 'agrees',
    );
  }

  /** This money is evidence for `payment` (it holds the receipt, or is the one push it matched). */
  private async applyTo(
    tx: Tx,
    payment: Payment,
    incoming: Incoming,
    source: IncomingSource,
    actor: Actor,
    written: WrittenNotification[],
    attempt = 0,
  ): Promise<IngestResult> {
    const said = `${SOURCE_LABEL[source]} reports receipt ${incoming.receipt} for KES ${incoming.amount}`;
    const flag = (reason: ReviewReason, detail: string) => this.flag(tx, payment, reason, detail, incoming, source, actor, written);
    if (payment.mpesaReceiptNumber === incoming.receipt) {
      if (payment.amount === incoming.amount) return { outcome: 'duplicate', paymentId: payment.id, reviewIds: [] };
      return flag(ReviewReason.AmountMismatch, `${said}; the payment holding it is KES ${payment.amount}`);
    }
    if (payment.mpesaReceiptNumber) {
      return flag(ReviewReason.ContradictingResult, `${said}; the payment was paid with receipt ${payment.mpesaReceiptNumber}`);
    }
    if (payment.amount !== incoming.amount) return flag(ReviewReason.AmountMismatch, `${said}; the payment is KES ${payment.amount}`);
    if (payment.reviewReason) {
      return flag(ReviewReason.PossibleMatch, `${said}, which may be this payment's; it waits on a review (${payment.reviewReason})`);
    }
    const evidence: IncomingEvidence = {
      settledBy: SETTLED_BY[source],
      receipt: incoming.receipt,
      transactionDate: incoming.occurredAt,
      payload: redact(incoming.payload),
    };
    const retry = async (): Promise<IngestResult> => {
      // Another path (its STK callback, a status query) moved the payment first: weigh this money against what won.
      const now = attempt < RACE_RETRIES ? await this.payments.findById(payment.id, tx) : null;
      if (now) return this.applyTo(tx, now, incoming, source, actor, written, attempt + 1);
      // Still moving under us after every retry: evidence of money is never answered as a duplicate, a person decides.
      return flag(ReviewReason.PossibleMatch, `${said}, which may be this payment's; it kept changing while being applied`);
    };
    if (payment.status === PaymentStatus.Pending || payment.status === PaymentStatus.Expired) {
      const reviewIds: string[] = [];
      const rows = await this.settlement.completeIncoming(tx, payment, evidence, actor, reviewIds);
      if (!rows) return retry();
      written.push(...rows);
      if (payment.status === PaymentStatus.Expired) this.logger.warn(`Payment ${payment.id} had expired; ${said} completes it`);
      return { outcome: 'attached', paymentId: payment.id, reviewIds };
    }
    if (payment.status === PaymentStatus.Completed) {
      if (!(await this.settlement.recordIncomingReceipt(tx, payment, evidence, actor))) return retry();
      return { outcome: 'receipt_recorded', paymentId: payment.id, reviewIds: [] };
    }
    return flag(ReviewReason.ContradictingResult, `${said}; the payment is ${payment.status} (ResultCode ${payment.resultCode ?? '-'})`);
  }

  private async flag(
    tx: Tx,
    payment: Payment,
    reason: ReviewReason,
    detail: string,
    incoming: Incoming,
    source: IncomingSource,
    actor: Actor,
    written: WrittenNotification[],
  ): Promise<IngestResult> {
    const opened = await this.settlement.openReviewOn(
      tx,
      payment.id,
      reason,
      { detail, ...this.evidence(incoming, source) },
      incoming.receipt,
      actor,
    );
    written.push(...(opened?.notifications ?? []));
    return { outcome: 'flagged', paymentId: payment.id, reviewIds: opened ? [opened.review.id] : [] };
  }

  /** Several of our pushes fit: a person picks (a review on each, listing all); no payment is created. */
  private async possibleMatch(
    tx: Tx,
    candidates: Payment[],
    incoming: Incoming,
    source: IncomingSource,
    actor: Actor,
    written: WrittenNotification[],
  ): Promise<IngestResult> {
    const ids = candidates.map((c) => c.id);
    const detail = `${SOURCE_LABEL[source]} reports receipt ${incoming.receipt} for KES ${incoming.amount}, which fits ${ids.length} of our pushes (${ids.join(', ')}): resolve the one that was paid`;
    const reviewIds: string[] = [];
    for (const candidate of candidates) {
      const opened = await this.settlement.openReviewOn(
        tx,
        candidate.id,
        ReviewReason.PossibleMatch,
        { detail, candidates: ids, ...this.evidence(incoming, source) },
        incoming.receipt,
        actor,
      );
      if (opened) reviewIds.push(opened.review.id);
      written.push(...(opened?.notifications ?? []));
    }
    return { outcome: 'flagged', paymentId: null, reviewIds };
  }

  /** Money none of our pushes accounts for: a completed `c2b` payment, counted toward the bill its account number names. */
  private async create(
    tx: Tx,
    incoming: Incoming,
    source: IncomingSource,
    actor: Actor,
    written: WrittenNotification[],
  ): Promise<IngestResult> {
    const bill = await this.bills.findByAccountNumber(incoming.accountReference, tx);
    const payable = bill !== null && bill.status !== BillStatus.Cancelled;
    const id = randomUUID();
    const given = incoming.msisdn ?? '';
    const plain = normalizeKenyanPhone(given);
    const completedAt = new Date();
    const row: NewIncomingPayment = {
      id,
      // A cancelled bill still says whose money this is; no bill at all: nobody's until a person places it.
      clientId: bill?.clientId ?? null,
      appointmentId: payable ? bill.appointmentId : null,
      billId: payable ? bill.id : null,
      amount: incoming.amount,
      paymentType: (payable ? bill.paymentType : PaymentType.Other) as PaymentType,
      description: payable ? bill.description : `Paybill payment, account ${incoming.accountReference ?? '(none)'}`.slice(0, 255),
      phoneNumberEncrypted: this.crypto.encrypt(plain ?? given, FIELDS.paymentPhone(id)),
      phoneNumberHash: this.crypto.lookupHash(plain ?? given),
      customerName: incoming.payerName?.slice(0, 100) ?? null,
      accountReference: (incoming.accountReference ?? '').slice(0, 32),
      transactionDesc: sanitizeDarajaText(incoming.transactionType ?? '', TRANSACTION_DESC_MAX) || 'C2B',
      mpesaReceiptNumber: incoming.receipt,
      transactionDate: incoming.occurredAt,
      settledBy: SETTLED_BY[source],
      resultDesc: `Received: ${SOURCE_LABEL[source]}`,
      requestId: currentRequestId() ?? null,
      callbackPayload: redact(incoming.payload) as object,
      completedAt,
    };
    const payment = Object.assign(new Payment(), row, {
      channel: PaymentChannel.C2b,
      status: PaymentStatus.Completed,
      currency: 'KES',
      resultCode: '0',
      failedAt: null,
      initiatedAt: completedAt,
      stkPushStatus: StkPushStatus.NotApplicable,
    });
    const recovered = source === 'pull' || source === 'statement';
    const after = { ...settlementAuditAfter(payment), channel: payment.channel, amount: payment.amount, billId: payment.billId, source };
    const changed = await this.payments.insertIncoming(tx, row, {
      audit: this.audit.insertSql(
        actor,
        [{ action: recovered ? 'payment.recovered' : 'payment.completed', entityType: 'payment', entityId: id, after }],
        IF_CHANGED,
      ),
      outbox: this.notifications.insertSql(
        [this.notifications.webhook('payment.completed', id, paymentWebhookPayload(payment, displayPayerMsisdn(given)))],
        IF_CHANGED,
      ),
    });
    written.push(...(changed.effects.outbox as WrittenNotification[]));
    await this.receipts.link(tx, incoming.receipt, id);
    const reviewIds: string[] = [];
    if (payable) {
      written.push(...(await this.settlement.countTowardBill(tx, changed.payment, actor, reviewIds)));
    } else {
      const opened = await this.settlement.openReviewOn(
        tx,
        id,
        ReviewReason.UnmatchedPayment,
        { detail: unmatchedDetail(incoming, bill), billId: bill?.id ?? null, ...this.evidence(incoming, source) },
        incoming.receipt,
        actor,
      );
      if (opened) reviewIds.push(opened.review.id);
      written.push(...(opened?.notifications ?? []));
    }
    return { outcome: 'created', paymentId: id, reviewIds };
  }

  /** What a review of incoming money keeps: the facts as M-Pesa told them (redacted by the review queue). */
  private evidence(incoming: Incoming, source: IncomingSource): Record<string, unknown> {
    return {
      source,
      receipt: incoming.receipt,
      amount: incoming.amount,
      occurredAt: incoming.occurredAt,
      // What a person's `complete` on the review records as the payment's transaction date (with `receipt`).
      transactionDate: incoming.occurredAt,
      accountReference: incoming.accountReference,
      phoneNumber: displayPayerMsisdn(incoming.msisdn),
      payerName: incoming.payerName ? maskPartyName(incoming.payerName) : null,
      shortCode: incoming.shortCode,
      transactionType: incoming.transactionType,
      payload: incoming.payload ?? null,
    };
  }
}

function unmatchedDetail(incoming: Incoming, bill: Bill | null): string {
  const paid = `KES ${incoming.amount} (receipt ${incoming.receipt})`;
  if (bill) return `${paid} names bill ${bill.accountReference}, which is cancelled: nothing is owed on it`;
  return incoming.accountReference
    ? `${paid} names account "${incoming.accountReference}", which matches no bill`
    : `${paid} names no account number`;
}

/** The ledger keeps a masked or hashed number as given; a plain one masked (the plain one lives encrypted on payments). */
function ledgerMsisdn(given: string | null): string | null {
  if (given === null || !given.trim()) return null;
  return normalizeKenyanPhone(given) ? displayPayerMsisdn(given) : given.trim();
}

/** The transaction checked: a receipt, whole shillings, a real time; text trimmed. Throws ValidationError otherwise. */
function checked(t: IncomingTransaction): Incoming {
  const receipt = String(t.receipt ?? '')
    .trim()
    .toUpperCase();
  if (!RECEIPT.test(receipt)) throw new ValidationError('receipt must be 6-32 letters and digits (an M-Pesa receipt)');
  if (!Number.isSafeInteger(t.amount) || t.amount < 1) {
    throw new ValidationError(`amount must be whole shillings, at least 1 (got ${String(t.amount)}): M-Pesa moves whole shillings`);
  }
  if (!(t.occurredAt instanceof Date) || Number.isNaN(t.occurredAt.getTime())) throw new ValidationError('occurredAt must be a valid time');
  const text = (value: string | null | undefined) =>
    value === null || value === undefined || !String(value).trim() ? null : String(value).trim();
  const accountReference = text(t.accountReference);
  return {
    ...t,
    receipt,
    accountReference,
    msisdn: text(t.msisdn),
    payerName: text(t.payerName),
    shortCode: text(t.shortCode),
    transactionType: text(t.transactionType),
    referenceKey: referenceKey(accountReference),
  };
}
