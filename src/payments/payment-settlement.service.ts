import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Actor, AuditService } from '../audit/audit.service';
import { InboundCallbackLog, TransactionLogService } from '../audit/transaction-log.service';
import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { BillLedger } from '../bills/bill-ledger.service';
import { AppError, ErrorCode } from '../common/errors/app-error';
import { maskPhone, normalizeKenyanPhone } from '../common/phone-number';
import { redact } from '../common/redaction';
import { mpesaConfig } from '../config/configuration';
import { Database, Tx } from '../database/database';
import { IF_CHANGED } from '../database/sql';
import { isUniqueViolation } from '../database/unique-violation';
import { MetricsService } from '../metrics/metrics.service';
import { stkOutcome } from '../mpesa/daraja-result-codes';
import { WrittenNotification } from '../notifications/notifications.repository';
import { NotificationsService } from '../notifications/notifications.service';
import { ReviewResolvers } from '../reviews/review-resolvers';
import { Review, ReviewEntity, ReviewReason, ReviewResolution } from '../reviews/review.entity';
import { OpenedReview, ReviewsService } from '../reviews/reviews.service';
import { MpesaReceiptsRepository } from './mpesa-receipts.repository';
import { Payment } from './payment.entity';
import {
  isLate,
  paymentClientPayload,
  paymentDisplayPhone,
  paymentWebhookPayload,
  settledState,
  settlementAuditAfter,
} from './payment-events';
import { canTransition, PAID_STATUSES, PaymentChannel, PaymentStatus, SettledBy, UNPAID_VERDICTS } from './payment-status';
import { Effects, PaymentsRepository, SettlementChange, UNIQUE_RECEIPT } from './payments.repository';
import { ParsedStkCallback } from './stk-callback.parser';

export type SettleResult = 'applied' | 'already_settled';
/**
 * What a piece of evidence did to its payment. `applied`: the callback's transaction-log row was written with the
 * settlement. `flagged`: a review holds the evidence. `duplicate`: the payment already holds exactly this. `ignored`:
 * it was not evidence of money (a failure naming another checkout).
 */
export type EvidenceResult = 'applied' | 'duplicate' | 'flagged' | 'receipt_recorded' | 'ignored';

/** Where a piece of evidence came from. */
type Source = 'callback' | 'status_query';

/** What M-Pesa said about a payment, however it said it. */
interface Verdict {
  source: Source;
  status: SettlementChange['to'];
  resultCode: string;
  resultDesc: string;
  receipt?: string;
  amount?: number;
  phone?: string;
  transactionDate?: Date;
  checkoutRequestId?: string;
  merchantRequestId?: string;
  payload?: unknown;
}

const STATUS_FOR_OUTCOME = {
  completed: PaymentStatus.Completed,
  cancelled: PaymentStatus.Cancelled,
  timeout: PaymentStatus.Timeout,
  failed: PaymentStatus.Failed,
} as const;

/** How many times evidence that lost a race is weighed again against what won it. */
const RACE_RETRIES = 2;

/** Evidence that arrives without our ids (IncomingPayments). */
const INCOMING_SOURCES: readonly SettledBy[] = [SettledBy.C2bConfirmation, SettledBy.Pull, SettledBy.Statement];
/** Of those, the ones that only reconciliation finds: what they settle is audited as recovered (docs/reconciliation.md). */
const RECOVERY_SOURCES: readonly SettledBy[] = [SettledBy.Pull, SettledBy.Statement];

/** Where a caller collects the ids of the reviews a change opened along the way. */
export type OpenedReviewIds = string[];

/** Money that arrived without our ids and was found to be one of our pushes (see IncomingPayments). */
export interface IncomingEvidence {
  settledBy: SettledBy.C2bConfirmation | SettledBy.Pull | SettledBy.Statement;
  receipt: string;
  transactionDate: Date | null;
  /** The record as received, redacted. */
  payload: unknown;
}

