import { Injectable, Logger } from '@nestjs/common';
import { InjectEntityManager } from '@nestjs/typeorm';
import { EntityManager } from 'typeorm';
import { Actor, AuditService } from '../audit/audit.service';
import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { MetricsService } from '../metrics/metrics.service';
import { redact } from '../common/redaction';
import { maskPhone, normalizeKenyanPhone } from '../mpesa/phone-number';
import { NotificationsService } from '../notifications/notifications.service';
import { Payment } from './payment.entity';
import { canTransition, PaymentStatus, SettledBy } from './payment-status';
import { isUniqueViolation, PaymentsRepository, SettlementChange, UNIQUE_RECEIPT } from './payments.repository';
import { ParsedStkCallback } from './stk-callback.parser';
import { stkOutcome } from '../mpesa/daraja-result-codes';

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
 * Owns every payment state transition. Each one is a guarded UPDATE plus its audit event and its outbox
 * notification, in one transaction; the notification is queued after the commit.
 */
@Injectable()
export class PaymentSettlementService {
  private readonly logger = new Logger(PaymentSettlementService.name);

  constructor(
    @InjectEntityManager() private readonly manager: EntityManager,
    private readonly payments: PaymentsRepository,
    private readonly audit: AuditService,
    private readonly notifications: NotificationsService,
    private readonly crypto: FieldEncryptionService,
    private readonly metrics: MetricsService,
  ) {}

  statusForResultCode(resultCode: string): PaymentStatus {
    return STATUS_FOR_OUTCOME[stkOutcome(resultCode)];
  }

  /**
   * Settles a pending payment: the guarded UPDATE, its audit event, its outbox notification and (for a callback)
   * its transaction-log row are one statement; the webhook job is queued after it committed.
   */
  async settle(paymentOrId: Payment | string, change: SettlementChange, actor: Actor, transactionLog?: Record<string, unknown>): Promise<SettleResult> {
    if (!canTransition(PaymentStatus.Pending, change.to)) throw new Error(`Illegal transition pending -> ${change.to}`);
    const payment = typeof paymentOrId === 'string' ? await this.payments.findById(paymentOrId) : paymentOrId;
    if (!payment) return 'already_settled';
    const outbox = this.notifications.outboxState();
    const settled = await this.payments.settle(payment.id, change, {
      actor,
      notificationPayload: this.notificationPayload(payment),
      notificationStatus: outbox.status,
      notificationNote: outbox.note,
      transactionLog,
      // Our own give-up (no ResultCode: M-Pesa never said how it ended) tells the client nothing: the customer may
      // have paid, and "no money was taken" would invite a second payment. A late success is reconciled by a person.
      clientNotifications:
        change.to === PaymentStatus.Timeout && !change.resultCode
          ? []
          : this.notifications.clientOutbox(change.to === PaymentStatus.Completed ? 'payment.received' : 'payment.failed', Boolean(payment.customerEmailEncrypted)),
    });
    if (!settled) return 'already_settled';
    // Only the process whose UPDATE changed the row counts it: a settlement is counted once across replicas.
    this.metrics.paymentSettled(change.settledBy, change.to, payment.initiatedAt);
    this.logger.log(`Payment ${payment.id} ${change.to} (settled by ${change.settledBy}${change.resultCode ? `, ResultCode ${change.resultCode}` : ''})`);
    if (outbox.status === 'pending') await this.notifications.dispatch([settled.notificationId]);
    await this.notifications.dispatch(settled.clientNotifications);
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
    transactionLog: Record<string, unknown>,
  ): Promise<CallbackResult> {
    const status = this.statusForResultCode(callback.resultCode);
    if (payment.status !== PaymentStatus.Pending) {
      if (payment.status === PaymentStatus.Completed && status === PaymentStatus.Completed && !payment.mpesaReceiptNumber) {
        // A status query (which carries no receipt) got there first: keep the callback's receipt for reconciliation.
        return this.recordLateReceipt(payment, callback, rawPayload, actor);
      }
      if (payment.status === PaymentStatus.Timeout && status === PaymentStatus.Completed) {
        // Money moved after we gave up on it: a person must reconcile (complete it or refund it).
        await this.flag(payment, 'paid_after_timeout', rawPayload, `Success callback (receipt ${callback.receiptNumber}) arrived after the payment timed out`, actor);
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
        transactionLog,
      );
      return result === 'applied' ? 'applied' : 'duplicate';
    } catch (error) {
      if (isUniqueViolation(error, UNIQUE_RECEIPT)) {
        await this.flag(payment, 'duplicate_receipt', rawPayload, `Receipt ${callback.receiptNumber} already belongs to another payment`, actor);
        return 'flagged';
      }
      throw error;
    }
  }

  private async recordLateReceipt(payment: Payment, callback: ParsedStkCallback, rawPayload: unknown, actor: Actor): Promise<CallbackResult> {
    const mismatch = this.findMismatch(payment, callback);
    if (mismatch) {
      await this.flag(payment, mismatch.reason, rawPayload, mismatch.detail, actor);
      return 'flagged';
    }
    try {
      const recorded = await this.manager.transaction(async (tx) => {
        if (!(await this.payments.recordReceipt(payment.id, callback.receiptNumber as string, callback.transactionDate ?? null, redact(rawPayload), tx))) {
          return false;
        }
        await this.audit.record(
          actor,
          { action: 'payment.receipt_recorded', entityType: 'payment', entityId: payment.id, before: { mpesaReceiptNumber: null }, after: { mpesaReceiptNumber: callback.receiptNumber } },
          tx,
        );
        return true;
      });
      return recorded ? 'receipt_recorded' : 'duplicate';
    } catch (error) {
      if (isUniqueViolation(error, UNIQUE_RECEIPT)) {
        await this.flag(payment, 'duplicate_receipt', rawPayload, `Receipt ${callback.receiptNumber} already belongs to another payment`, actor);
        return 'flagged';
      }
      throw error;
    }
  }

  private findMismatch(payment: Payment, callback: ParsedStkCallback): { reason: string; detail: string } | undefined {
    if (callback.amount !== payment.amount) {
      return { reason: 'callback_amount_mismatch', detail: `Callback amount ${callback.amount} differs from the payment's ${payment.amount}` };
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
    await this.manager.transaction(async (tx) => {
      if (!(await this.payments.flagForReview(payment.id, reason, redact(rawPayload), detail, tx))) return;
      await this.audit.record(
        actor,
        { action: 'payment.flagged_for_review', entityType: 'payment', entityId: payment.id, before: { status: payment.status }, after: { reviewReason: reason }, metadata: { detail } },
        tx,
      );
    });
    this.logger.warn(`Payment ${payment.id} flagged for review: ${reason}`);
  }

  /** The fixed part of a payment's notification; the settled fields are added by the settling statement. */
  private notificationPayload(payment: Payment): Record<string, unknown> {
    return {
      paymentId: payment.id,
      clientId: payment.clientId,
      appointmentId: payment.appointmentId,
      amount: payment.amount,
      currency: payment.currency,
      paymentType: payment.paymentType,
      phoneNumber: maskPhone(this.crypto.decrypt(payment.phoneNumberEncrypted)),
    };
  }
}
