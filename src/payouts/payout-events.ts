import { RefundClientPayload } from '../notifications/client-notifications';
import { Payout, PayoutStatus } from './payout.entity';

/** The body of a payout's webhook event (`refund.completed`, `disbursement.failed`, ...): the only place it is built. */
export function payoutWebhookPayload(
  payout: Payout,
  ending: { status: PayoutStatus; mpesaReceiptNumber: string | null; resultDesc: string | null },
): Record<string, unknown> {
  return {
    payoutId: payout.id,
    kind: payout.kind,
    paymentId: payout.paymentId,
    clientId: payout.clientId,
    status: ending.status,
    amount: payout.amount,
    mpesaReceiptNumber: ending.mpesaReceiptNumber,
    resultDesc: ending.resultDesc,
  };
}

/** What the client's "refund sent" email/SMS says: the refund's facts and the payment's reference, no personal data. */
export function refundClientPayload(payout: Payout, receipt: string | null, reference: string | null, sentAt: Date): RefundClientPayload {
  return {
    payoutId: payout.id,
    paymentId: payout.paymentId,
    amount: payout.amount,
    currency: payout.currency,
    receipt,
    reference,
    sentAt: sentAt.toISOString(),
  };
}
