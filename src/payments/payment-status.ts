/** A payment's life: it leaves `pending` exactly once; after that only money out (refunds, a reversal) moves a completed one. */
export enum PaymentStatus {
  Pending = 'pending',
  Completed = 'completed',
  Failed = 'failed',
  Cancelled = 'cancelled',
  Timeout = 'timeout',
  /** Money out after the payment completed: some of it refunded, all of it, or the whole C2B reversed. */
  PartiallyRefunded = 'partially_refunded',
  Refunded = 'refunded',
  Reversed = 'reversed',
}

/** The STK outcomes: a payment leaves `pending` for one of these, exactly once. */
export const TERMINAL_STATUSES = [PaymentStatus.Completed, PaymentStatus.Failed, PaymentStatus.Cancelled, PaymentStatus.Timeout] as const;

/**
 * The only transitions the service performs; each is applied by `UPDATE ... WHERE status = <from>`.
 * Only money that arrived can go back out: refunds and reversals start from a completed payment.
 */
export const ALLOWED_TRANSITIONS: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  [PaymentStatus.Pending]: [PaymentStatus.Completed, PaymentStatus.Failed, PaymentStatus.Cancelled, PaymentStatus.Timeout],
  [PaymentStatus.Completed]: [PaymentStatus.PartiallyRefunded, PaymentStatus.Refunded, PaymentStatus.Reversed],
  [PaymentStatus.PartiallyRefunded]: [PaymentStatus.PartiallyRefunded, PaymentStatus.Refunded],
  [PaymentStatus.Failed]: [],
  [PaymentStatus.Cancelled]: [],
  [PaymentStatus.Timeout]: [],
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

/** Where the push stands with Daraja, independent of whether the customer has paid. */
export enum StkPushStatus {
  /** Row written, request not yet answered by Daraja. */
  Initiating = 'initiating',
  /** Daraja acknowledged the push (we hold a CheckoutRequestID). */
  Accepted = 'accepted',
  /** Daraja did not accept it for a transient reason; a job resends it. */
  RetryScheduled = 'retry_scheduled',
  /** Sent, but the answer was lost (timeout, dropped connection): never resent, the sweep settles it. */
  Unknown = 'unknown',
  /** Daraja refused the request for good (bad input, credentials, busy subscriber). */
  Rejected = 'rejected',
}

export enum PaymentType {
  ConsultationFee = 'consultation_fee',
  AppointmentFee = 'appointment_fee',
  CaseFilingFee = 'case_filing_fee',
  Other = 'other',
}

/** How a payment reached its terminal state (for reconciliation and metrics). */
export enum SettledBy {
  Callback = 'callback',
  StatusQuery = 'status_query',
  Timeout = 'timeout',
  PushRejected = 'push_rejected',
}
