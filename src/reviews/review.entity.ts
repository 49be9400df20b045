import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** What a review is about. */
export enum ReviewEntity {
  Payment = 'payment',
  Payout = 'payout',
  Reversal = 'reversal',
  /** A line of a reconciliation report (a statement row or a Pull transaction) that matches no record of ours. */
  ReconciliationItem = 'reconciliation_item',
}

/** Why a person must look (the list is fixed: alerts, metrics and dashboards count by it). */
export enum ReviewReason {
  /** M-Pesa said one thing and then the opposite (a success for a payment it had failed; paid after failed). */
  ContradictingResult = 'contradicting_result',
  /** A success for another amount than ours. */
  AmountMismatch = 'amount_mismatch',
  /** A success from another phone than the one we asked. */
  PhoneMismatch = 'phone_mismatch',
  /** A success naming another CheckoutRequestID than the one Daraja gave us for this payment. */
  CheckoutMismatch = 'checkout_mismatch',
  /** A receipt that already belongs to another payment. */
  DuplicateReceipt = 'duplicate_receipt',
  /** A B2C result paid to another MSISDN than the payout's. */
  ReceiverMismatch = 'receiver_mismatch',
  /** A result naming another request than the one this URL was for. */
  IdMismatch = 'id_mismatch',
  /** Transaction Status could not tell whether a payout paid. */
  PayoutUnresolved = 'payout_unresolved',
  /** Neither a result nor Transaction Status told whether a reversal happened. */
  ReversalUnresolved = 'reversal_unresolved',
  /** Two completed payments of one client for the same appointment. */
  PossibleDoublePayment = 'possible_double_payment',
  /** Money that came in (C2B, Pull, statement) whose account number matches no open bill. */
  UnmatchedPayment = 'unmatched_payment',
  /** Money that came in for a bill beyond what the bill still owed. */
  Overpayment = 'overpayment',
  /** Recovered money (Pull, statement) that may be an expired STK payment of ours, but not certainly that one. */
  PossibleMatch = 'possible_match',
  /** M-Pesa moved money the service has no record of (statement or Pull reconciliation). */
  MissingHere = 'missing_here',
  /** The service says money moved and M-Pesa's statement, over the period it covers, does not. */
  MissingAtMpesa = 'missing_at_mpesa',
}

export enum ReviewStatus {
  Open = 'open',
  Resolved = 'resolved',
}

/** What a person decided: the entity becomes completed, becomes failed, or stays as it is. */
export enum ReviewResolution {
  Complete = 'complete',
  Fail = 'fail',
  Dismiss = 'dismiss',
}

/** One anomaly, its redacted evidence, and what a person decided about it. */
@Entity({ name: 'reviews' })
export class Review {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'entity_type', type: 'varchar', length: 32 }) entityType: ReviewEntity;
  @Column({ name: 'entity_id', type: 'uuid' }) entityId: string;
  @Column({ type: 'varchar', length: 32 }) reason: ReviewReason;
  @Column({ type: 'varchar', length: 16, default: ReviewStatus.Open }) status: ReviewStatus;
  /** Redacted: the receipt, amounts, the masked phone, the payload as received. */
  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" }) evidence: Record<string, unknown>;
  /** What makes this evidence this evidence (a receipt, a CheckoutRequestID): the same one never opens two reviews. */
  @Column({ type: 'varchar', length: 128 }) fingerprint: string;
  @Column({ name: 'opened_at', type: 'timestamptz', default: () => 'now()' }) openedAt: Date;
  @Column({ name: 'opened_by', type: 'varchar', length: 64, nullable: true }) openedBy: string | null;
  @Column({ name: 'resolved_at', type: 'timestamptz', nullable: true }) resolvedAt: Date | null;
  @Column({ name: 'resolved_by', type: 'varchar', length: 64, nullable: true }) resolvedBy: string | null;
  @Column({ type: 'varchar', length: 16, nullable: true }) resolution: ReviewResolution | null;
  @Column({ type: 'text', nullable: true }) note: string | null;
  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true }) requestId: string | null;
}
