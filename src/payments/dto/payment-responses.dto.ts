import { PayoutViewDto } from '../payouts/dto/payout-view.dto';
import { PaymentStatus, PaymentType, SettledBy, StkPushStatus } from '../payment-status';

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
  clientId: string;
  appointmentId: string | null;
  status: PaymentStatus;
  amount: number;
  /** Sum of completed refunds. */
  refundedAmount: number;
  /** @example "KES" */
  currency: string;
  /** Masked: `2547****149`. */
  phoneNumber: string;
  paymentType: PaymentType;
  description: string | null;
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
  /** Only on `GET /api/payments/:id/status`: its refunds (B2C payouts) and reversals, oldest first. */
  refunds?: PayoutViewDto[];
  reversals?: Record<string, unknown>[];
}

export class PaymentStatusResponseDto {
  success: boolean;
  data: PaymentViewDto;
}

export class PaymentPageDto {
  items: PaymentViewDto[];
  total: number;
  page: number;
  limit: number;
}

export class PaymentListResponseDto {
  success: boolean;
  data: PaymentPageDto;
}

export class ErrorResponseDto {
  /** @example false */
  success: boolean;
  /** @example "amount must be at least 1" */
  message: string;
  /** @example "VALIDATION_ERROR" */
  code?: string;
  details?: Record<string, unknown>;
}

export class DarajaAckDto {
  /** @example 0 */
  ResultCode: number;
  /** @example "Accepted" */
  ResultDesc: string;
}
