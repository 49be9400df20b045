/**
 * A payment's life. It leaves `pending` once: by M-Pesa's verdict (completed, failed, cancelled, timeout) or by our
 * own give-up (`expired`). Our give-up is not a verdict: later proof of payment still completes an expired payment.
 * M-Pesa's verdicts change only when a person resolves a review (docs/outcome-model.md), and money out moves a
 * completed payment on to partially_refunded, refunded or reversed.
 */
export enum PaymentStatus {
  Pending = 'pending',
  Completed = 'completed',
  Failed = 'failed',
  Cancelled = 'cancelled',
  /** M-Pesa's own "DS timeout user cannot be reached" (ResultCode 1037): the customer never answered. */
  Timeout = 'timeout',
  /** Our give-up: no answer from M-Pesa before PAYMENT_MAX_PENDING_MS. A late proof of payment completes it. */
  Expired = 'expired',
  /** Money out after the payment completed: some of it refunded, all of it, or the whole C2B reversed. */
  PartiallyRefunded = 'partially_refunded',
  Refunded = 'refunded',
  Reversed = 'reversed',
}

/** Where an STK payment can end without money out: M-Pesa's verdicts and our own give-up. */
export const TERMINAL_STATUSES = [
  PaymentStatus.Completed,
  PaymentStatus.Failed,
  PaymentStatus.Cancelled,
  PaymentStatus.Timeout,
  PaymentStatus.Expired,
] as const;

/** Statuses in which the payment holds money that arrived (a receipt, unless a status query completed it). */
export const PAID_STATUSES = [
  PaymentStatus.Completed,
  PaymentStatus.PartiallyRefunded,
  PaymentStatus.Refunded,
  PaymentStatus.Reversed,
] as const;

/** M-Pesa's own verdicts that no money moved: only a person (a review) can turn one into `completed`. */
export const UNPAID_VERDICTS = [PaymentStatus.Failed, PaymentStatus.Cancelled, PaymentStatus.Timeout] as const;

/**
 * The only transitions the service performs; each is applied by `UPDATE ... WHERE status = ANY(<from>)`.
 * - pending: to a verdict, or to expired;
 * - expired: to a late verdict (a late callback or status query), completed included;
 * - failed, cancelled, timeout: to completed only when a person resolves a review with the evidence of payment;
 * - money out starts from a completed payment.
 */
export const ALLOWED_TRANSITIONS: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  [PaymentStatus.Pending]: [
    PaymentStatus.Completed,
    PaymentStatus.Failed,
    PaymentStatus.Cancelled,
    PaymentStatus.Timeout,
    PaymentStatus.Expired,
  ],
  [PaymentStatus.Expired]: [PaymentStatus.Completed, PaymentStatus.Failed, PaymentStatus.Cancelled, PaymentStatus.Timeout],
  [PaymentStatus.Failed]: [PaymentStatus.Completed],
  [PaymentStatus.Cancelled]: [PaymentStatus.Completed],
  [PaymentStatus.Timeout]: [PaymentStatus.Completed],
  [PaymentStatus.Completed]: [PaymentStatus.PartiallyRefunded, PaymentStatus.Refunded, PaymentStatus.Reversed],
  [PaymentStatus.PartiallyRefunded]: [PaymentStatus.PartiallyRefunded, PaymentStatus.Refunded],
  [PaymentStatus.Refunded]: [],
  [PaymentStatus.Reversed]: [],
};

/** Payments money can be refunded from. */
export const REFUNDABLE_STATUSES = [PaymentStatus.Completed, PaymentStatus.PartiallyRefunded] as const;

export function canTransition(from: PaymentStatus, to: PaymentStatus): boolean {
  return ALLOWED_TRANSITIONS[from].includes(to);
}

export function isTerminal(status: PaymentStatus): boolean {
  return (TERMINAL_STATUSES as readonly PaymentStatus[]).includes(status);
}

/** How the money came in. */
export enum PaymentChannel {
  /** We pushed an M-Pesa prompt to the customer's phone (Lipa na M-Pesa Online). */
  Stk = 'stk',
  /** The customer paid the Paybill or till from the phone (C2B), found by confirmation, Pull or statement. */
  C2b = 'c2b',
}

/** Where the push stands with Daraja, independent of whether the customer has paid. */
export enum StkPushStatus {
  /** Row written, request not yet answered by Daraja. */
  Initiating = 'initiating',
  /** Daraja acknowledged the push (we hold a CheckoutRequestID). */
  Accepted = 'accepted',
  /** Daraja certainly did not take it (not sent, busy); a job resends it. */
  RetryScheduled = 'retry_scheduled',
  /** Sent, but the answer was lost or ambiguous: never resent; the callback or our give-up settles it. */
  Unknown = 'unknown',
  /** Daraja refused the request for good (bad input, credentials, busy subscriber). */
  Rejected = 'rejected',
  /** Daraja refused our STK Query for this CheckoutRequestID (400.002.02): it is not asked again. */
  QueryRefused = 'query_refused',
  /** A C2B payment: no push was ever sent. */
  NotApplicable = 'not_applicable',
}

export enum PaymentType {
  ConsultationFee = 'consultation_fee',
  AppointmentFee = 'appointment_fee',
  CaseFilingFee = 'case_filing_fee',
  Other = 'other',
}

/** How a payment reached its state (for reconciliation and metrics). */
export enum SettledBy {
  Callback = 'callback',
  StatusQuery = 'status_query',
  /** Proof of payment (or M-Pesa's verdict) that arrived after we had let the payment expire. */
  LateCallback = 'late_callback',
  LateStatusQuery = 'late_status_query',
  /** Our own give-up: no answer from M-Pesa in time (status `expired`). */
  Expiry = 'expiry',
  PushRejected = 'push_rejected',
  /** A person resolved a review. */
  Review = 'review',
  /** Money that arrived without our ids (src/payments/incoming-payments.service.ts), by its channel. */
  C2bConfirmation = 'c2b_confirmation',
  Pull = 'pull',
  Statement = 'statement',
}
