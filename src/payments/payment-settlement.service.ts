import { Injectable, Logger } from '@nestjs/common';
import { Actor, AuditService } from '../audit/audit.service';
import { InboundCallbackLog, TransactionLogService } from '../audit/transaction-log.service';
import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { maskPhone, normalizeKenyanPhone } from '../common/phone-number';
import { redact } from '../common/redaction';
import { Database } from '../database/database';
import { IF_CHANGED } from '../database/sql';
import { isUniqueViolation } from '../database/unique-violation';
import { MetricsService } from '../metrics/metrics.service';
import { stkOutcome } from '../mpesa/daraja-result-codes';
import { NotificationsService } from '../notifications/notifications.service';
import { Payment } from './payment.entity';
import { paymentClientPayload, paymentWebhookPayload, settledState, settlementAuditAfter } from './payment-events';
import { canTransition, PaymentStatus, SettledBy } from './payment-status';
import { Effects, PaymentsRepository, SettlementChange, UNIQUE_RECEIPT } from './payments.repository';
import { ParsedStkCallback } from './stk-callback.parser';

export type SettleResult = 'applied' | 'already_settled';
/** `applied` means the callback's transaction-log row was written with the settlement. */
export type CallbackResult = 'applied' | 'duplicate' | 'flagged' | 'receipt_recorded';

const STATUS_FOR_OUTCOME = {
  completed: PaymentStatus.Completed,
  cancelled: PaymentStatus.Cancelled,
  timeout: PaymentStatus.Timeout,
  failed: PaymentStatus.Failed,
} as const;

/**
 * How a payment leaves `pending` (settle), and what an STK callback does to a payment (applyStkCallback): each
 * change is a guarded UPDATE written with its audit event and its outbox rows in one statement; the delivery jobs
 * are queued after it committed. Refunds and reversals change a completed payment through PaymentAdjustments.
 */
@Injectable()
export class PaymentSettlementService {
  private readonly logger = new Logger(PaymentSettlementService.name);

  constructor(
    private readonly db: Database,
    private readonly payments: PaymentsRepository,
    private readonly audit: AuditService,
    private readonly transactionLog: TransactionLogService,
    private readonly notifications: NotificationsService,
    private readonly crypto: FieldEncryptionService,
    private readonly metrics: MetricsService,
  ) {}

  statusForResultCode(resultCode: string): PaymentStatus {
    return STATUS_FOR_OUTCOME[stkOutcome(resultCode)];
  }

