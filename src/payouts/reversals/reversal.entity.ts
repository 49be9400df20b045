import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export enum ReversalStatus {
  Pending = 'pending',
  Submitted = 'submitted',
  Unknown = 'unknown',
  Completed = 'completed',
  Failed = 'failed',
}

/**
 * A Transaction Reversal of a completed C2B (STK) payment, by its receipt. Like a payout: `unknown` when M-Pesa's
 * answer was lost, resolved by its result or by Transaction Status, and by a person when neither tells.
 */
@Entity({ name: 'reversals' })
export class Reversal {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'payment_id', type: 'uuid' }) paymentId: string;
  @Column({ type: 'integer' }) amount: number;
  @Column({ type: 'varchar', length: 255 }) reason: string;
  @Column({ type: 'varchar', length: 16, default: ReversalStatus.Pending }) status: ReversalStatus;
  @Column({ name: 'originator_conversation_id', type: 'varchar', length: 64, nullable: true }) originatorConversationId: string | null;
  @Column({ name: 'conversation_id', type: 'varchar', length: 64, nullable: true }) conversationId: string | null;
  @Column({ name: 'transaction_id', type: 'varchar', length: 32, nullable: true }) transactionId: string | null;
  @Column({ name: 'result_code', type: 'varchar', length: 32, nullable: true }) resultCode: string | null;
  @Column({ name: 'result_desc', type: 'text', nullable: true }) resultDesc: string | null;
  @Column({ name: 'result_payload', type: 'jsonb', nullable: true }) resultPayload: object | null;
  @Column({ name: 'requested_by', type: 'varchar', length: 64 }) requestedBy: string;
  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true }) requestId: string | null;
  /** The Idempotency-Key of the request that created it (per requester). */
  @Column({ name: 'idempotency_key', type: 'varchar', length: 255, nullable: true }) idempotencyKey: string | null;
  /** Transaction Status queries made to settle an unknown outcome, and its "not found" answers among them. */
  @Column({ name: 'status_checks', type: 'integer', default: 0 }) statusChecks: number;
  @Column({ name: 'not_found_answers', type: 'integer', default: 0 }) notFoundAnswers: number;
  /** The reason of the oldest review open on it (src/reviews), or null. */
  @Column({ name: 'review_reason', type: 'varchar', length: 64, nullable: true }) reviewReason: string | null;
  @Column({ name: 'submitted_at', type: 'timestamptz', nullable: true }) submittedAt: Date | null;
  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true }) completedAt: Date | null;
  @Column({ name: 'failed_at', type: 'timestamptz', nullable: true }) failedAt: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}
