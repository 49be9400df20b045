import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { FIELDS } from '../common/crypto/sealed-field';
import { maskPhone } from '../common/phone-number';
import { PaymentClientPayload } from '../notifications/client-notifications';
import { displayPayerMsisdn } from './incoming-matching';
import { Payment } from './payment.entity';
import { PaymentChannel, PaymentStatus, SettledBy } from './payment-status';
import { SettlementChange } from './payments.repository';

/**
 * The payment as a settlement leaves it. The settling UPDATE writes exactly these values, and the events below are
 * built from the same object, so what LegalPro and the client are told is what the row says.
 */
export function settledState(payment: Payment, change: SettlementChange, at: Date): Payment {
  const completed = change.to === PaymentStatus.Completed;
  return Object.assign(new Payment(), payment, {
    status: change.to,
    settledBy: change.settledBy,
    resultCode: change.resultCode ?? payment.resultCode,
    resultDesc: change.resultDesc ?? payment.resultDesc,
    mpesaReceiptNumber: change.receiptNumber ?? payment.mpesaReceiptNumber,
    transactionDate: change.transactionDate ?? payment.transactionDate,
    completedAt: completed ? at : null,
    failedAt: completed ? null : at,
  });
}

/**
 * The payer's number as the API and webhooks show it: an STK payment's (which we asked) masked our way; a C2B payment's
 * as M-Pesa gave it (already masked or hashed; a plain one masked our way).
 */
export function paymentDisplayPhone(
  payment: Pick<Payment, 'id' | 'phoneNumberEncrypted' | 'channel'>,
  crypto: FieldEncryptionService,
): string {
  const stored = crypto.decrypt(payment.phoneNumberEncrypted, FIELDS.paymentPhone(payment.id));
  return payment.channel === PaymentChannel.C2b ? displayPayerMsisdn(stored) : maskPhone(stored);
}

/**
 * The body of a payment's webhook event (`payment.completed`, `payment.failed`, ...): the only place it is built.
 * `late`: proof of payment that came after our own give-up (LegalPro may have told the client it failed).
 */
export function paymentWebhookPayload(payment: Payment, maskedPhone: string, late = isLate(payment)): Record<string, unknown> {
  return {
    paymentId: payment.id,
    clientId: payment.clientId,
    channel: payment.channel,
    billId: payment.billId,
    appointmentId: payment.appointmentId,
    amount: payment.amount,
    currency: payment.currency,
    paymentType: payment.paymentType,
    phoneNumber: maskedPhone,
    status: payment.status,
    mpesaReceiptNumber: payment.mpesaReceiptNumber,
    resultCode: payment.resultCode,
    resultDesc: payment.resultDesc,
    settledBy: payment.settledBy,
    completedAt: payment.completedAt,
    failedAt: payment.failedAt,
    ...(late ? { late: true } : {}),
  };
}

/** Settled by evidence that came after our own give-up. */
export function isLate(payment: Payment): boolean {
  return payment.settledBy === SettledBy.LateCallback || payment.settledBy === SettledBy.LateStatusQuery;
}

/** What the client's email/SMS about a payment says: the settled row's facts, no personal data. */
export function paymentClientPayload(payment: Payment): PaymentClientPayload {
  const paidAt = payment.transactionDate ?? payment.completedAt;
  return {
    paymentId: payment.id,
    amount: payment.amount,
    currency: payment.currency,
    reference: payment.accountReference,
    receipt: payment.mpesaReceiptNumber,
    status: payment.status,
    resultCode: payment.resultCode,
    paidAt: paidAt ? new Date(paidAt).toISOString() : null,
    failedAt: payment.failedAt ? new Date(payment.failedAt).toISOString() : null,
  };
}

/** The audit record of a settlement: what the state became. */
export function settlementAuditAfter(payment: Payment): Record<string, unknown> {
  return {
    status: payment.status,
    settledBy: payment.settledBy,
    resultCode: payment.resultCode,
    resultDesc: payment.resultDesc,
    mpesaReceiptNumber: payment.mpesaReceiptNumber,
  };
}
