import { PaymentClientPayload } from '../notifications/client-notifications';
import { Payment } from './payment.entity';
import { PaymentStatus, SettledBy } from './payment-status';
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

/** The body of a payment's webhook event (`payment.completed`, `payment.failed`, ...): the only place it is built. */
export function paymentWebhookPayload(payment: Payment, maskedPhone: string): Record<string, unknown> {
  return {
    paymentId: payment.id,
    clientId: payment.clientId,
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
    // Proof that arrived after we had let the payment expire: LegalPro may have told the client it failed.
    ...(isLate(payment) ? { late: true } : {}),
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