  /**
   * Settles a pending payment: the guarded UPDATE, its audit event, its outbox rows and (for a callback) the
   * callback's transaction-log row are one statement; the notification jobs are queued after it committed.
   */
  async settle(
    paymentOrId: Payment | string,
    change: SettlementChange,
    actor: Actor,
    callbackLog?: InboundCallbackLog,
  ): Promise<SettleResult> {
    if (!canTransition(PaymentStatus.Pending, change.to)) throw new Error(`Illegal transition pending -> ${change.to}`);
    const payment = typeof paymentOrId === 'string' ? await this.payments.findById(paymentOrId) : paymentOrId;
    if (!payment) return 'already_settled';
    const settled = settledState(payment, change, new Date());
    const event = `payment.${settled.status}`;
    // Our own give-up (no ResultCode: M-Pesa never said how it ended) tells the client nothing: the customer may
    // have paid, and "no money was taken" would invite a second payment. A late success is reconciled by a person.
    const tellClient = !(change.to === PaymentStatus.Timeout && !change.resultCode);
    const outbox = [
      this.notifications.webhook(
        event,
        payment.id,
        paymentWebhookPayload(settled, maskPhone(this.crypto.decrypt(payment.phoneNumberEncrypted))),
      ),
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
            action: event,
            entityType: 'payment',
            entityId: payment.id,
            before: { status: PaymentStatus.Pending },
            after: settlementAuditAfter(settled),
          },
        ],
        IF_CHANGED,
      ),
      outbox: this.notifications.insertSql(outbox, IF_CHANGED),
      ...(callbackLog ? { log: this.transactionLog.inboundSql(callbackLog, IF_CHANGED) } : {}),
    };
    const changed = await this.payments.settle(settled, change, effects);
    if (!changed) return 'already_settled';
    // Only the process whose UPDATE changed the row counts it: a settlement is counted once across replicas.
    this.metrics.paymentSettled(change.settledBy, change.to, payment.initiatedAt);
    this.logger.log(
      `Payment ${payment.id} ${change.to} (settled by ${change.settledBy}${change.resultCode ? `, ResultCode ${change.resultCode}` : ''})`,
    );
    await this.notifications.dispatch(changed.effects.outbox as Parameters<NotificationsService['dispatch']>[0]);
    return 'applied';
  }

  /**
   * Applies an authenticated, well-formed STK callback to its payment. Duplicates change nothing; a success
   * whose amount or phone does not match ours is flagged for a person instead of completing the payment.
   */
  async applyStkCallback(
    payment: Payment,
    callback: ParsedStkCallback,
    rawPayload: unknown,
    actor: Actor,
    callbackLog: InboundCallbackLog,
  ): Promise<CallbackResult> {
    const status = this.statusForResultCode(callback.resultCode);
    if (payment.status !== PaymentStatus.Pending) {
      if (payment.status === PaymentStatus.Completed && status === PaymentStatus.Completed && !payment.mpesaReceiptNumber) {
        // A status query (which carries no receipt) got there first: keep the callback's receipt for reconciliation.
        return this.recordLateReceipt(payment, callback, rawPayload, actor);
      }
      if (payment.status === PaymentStatus.Timeout && status === PaymentStatus.Completed) {
        // Money moved after we gave up on it: a person must reconcile (complete it or refund it).
        await this.flag(
          payment,
          'paid_after_timeout',
          rawPayload,
          `Success callback (receipt ${callback.receiptNumber}) arrived after the payment timed out`,
          actor,
        );
        return 'flagged';
      }
      return 'duplicate';
    }
    if (status === PaymentStatus.Completed) {
      const mismatch = this.findMismatch(payment, callback);
      if (mismatch) {
        await this.flag(payment, mismatch.reason, rawPayload, mismatch.detail, actor);
        return 'flagged';
      }
    }
    try {
      const result = await this.settle(
        payment,
        {
          to: status as SettlementChange['to'],
          settledBy: SettledBy.Callback,
          resultCode: callback.resultCode,
          resultDesc: callback.resultDesc,
          receiptNumber: callback.receiptNumber ?? null,
          transactionDate: callback.transactionDate ?? null,
          checkoutRequestId: callback.checkoutRequestId,
          merchantRequestId: callback.merchantRequestId,
          callbackPayload: redact(rawPayload),
        },
        actor,
        callbackLog,
      );
      return result === 'applied' ? 'applied' : 'duplicate';
    } catch (error) {
      if (isUniqueViolation(error, UNIQUE_RECEIPT)) {
        await this.flag(
          payment,
          'duplicate_receipt',
          rawPayload,
          `Receipt ${callback.receiptNumber} already belongs to another payment`,
          actor,
        );
        return 'flagged';
      }
      throw error;
    }
  }

  private async recordLateReceipt(
    payment: Payment,
    callback: ParsedStkCallback,
    rawPayload: unknown,
    actor: Actor,
  ): Promise<CallbackResult> {
    const mismatch = this.findMismatch(payment, callback);
    if (mismatch) {
      await this.flag(payment, mismatch.reason, rawPayload, mismatch.detail, actor);
      return 'flagged';
    }
    try {
      const recorded = await this.db.transaction(async (tx) => {
        if (
          !(await this.payments.recordReceipt(
            tx,
            payment.id,
            callback.receiptNumber as string,
            callback.transactionDate ?? null,
            redact(rawPayload),
          ))
        ) {
          return false;
        }
        await this.audit.record(
          actor,
          {
            action: 'payment.receipt_recorded',
            entityType: 'payment',
            entityId: payment.id,
            before: { mpesaReceiptNumber: null },
            after: { mpesaReceiptNumber: callback.receiptNumber },
          },
          tx,
        );
        return true;
      });
      return recorded ? 'receipt_recorded' : 'duplicate';
    } catch (error) {
      if (isUniqueViolation(error, UNIQUE_RECEIPT)) {
        await this.flag(
          payment,
          'duplicate_receipt',
          rawPayload,
          `Receipt ${callback.receiptNumber} already belongs to another payment`,
          actor,
        );
        return 'flagged';
      }
      throw error;
    }
  }

  private findMismatch(payment: Payment, callback: ParsedStkCallback): { reason: string; detail: string } | undefined {
    if (callback.amount !== payment.amount) {
      return {
        reason: 'callback_amount_mismatch',
        detail: `Callback amount ${callback.amount} differs from the payment's ${payment.amount}`,
      };
    }
    if (callback.phoneNumber !== undefined) {
      const phone = normalizeKenyanPhone(callback.phoneNumber);
      // Newer payloads may mask the number; only a readable number that differs is a mismatch.
      if (phone && this.crypto.lookupHash(phone) !== payment.phoneNumberHash) {
        return { reason: 'callback_phone_mismatch', detail: `Callback phone ${maskPhone(phone)} differs from the payment's` };
      }
    }
    return undefined;
  }

  private async flag(payment: Payment, reason: string, rawPayload: unknown, detail: string, actor: Actor): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (!(await this.payments.flagForReview(tx, payment.id, reason, redact(rawPayload), detail))) return;
      await this.audit.record(
        actor,
        {
          action: 'payment.flagged_for_review',
          entityType: 'payment',
          entityId: payment.id,
          before: { status: payment.status },
          after: { reviewReason: reason },
          metadata: { detail },
        },
        tx,
      );
    });
    this.logger.warn(`Payment ${payment.id} flagged for review: ${reason}`);
  }
}