/**
 * Every change of a payment's state before money out, and what evidence of money does to a payment:
 * - a settlement is a guarded UPDATE written with its audit event and outbox rows (and a callback's log row) in one
 *   statement; the notification jobs are queued after it committed;
 * - evidence of money is never dropped: it completes a pending or expired payment, or it opens a review (a success
 *   M-Pesa itself had contradicted, another amount, phone or checkout, a receipt used elsewhere), and a person's
 *   decision on that review is applied here too.
 * Refunds and reversals change a completed payment through PaymentAdjustments.
 */
@Injectable()
export class PaymentSettlementService implements OnModuleInit {
  private readonly logger = new Logger(PaymentSettlementService.name);

  constructor(
    private readonly db: Database,
    private readonly payments: PaymentsRepository,
    private readonly audit: AuditService,
    private readonly transactionLog: TransactionLogService,
    private readonly notifications: NotificationsService,
    private readonly reviews: ReviewsService,
    private readonly resolvers: ReviewResolvers,
    private readonly crypto: FieldEncryptionService,
    private readonly metrics: MetricsService,
    private readonly bills: BillLedger,
    private readonly receipts: MpesaReceiptsRepository,
    @Inject(mpesaConfig.KEY) private readonly settings: ConfigType<typeof mpesaConfig>,
  ) {}

  onModuleInit(): void {
    this.resolvers.register(ReviewEntity.Payment, (tx, review, resolution, actor) => this.resolveReview(tx, review, resolution, actor));
  }

  statusForResultCode(resultCode: string): PaymentStatus {
    return STATUS_FOR_OUTCOME[stkOutcome(resultCode)];
  }

  /**
   * Settles a payment that is in one of `from` (pending by default): the guarded UPDATE, its audit event, its outbox
   * rows and (for a callback) the callback's transaction-log row are one statement; the notification jobs are queued
   * after it committed.
   */
  async settle(
    paymentOrId: Payment | string,
    change: SettlementChange,
    actor: Actor,
    options: { callbackLog?: InboundCallbackLog; from?: PaymentStatus[] } = {},
  ): Promise<SettleResult> {
    const payment = typeof paymentOrId === 'string' ? await this.payments.findById(paymentOrId) : paymentOrId;
    if (!payment) return 'already_settled';
    const written = await this.write(payment, change, actor, { ...options, from: options.from ?? [PaymentStatus.Pending] });
    if (!written) return 'already_settled';
    await this.notifications.dispatch(written);
    if (change.to === PaymentStatus.Completed) await this.checkDoublePayment(payment, actor);
    return 'applied';
  }

  /**
   * The payment a callback's URL names, read by the statement that also feeds the callback's receipt to the ledger:
   * every receipt is recorded, whatever the callback then does to the payment. The URL's token proves which payment
   * the money is evidence for, so a C2B confirmation of the same receipt later is never a second payment. Recorded on
   * its own, before any settlement: if that fails, the ledger still holds the receipt (see receiptFromLedger).
   */
  async loadForCallback(paymentId: string, callback: ParsedStkCallback, rawPayload: unknown): Promise<Payment | null> {
    if (!callback.receiptNumber || callback.amount === undefined) return this.payments.findById(paymentId);
    const phone = callback.phoneNumber === undefined ? undefined : normalizeKenyanPhone(callback.phoneNumber);
    const sighting = this.receipts.recordForPaymentSql(
      {
        receipt: callback.receiptNumber,
        channel: 'stk_callback',
        amount: callback.amount,
        occurredAt: callback.transactionDate ?? null,
        msisdn: phone ? maskPhone(phone) : (callback.phoneNumber ?? null),
        payerName: null,
        shortCode: this.settings.shortcode,
        transactionType: this.settings.transactionType,
        payload: rawPayload,
      },
      paymentId,
    );
    return this.payments.findByIdWith(paymentId, sighting);
  }

