import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export enum ReversalStatus {
  Pending = 'pending',
  Submitted = 'submitted',
  Unknown = 'unknown',
  Completed = 'completed',
  Failed = 'failed',
}

/** A Transaction Reversal of a completed C2B (STK) payment, by its receipt. */
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
  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true }) completedAt: Date | null;
  @Column({ name: 'failed_at', type: 'timestamptz', nullable: true }) failedAt: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}
