import { ReviewViewDto } from '../../reviews/dto/review.dto';
import { PayoutKind, PayoutStatus } from '../payout.entity';

/** A refund or disbursement as the API shows it. */
export class PayoutViewDto {
  id: string;
  kind: PayoutKind;
  /** The refunded payment (refunds only). */
  paymentId: string | null;
  clientId: string | null;
  status: PayoutStatus;
  /** Whole Kenya shillings. @example 50 */
  amount: number;
  /** @example "KES" */
  currency: string;
  /** Masked. @example "2547****149" */
  phoneNumber: string;
  /** @example "BusinessPayment" */
  commandId: string;
  remarks: string;
  occasion: string | null;
  reason: string | null;
  /** Ours, sent to Daraja and reused on every resend. @example "LPe1c84df0c1bc547e52" */
  originatorConversationId: string;
  conversationId: string | null;
  /** The B2C receipt once paid. @example "SG632NMUAB" */
  mpesaReceiptNumber: string | null;
  resultCode: string | null;
  resultDesc: string | null;
  /** result_callback, transaction_status, balance_check, rejected. */
  settledBy: string | null;
  /** Transaction Status queries made to settle an unknown outcome. */
  statusChecks: number;
  /** What a pending payout waits for before it is sent (`balance`: an Account Balance answer), else null. */
  waitingFor: 'balance' | null;
  /** True while a review of this payout is open (src/reviews). */
  needsReview: boolean;
  /** The reason of the oldest open review. */
  reviewReason: string | null;
  /** The failed payout this one retried. */
  retryOf: string | null;
  requestedBy: string;
  createdAt: Date;
  submittedAt: Date | null;
  completedAt: Date | null;
  failedAt: Date | null;
  /** Only on `GET /api/payouts/:id` and `GET /api/disbursements/:id`: its reviews, oldest first. */
  reviews?: ReviewViewDto[];
}

export class PayoutResponseDto {
  success: boolean;
  data: PayoutViewDto;
}