  /** A callback: authenticated, well formed, about this payment, whose receipt is recorded (loadForCallback). */
  async applyStkCallback(
    payment: Payment,
    callback: ParsedStkCallback,
    rawPayload: unknown,
    actor: Actor,
    callbackLog: InboundCallbackLog,
  ): Promise<EvidenceResult> {
    const verdict: Verdict = {
      source: 'callback',
      status: this.statusForResultCode(callback.resultCode) as Verdict['status'],
      resultCode: callback.resultCode,
      resultDesc: callback.resultDesc,
      receipt: callback.receiptNumber,
      amount: callback.amount,
      phone: callback.phoneNumber,
      transactionDate: callback.transactionDate,
      checkoutRequestId: callback.checkoutRequestId,
      merchantRequestId: callback.merchantRequestId,
      payload: redact(rawPayload),
    };
    // A callback on this payment's URL about another prompt than the one Daraja acknowledged: when it says the
    // customer paid, that is money a person must place; otherwise it tells nothing about this payment.
    if (payment.checkoutRequestId && payment.checkoutRequestId !== callback.checkoutRequestId) {
      if (verdict.status !== PaymentStatus.Completed) return 'ignored';
      return this.flag(
        payment,
        ReviewReason.CheckoutMismatch,
        verdict,
        `Success for CheckoutRequestID ${callback.checkoutRequestId}, not ${payment.checkoutRequestId}`,
        actor,
      );
    }
    return this.weigh(payment, verdict, actor, callbackLog);
  }

  /** An STK Query's answer for a pending or expired payment (it carries no receipt, amount or phone). */
  async applyStatusQuery(payment: Payment, resultCode: string, resultDesc: string, actor: Actor): Promise<EvidenceResult> {
    const status = this.statusForResultCode(resultCode) as Verdict['status'];
    return this.weigh(payment, { source: 'status_query', status, resultCode, resultDesc }, actor);
  }

  /** What M-Pesa's verdict does to the payment as it stands now. */
  private async weigh(
    payment: Payment,
    verdict: Verdict,
    actor: Actor,
    callbackLog?: InboundCallbackLog,
    attempt = 0,
  ): Promise<EvidenceResult> {
    const paid = verdict.status === PaymentStatus.Completed;
    if (payment.status === PaymentStatus.Pending || payment.status === PaymentStatus.Expired) {
      // A person is deciding this payment: a success joins the review, anything else tells them nothing new.
      if (payment.reviewReason) {
        if (!paid) return 'ignored';
        const mismatch = this.findMismatch(payment, verdict);
        return this.flag(
          payment,
          mismatch?.reason ?? ReviewReason.ContradictingResult,
          verdict,
          mismatch?.detail ?? `A success while the payment waits on a review (${payment.reviewReason})`,
          actor,
        );
      }
      const mismatch = paid ? this.findMismatch(payment, verdict) : undefined;
      if (mismatch) return this.flag(payment, mismatch.reason, verdict, mismatch.detail, actor);
      const late = payment.status === PaymentStatus.Expired;
      const settledBy =
        verdict.source === 'callback'
          ? late
            ? SettledBy.LateCallback
            : SettledBy.Callback
          : late
            ? SettledBy.LateStatusQuery
            : SettledBy.StatusQuery;
      let result: SettleResult;
      try {
        result = await this.settle(
          payment,
          {
            to: verdict.status,
            settledBy,
            resultCode: verdict.resultCode,
            resultDesc: verdict.resultDesc,
            receiptNumber: verdict.receipt ?? null,
            transactionDate: verdict.transactionDate ?? null,
            checkoutRequestId: verdict.checkoutRequestId,
            merchantRequestId: verdict.merchantRequestId,
            ...(verdict.source === 'callback' ? { callbackPayload: verdict.payload } : {}),
          },
          actor,
          { callbackLog, from: [payment.status] },
        );
      } catch (error) {
        if (isUniqueViolation(error, UNIQUE_RECEIPT)) {
          return this.flag(
            payment,
            ReviewReason.DuplicateReceipt,
            verdict,
            `Receipt ${verdict.receipt} already belongs to another payment`,
            actor,
          );
        }
        throw error;
      }
      if (result === 'applied') {
        if (late) this.logger.warn(`Payment ${payment.id} ${verdict.status} by ${settledBy} after it had expired`);
        if (paid && !verdict.receipt) await this.receiptFromLedger(payment.id, actor);
        return 'applied';
      }
      // Another path moved the payment between our read and our UPDATE (a status query, a second callback):
      // weigh the evidence again against what won, so a receipt is never lost to the race.
      const now = await this.payments.findById(payment.id);
      if (!now || attempt >= RACE_RETRIES) return 'duplicate';
      // Nothing was written by the statement that lost, so the callback's log row is still to be written.
      return this.weigh(now, verdict, actor, callbackLog, attempt + 1);
    }
    if ((PAID_STATUSES as readonly PaymentStatus[]).includes(payment.status)) {
      if (!paid || (verdict.receipt !== undefined && verdict.receipt === payment.mpesaReceiptNumber)) return 'duplicate';
      if (!verdict.receipt) return 'duplicate'; // a status query's "paid" for a payment we know is paid
      if (!payment.mpesaReceiptNumber) return this.recordLateReceipt(payment, verdict, actor);
      return this.flag(
        payment,
        ReviewReason.ContradictingResult,
        verdict,
        `A second receipt ${verdict.receipt} for a payment paid with ${payment.mpesaReceiptNumber}`,
        actor,
      );
    }
    if ((UNPAID_VERDICTS as readonly PaymentStatus[]).includes(payment.status)) {
      if (!paid) return 'duplicate';
      return this.flag(
        payment,
        ReviewReason.ContradictingResult,
        verdict,
        `M-Pesa reports ${verdict.receipt ? `receipt ${verdict.receipt}` : 'a success'} for a payment it had reported ${payment.status} (ResultCode ${payment.resultCode ?? '-'})`,
        actor,
      );
    }
    return 'duplicate';
  }

