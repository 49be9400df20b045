import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn, VersionColumn } from 'typeorm';
import type { PersonalDataMasking } from '../payments/payment.entity';

export enum PayoutKind {
  Refund = 'refund',
  Disbursement = 'disbursement',
}

export enum PayoutStatus {
  /** Stored, not yet sent (waiting for the balance check). */
  Pending = 'pending',
  /** Claimed by a worker; the B2C request is on its way. */
  Sending = 'sending',
  /** Daraja accepted the request; its result has not arrived. */
  Submitted = 'submitted',
  /** Timed out, result lost or an ambiguous error: it may have paid. Transaction Status settles it. */
  Unknown = 'unknown',
  Completed = 'completed',
  Failed = 'failed',
}

/**
 * Statuses whose money may have left or may still leave: they count against what a payment can refund. A failed
 * payout under review counts too (M-Pesa may yet have paid it).
 */
export const PAYOUT_COMMITTED_STATUSES = [
  PayoutStatus.Pending,
  PayoutStatus.Sending,
  PayoutStatus.Submitted,
  PayoutStatus.Unknown,
  PayoutStatus.Completed,
];

/** States in which a payout's outcome is still open: any result of M-Pesa's may settle it. */
export const PAYOUT_OPEN_STATUSES = [PayoutStatus.Pending, PayoutStatus.Sending, PayoutStatus.Submitted, PayoutStatus.Unknown];

export type B2cCommandId = 'BusinessPayment' | 'SalaryPayment' | 'PromotionPayment';

/** One B2C payment: a refund of a client's payment, or a disbursement (compensation and other payouts). */
@Entity({ name: 'payouts' })
@Index('ix_payouts_payment', ['paymentId'])
@Index('ix_payouts_kind_created', ['kind', 'createdAt'])
export class Payout {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'varchar', length: 16 }) kind: PayoutKind;
  @Column({ name: 'payment_id', type: 'uuid', nullable: true }) paymentId: string | null;
  @Column({ name: 'client_id', type: 'varchar', length: 64, nullable: true }) clientId: string | null;
  /** Whole Kenya shillings (B2C: 10 to 250,000). */
  @Column({ type: 'integer' }) amount: number;
  @Column({ type: 'char', length: 3, default: 'KES' }) currency: string;
  @Column({ name: 'command_id', type: 'varchar', length: 24 }) commandId: B2cCommandId;
  @Column({ name: 'phone_number_encrypted', type: 'text' }) phoneNumberEncrypted: string;
  @Column({ name: 'phone_number_hash', type: 'char', length: 64 }) phoneNumberHash: string;
  /** Set when the phone (and names in result_payload) were masked (src/privacy); no retry can pay this number again. */
  @Column({ name: 'personal_data_masked_at', type: 'timestamptz', nullable: true }) personalDataMaskedAt: Date | null;
  @Column({ name: 'personal_data_masked_by', type: 'varchar', length: 16, nullable: true })
  personalDataMaskedBy: PersonalDataMasking | null;
  @Column({ type: 'varchar', length: 100 }) remarks: string;
  @Column({ type: 'varchar', length: 100, nullable: true }) occasion: string | null;
  @Column({ type: 'varchar', length: 255, nullable: true }) reason: string | null;
  @Column({ type: 'varchar', length: 16, default: PayoutStatus.Pending }) status: PayoutStatus;
  /** Ours, unique, stored before the first send and reused on every resend: Daraja refuses a duplicate. */
  @Column({ name: 'originator_conversation_id', type: 'varchar', length: 64, unique: true }) originatorConversationId: string;
  @Column({ name: 'conversation_id', type: 'varchar', length: 64, nullable: true }) conversationId: string | null;
  /** The B2C receipt. */
  @Column({ name: 'transaction_id', type: 'varchar', length: 32, nullable: true, unique: true }) transactionId: string | null;
  @Column({ name: 'result_code', type: 'varchar', length: 32, nullable: true }) resultCode: string | null;
  @Column({ name: 'result_desc', type: 'text', nullable: true }) resultDesc: string | null;
  @Column({ name: 'result_payload', type: 'jsonb', nullable: true }) resultPayload: object | null;
  /** result_callback, transaction_status, rejected, balance_check... */
  @Column({ name: 'settled_by', type: 'varchar', length: 24, nullable: true }) settledBy: string | null;
  /** Transaction Status queries made to settle an unknown outcome. */
  @Column({ name: 'status_checks', type: 'integer', default: 0 }) statusChecks: number;
  /** Set when a person must decide (an unknown that Transaction Status could not settle). */
  @Column({ name: 'review_reason', type: 'varchar', length: 64, nullable: true }) reviewReason: string | null;
  /** Transaction Status answers "not found" (2033) counted so far; only the second, late enough, means "not paid". */
  @Column({ name: 'not_found_answers', type: 'integer', default: 0 }) notFoundAnswers: number;
  /** What a pending payout is waiting for before it can be sent (`balance`: an Account Balance answer). */
  @Column({ name: 'waiting_for', type: 'varchar', length: 16, nullable: true }) waitingFor: 'balance' | null;
  /** The Idempotency-Key of the request that created it (per requester): a resubmission finds it instead of paying twice. */
  @Column({ name: 'idempotency_key', type: 'varchar', length: 255, nullable: true }) idempotencyKey: string | null;
  /** The failed payout an admin retried with this one (each failed payout is retried at most once). */
  @Column({ name: 'retry_of', type: 'uuid', nullable: true }) retryOf: string | null;
  @Column({ name: 'requested_by', type: 'varchar', length: 64 }) requestedBy: string;
  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true }) requestId: string | null;
  @Column({ name: 'error_logs', type: 'jsonb', default: () => "'[]'::jsonb" }) errorLogs: string[];
  @Column({ name: 'submitted_at', type: 'timestamptz', nullable: true }) submittedAt: Date | null;
  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true }) completedAt: Date | null;
  @Column({ name: 'failed_at', type: 'timestamptz', nullable: true }) failedAt: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
  @VersionColumn({ name: 'version', default: 1 }) version: number;
}
