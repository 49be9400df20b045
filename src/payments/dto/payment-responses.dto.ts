import { ReviewViewDto } from '../../reviews/dto/review.dto';
import { PaymentChannel, PaymentStatus, PaymentType, SettledBy, StkPushStatus } from '../payment-status';

export class StkPushAcceptedDataDto {
  paymentId: string;
  status: PaymentStatus;
  /** Null while the push waits for a retry. */
  checkoutRequestID: string | null;
  merchantRequestID: string | null;
  customerMessage: string | null;
}

export class StkPushResponseDto {
  success: boolean;
  /** @example "STK Push initiated successfully" */
  message: string;
  data: StkPushAcceptedDataDto;
}

export class PaymentViewDto {
  paymentId: string;
  /** Null for a Paybill payment whose account number matched no bill (an `unmatched_payment` review places it). */
  clientId: string | null;
  /** `stk`: we pushed the prompt; `c2b`: the customer paid the Paybill or till from the phone. */
  channel: PaymentChannel;
  /** The bill the payment counts toward, if any. */
  billId: string | null;
  appointmentId: string | null;
  status: PaymentStatus;
  amount: number;
  /** Sum of completed refunds. */
  refundedAmount: number;
  /** @example "KES" */
  currency: string;
  /** Masked: `2547****149`; a C2B payer's as M-Pesa gave it (`2547*****126`, or `hashed`). */
  phoneNumber: string;
  paymentType: PaymentType;
  description: string | null;
  /** STK: the AccountReference sent; C2B: the account number the customer typed. */
  accountReference: string;
  /** Daraja's ResultCode: a number, or a string for codes such as `SFC_IC0003`. */
  resultCode: number | string | null;
  resultDesc: string | null;
  mpesaReceiptNumber: string | null;
  checkoutRequestID: string | null;
  merchantRequestID: string | null;
  transactionDate: Date | null;
  stkPushStatus: StkPushStatus;
  callbackReceived: boolean;
  settledBy: SettledBy | null;
  /** Set when a person must reconcile this payment. */
  reviewReason: string | null;
  retryCount: number;
  initiatedAt: Date;
  completedAt: Date | null;
  failedAt: Date | null;
  updatedAt: Date;
  /** Only on `GET /api/payments/:id/status`: its refunds (B2C payouts, as `GET /api/payouts/:id` shows them), oldest first. */
  refunds?: Record<string, unknown>[];
  /** Only on `GET /api/payments/:id/status`: its reversals, oldest first. */
  reversals?: Record<string, unknown>[];
  /** Only on `GET /api/payments/:id/status`: its reviews (open and resolved), oldest first. */
  reviews?: ReviewViewDto[];
}

export class PaymentStatusResponseDto {
  success: boolean;
  data: PaymentViewDto;
}

export class PaymentPageDto {
  items: PaymentViewDto[];
  /** Exact up to 1,000 matching payments; beyond that, Postgres' estimate (then `totalIsEstimate` is true). */
  total: number;
  page: number;
  limit: number;
  /** Present (true) only when `total` is an estimate. */
  totalIsEstimate?: boolean;
  /** Present only when another page follows: pass it as `cursor` for that page. */
  nextCursor?: string;
}

export class PaymentListResponseDto {
  success: boolean;
  data: PaymentPageDto;
}