  /**
   * A status query (no receipt) has just completed the payment: a receipt the ledger already links to it (its
   * callback was recorded, but the callback's settlement never committed, e.g. the database went away in between)
   * is put on the payment now, as that callback would have. Best effort: Pull and the statement find it otherwise.
   */
  private async receiptFromLedger(paymentId: string, actor: Actor): Promise<void> {
    try {
      const linked = await this.receipts.findLinkedTo(paymentId);
      if (linked.length !== 1) return; // none, or several: the several are a person's to place (they are evidence already)
      const payment = await this.payments.findById(paymentId);
      if (!payment || payment.mpesaReceiptNumber || payment.status !== PaymentStatus.Completed) return;
      const [sighting] = linked;
      await this.recordLateReceipt(
        payment,
        {
          source: 'callback',
          status: PaymentStatus.Completed,
          resultCode: payment.resultCode ?? '0',
          resultDesc: payment.resultDesc ?? '',
          receipt: sighting.receipt,
          amount: sighting.amount,
          transactionDate: sighting.occurredAt ?? undefined,
          payload: { fromLedger: sighting.receipt },
        },
        actor,
      );
    } catch (error) {
      this.logger.warn(`Payment ${paymentId}: its ledger receipt could not be recorded now (${String(error)}); Pull will bring it`);
    }
  }

  /** A status query (which carries no receipt) completed the payment first: the callback's receipt is kept. */
  private async recordLateReceipt(payment: Payment, verdict: Verdict, actor: Actor): Promise<EvidenceResult> {
    const mismatch = this.findMismatch(payment, verdict);
    if (mismatch) return this.flag(payment, mismatch.reason, verdict, mismatch.detail, actor);
    try {
      const recorded = await this.db.transaction(async (tx) => {
        const done = await this.payments.recordReceipt(
          tx,
          payment.id,
          verdict.receipt as string,
          verdict.transactionDate ?? null,
          verdict.payload,
        );
        if (!done) return false;
        await this.receipts.link(tx, verdict.receipt as string, payment.id);
        await this.audit.record(
          actor,
          {
            action: 'payment.receipt_recorded',
            entityType: 'payment',
            entityId: payment.id,
            before: { mpesaReceiptNumber: null },
            after: { mpesaReceiptNumber: verdict.receipt },
          },
          tx,
        );
        return true;
      });
      return recorded ? 'receipt_recorded' : 'duplicate';
    } catch (error) {
      if (isUniqueViolation(error, UNIQUE_RECEIPT)) {
        return this.flag(
          payment,
          ReviewReason.DuplicateReceipt,
          verdict,
          `Receipt ${verdict.receipt} already belongs to another payment`,
          actor,
        );
      }
      throw error;
    }
  }

