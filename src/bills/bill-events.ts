import { Bill } from './bill.entity';

/** What a bill's balance is: what is still owed (never negative; an overpaid bill owes nothing). */
export function billBalance(bill: Pick<Bill, 'amount' | 'paidAmount'>): number {
  return Math.max(0, bill.amount - bill.paidAmount);
}

/** The payment that moved a bill, as its webhook and audit event name it. */
export interface BillPaymentFacts {
  paymentId: string;
  amount: number;
  channel: string;
  mpesaReceiptNumber: string | null;
}

/** The body of `bill.partially_paid`, `bill.paid` and `bill.overpaid`: the only place it is built. */
export function billWebhookPayload(bill: Bill, previousStatus: string, payment: BillPaymentFacts): Record<string, unknown> {
  return {
    billId: bill.id,
    clientId: bill.clientId,
    appointmentId: bill.appointmentId,
    accountReference: bill.accountReference,
    amount: bill.amount,
    paidAmount: bill.paidAmount,
    balance: billBalance(bill),
    overpaidBy: Math.max(0, bill.paidAmount - bill.amount),
    currency: bill.currency,
    status: bill.status,
    previousStatus,
    payment: {
      paymentId: payment.paymentId,
      amount: payment.amount,
      channel: payment.channel,
      mpesaReceiptNumber: payment.mpesaReceiptNumber,
    },
  };
}