  private findMismatch(payment: Payment, verdict: Verdict): { reason: ReviewReason; detail: string } | undefined {
    if (verdict.amount !== undefined && verdict.amount !== payment.amount) {
      return { reason: ReviewReason.AmountMismatch, detail: `M-Pesa reports KES ${verdict.amount}, the payment is KES ${payment.amount}` };
    }
    if (verdict.phone !== undefined) {
      const phone = normalizeKenyanPhone(verdict.phone);
      // Newer payloads may mask the number; only a readable number that differs is a mismatch.
      if (phone && this.crypto.lookupHash(phone) !== payment.phoneNumberHash) {
        return { reason: ReviewReason.PhoneMismatch, detail: `M-Pesa reports phone ${maskPhone(phone)}, not the payment's` };
      }
    }
    return undefined;
  }

  /** Keeps the evidence in a review and marks the payment; its status changes only when a person decides. */
  private async flag(payment: Payment, reason: ReviewReason, verdict: Verdict, detail: string, actor: Actor): Promise<EvidenceResult> {
    const opened = await this.db.transaction((tx) => this.openReview(tx, payment, reason, verdict, detail, actor));
    await this.reviews.announce([opened]);
    return 'flagged';
  }

  private async openReview(
    tx: Tx,
    payment: Payment,
    reason: ReviewReason,
    verdict: Verdict,
    detail: string,
    actor: Actor,
  ): Promise<OpenedReview | null> {
    const phone = verdict.phone !== undefined ? normalizeKenyanPhone(verdict.phone) : undefined;
    const evidence = {
      detail,
      source: verdict.source,
      paymentStatus: payment.status,
      resultCode: verdict.resultCode,
      resultDesc: verdict.resultDesc,
      receipt: verdict.receipt ?? null,
      amount: verdict.amount ?? null,
      phoneNumber: phone ? maskPhone(phone) : (verdict.phone ?? null),
      transactionDate: verdict.transactionDate ?? null,
      checkoutRequestId: verdict.checkoutRequestId ?? null,
      payload: verdict.payload ?? null,
    };
    const fingerprint =
      verdict.receipt ?? `${verdict.source}:${verdict.checkoutRequestId ?? payment.checkoutRequestId ?? '-'}:${verdict.resultCode}`;
    const opened = await this.reviews.open(
      tx,
      { entityType: ReviewEntity.Payment, entityId: payment.id, reason, evidence, fingerprint },
      actor,
    );
    if (!opened) return null;
    // The review's own audit event (review.opened, on this payment's trail) records the mark.
    await this.payments.markUnderReview(tx, payment.id, reason, `${new Date().toISOString()} review ${opened.review.id}: ${detail}`);
    this.logger.warn(`Payment ${payment.id} flagged for review: ${reason} (${detail})`);
    return opened;
  }

  /** Two paid payments of one client for the same appointment: a person checks whether the client paid twice. */
  private async checkDoublePayment(payment: Payment, actor: Actor): Promise<void> {
    const others = await this.payments.findOtherPaidForAppointment(payment);
    if (!others.length) return;
    const current = (await this.payments.findById(payment.id)) ?? payment;
    const opened = await this.db.transaction(async (tx) => {
      const results: Array<OpenedReview | null> = [];
      for (const other of others) {
        const reason = ReviewReason.PossibleDoublePayment;
        const detail = `Payment ${other.id} (${other.status}, KES ${other.amount}) is for the same client and appointment ${payment.appointmentId}`;
        const evidence = { detail, otherPaymentId: other.id, otherReceipt: other.mpesaReceiptNumber, appointmentId: payment.appointmentId };
        const review = await this.reviews.open(
          tx,
          { entityType: ReviewEntity.Payment, entityId: payment.id, reason, evidence, fingerprint: other.id },
          actor,
        );
        if (review)
          await this.payments.markUnderReview(tx, payment.id, reason, `${new Date().toISOString()} review ${review.review.id}: ${detail}`);
        results.push(review);
      }
      return results;
    });
    if (opened.some(Boolean)) this.logger.warn(`Payment ${current.id}: possible double payment for appointment ${payment.appointmentId}`);
    await this.reviews.announce(opened);
  }

  /**
   * A person's decision on a payment's review: `complete` makes it completed with the receipt the evidence recorded,
   * `fail` makes a payment still without a verdict failed, `dismiss` changes nothing. Runs in the review's transaction.
   */
  private async resolveReview(tx: Tx, review: Review, resolution: ReviewResolution, actor: Actor): Promise<WrittenNotification[]> {
    const payment = await this.payments.lockForMoneyOut(tx, review.entityId);
    if (!payment) throw new AppError(ErrorCode.NOT_FOUND, 'The payment of this review no longer exists');
    let written: WrittenNotification[] = [];
    const evidence = review.evidence as { receipt?: string | null; transactionDate?: string | null; resultCode?: string | null };
    const note = `Resolved by review ${review.id} (${review.reason})`;
    if (resolution === ReviewResolution.Complete && canTransition(payment.status, PaymentStatus.Completed)) {
      try {
        written =
          (await this.write(
            payment,
            {
              to: PaymentStatus.Completed,
              settledBy: SettledBy.Review,
              resultCode: evidence.resultCode ?? '0',
              resultDesc: note,
              receiptNumber: evidence.receipt ?? null,
              transactionDate: evidence.transactionDate ? new Date(evidence.transactionDate) : null,
            },
            actor,
            { from: [payment.status], tx },
          )) ?? [];
      } catch (error) {
        if (isUniqueViolation(error, UNIQUE_RECEIPT)) {
          throw new AppError(ErrorCode.CONFLICT, `Receipt ${evidence.receipt} already belongs to another payment: resolve that one first`);
        }
        throw error;
      }
    } else if (resolution === ReviewResolution.Fail) {
      if ((PAID_STATUSES as readonly PaymentStatus[]).includes(payment.status)) {
        throw new AppError(
          ErrorCode.CONFLICT,
          `This payment is ${payment.status}: money arrived; refund or reverse it instead of failing it`,
        );
      }
      if (payment.status === PaymentStatus.Pending || payment.status === PaymentStatus.Expired) {
        written =
          (await this.write(payment, { to: PaymentStatus.Failed, settledBy: SettledBy.Review, resultDesc: note }, actor, {
            from: [payment.status],
            tx,
          })) ?? [];
      }
    }
    await this.payments.setReviewMark(tx, payment.id, await this.reviews.oldestOpenReason(tx, payment.id));
    return written;
  }

  /**
   * One of our pushes, found to be the money a C2B confirmation, Pull or a statement reports (see IncomingPayments),
   * completed with its receipt in the caller's transaction. Null when the payment moved first (nothing written).
   */
  completeIncoming(
    tx: Tx,
    payment: Payment,
    evidence: IncomingEvidence,
    actor: Actor,
    opened: OpenedReviewIds = [],
  ): Promise<WrittenNotification[] | null> {
    return this.write(
      payment,
      {
        to: PaymentStatus.Completed,
        settledBy: evidence.settledBy,
        resultCode: '0',
        resultDesc: `Paid: receipt ${evidence.receipt} reported by ${evidence.settledBy.replace('_', ' ')}`,
        receiptNumber: evidence.receipt,
        transactionDate: evidence.transactionDate,
        errorLog: `${new Date().toISOString()} completed by ${evidence.settledBy}: receipt ${evidence.receipt}`,
      },
      actor,
      { from: [payment.status], tx, opened },
    );
  }

  /** The receipt of money a status query had already reported paid (it brings none), in the caller's transaction. */
  async recordIncomingReceipt(tx: Tx, payment: Payment, evidence: IncomingEvidence, actor: Actor): Promise<boolean> {
    const done = await this.payments.recordReceipt(tx, payment.id, evidence.receipt, evidence.transactionDate, evidence.payload);
    if (!done) return false;
    await this.receipts.link(tx, evidence.receipt, payment.id);
    await this.audit.record(
      actor,
      {
        action: 'payment.receipt_recorded',
        entityType: 'payment',
        entityId: payment.id,
        before: { mpesaReceiptNumber: null },
        after: { mpesaReceiptNumber: evidence.receipt, source: evidence.settledBy },
      },
      tx,
    );
    return true;
  }

  /**
   * Opens a review on a payment in the caller's transaction and marks the payment (its `review_reason` shows the
   * oldest open one). Null when the same evidence (fingerprint) already opened one: nothing written.
   */
  async openReviewOn(
    tx: Tx,
    paymentId: string,
    reason: ReviewReason,
    evidence: Record<string, unknown> & { detail: string },
    fingerprint: string,
    actor: Actor,
  ): Promise<OpenedReview | null> {
    const opened = await this.reviews.open(
      tx,
      { entityType: ReviewEntity.Payment, entityId: paymentId, reason, evidence, fingerprint },
      actor,
    );
    if (!opened) return null;
    await this.payments.markUnderReview(
      tx,
      paymentId,
      reason,
      `${new Date().toISOString()} review ${opened.review.id}: ${evidence.detail}`,
    );
    this.logger.warn(`Payment ${paymentId} flagged for review: ${reason} (${evidence.detail})`);
    return opened;
  }

  /**
   * A completed payment's bill takes the money, in the payment's transaction: the bill's UPDATE, audit event and
   * webhook; beyond what the bill owed, an `overpayment` review; a bill cancelled meanwhile, `unmatched_payment`.
   * Returns the outbox rows written (the bill's webhook, the reviews'), to dispatch after commit; the ids of the
   * reviews it opened are added to `opened`.
   */
  async countTowardBill(tx: Tx, payment: Payment, actor: Actor, opened: OpenedReviewIds = []): Promise<WrittenNotification[]> {
    if (!payment.billId) return [];
    const application = await this.bills.applyPayment(
      tx,
      payment.billId,
      { paymentId: payment.id, amount: payment.amount, channel: payment.channel, mpesaReceiptNumber: payment.mpesaReceiptNumber },
      actor,
    );
    const fingerprint = payment.mpesaReceiptNumber ?? payment.id;
    if (application.kind === 'not_payable') {
      const detail = `KES ${payment.amount} arrived for bill ${payment.billId}, which is ${application.bill?.status ?? 'gone'}: nothing is owed on it`;
      const review = await this.openReviewOn(
        tx,
        payment.id,
        ReviewReason.UnmatchedPayment,
        {
          detail,
          billId: payment.billId,
          billStatus: application.bill?.status ?? null,
          receipt: payment.mpesaReceiptNumber,
          amount: payment.amount,
        },
        fingerprint,
        actor,
      );
      if (review) opened.push(review.review.id);
      return review?.notifications ?? [];
    }
    const written = [...application.notifications];
    if (application.excess > 0) {
      const { bill } = application;
      const detail = `KES ${application.excess} of this payment is beyond what bill ${bill.accountReference} owed (KES ${bill.paidAmount} paid of ${bill.amount})`;
      const review = await this.openReviewOn(
        tx,
        payment.id,
        ReviewReason.Overpayment,
        {
          detail,
          billId: bill.id,
          accountReference: bill.accountReference,
          billAmount: bill.amount,
          paidBefore: application.previousPaidAmount,
          paidNow: bill.paidAmount,
          excess: application.excess,
          receipt: payment.mpesaReceiptNumber,
        },
        fingerprint,
        actor,
      );
      if (review) opened.push(review.review.id);
      written.push(...(review?.notifications ?? []));
    }
    return written;
  }

  /**
   * The settling statement; the outbox rows it wrote (to dispatch after commit), or null when it did not apply. A
   * payment of a bill completes in one transaction with the bill's change (in the caller's, when it gives one).
   */
  private async write(
    payment: Payment,
    change: SettlementChange,
    actor: Actor,
    options: { callbackLog?: InboundCallbackLog; from: PaymentStatus[]; tx?: Tx; opened?: OpenedReviewIds },
  ): Promise<WrittenNotification[] | null> {
    for (const from of options.from) {
      if (!canTransition(from, change.to)) throw new Error(`Illegal transition ${from} -> ${change.to}`);
    }
    const settled = settledState(payment, change, new Date());
    const event = `payment.${settled.status}`;
    // Proof of payment after our own give-up: LegalPro may have told the client it failed.
    const late = isLate(settled) || (payment.status === PaymentStatus.Expired && INCOMING_SOURCES.includes(change.settledBy));
    // Our own give-up tells the client nothing: the customer may have paid, and "no money was taken" would invite a
    // second payment. A late proof of payment completes the payment later. A C2B payer's number is not an address.
    const tellClient = change.to !== PaymentStatus.Expired && payment.channel !== PaymentChannel.C2b;
    const outbox = [
      this.notifications.webhook(event, payment.id, paymentWebhookPayload(settled, paymentDisplayPhone(payment, this.crypto), late)),
      ...(tellClient
        ? this.notifications.forClient(
            change.to === PaymentStatus.Completed ? 'payment.received' : 'payment.failed',
            payment.id,
            paymentClientPayload(settled),
            Boolean(payment.customerEmailEncrypted),
          )
        : []),
    ];
    const effects: Effects = {
      audit: this.audit.insertSql(
        actor,
        [
          {
            // Money that only Pull or a statement told us of: an operator reading the trail should see it was recovered.
            action: RECOVERY_SOURCES.includes(change.settledBy) ? 'payment.recovered' : event,
            entityType: 'payment',
            entityId: payment.id,
            before: { status: payment.status },
            after: settlementAuditAfter(settled),
          },
        ],
        IF_CHANGED,
      ),
      outbox: this.notifications.insertSql(outbox, IF_CHANGED),
      ...(options.callbackLog ? { log: this.transactionLog.inboundSql(options.callbackLog, IF_CHANGED) } : {}),
      ...(change.receiptNumber ? { receipt: this.receipts.linkSql(change.receiptNumber, payment.id, IF_CHANGED) } : {}),
    };
    const apply = async (tx: Tx | undefined): Promise<WrittenNotification[] | null> => {
      const changed = await this.payments.settle(settled, change, effects, options.from, {
        tx,
        byReview: change.settledBy === SettledBy.Review,
      });
      if (!changed) return null;
      const outboxRows = changed.effects.outbox as WrittenNotification[];
      if (!tx || change.to !== PaymentStatus.Completed) return outboxRows;
      return [...outboxRows, ...(await this.countTowardBill(tx, changed.payment, actor, options.opened))];
    };
    const billed = change.to === PaymentStatus.Completed && payment.billId !== null;
    // A payment of no bill settles in one statement; a bill's payment takes the bill's row in the same transaction.
    const written = options.tx ? await apply(options.tx) : billed ? await this.db.transaction((tx) => apply(tx)) : await apply(undefined);
    if (!written) return null;
    // Only the process whose UPDATE changed the row counts it: a settlement is counted once across replicas.
    this.metrics.paymentSettled(change.settledBy, change.to, payment.initiatedAt);
    this.logger.log(
      `Payment ${payment.id} ${change.to} (settled by ${change.settledBy}${change.resultCode ? `, ResultCode ${change.resultCode}` : ''})`,
    );
    return written;
  }
}

/** The settlement of our own give-up: no answer from M-Pesa in time. */
export function expiry(reason: string): SettlementChange {
  return { to: PaymentStatus.Expired, settledBy: SettledBy.Expiry, resultDesc: reason };
}
