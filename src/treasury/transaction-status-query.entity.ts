import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** One Transaction Status query (by receipt or OriginatorConversationID) and its stored result. */
@Entity({ name: 'transaction_status_queries' })
export class TransactionStatusQuery {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'varchar', length: 16, default: 'pending' }) status: 'pending' | 'completed' | 'failed' | 'expired';
  /** The receipt asked about. */
  @Column({ name: 'transaction_id', type: 'varchar', length: 32, nullable: true }) transactionId: string | null;
  /** The OriginatorConversationID asked about. */
  @Column({ name: 'queried_conversation_id', type: 'varchar', length: 64, nullable: true }) queriedConversationId: string | null;
  /** Set when a worker asked to settle a payout of unknown outcome. */
  @Column({ name: 'payout_id', type: 'uuid', nullable: true }) payoutId: string | null;
  /** Set when a worker asked to settle a reversal of unknown outcome. */
  @Column({ name: 'reversal_id', type: 'uuid', nullable: true }) reversalId: string | null;
  @Column({ name: 'originator_conversation_id', type: 'varchar', length: 64, nullable: true }) originatorConversationId: string | null;
  @Column({ name: 'conversation_id', type: 'varchar', length: 64, nullable: true }) conversationId: string | null;
  @Column({ name: 'result_code', type: 'varchar', length: 32, nullable: true }) resultCode: string | null;
  @Column({ name: 'result_desc', type: 'text', nullable: true }) resultDesc: string | null;
  @Column({ type: 'jsonb', nullable: true }) result: object | null;
  @Column({ name: 'requested_by', type: 'varchar', length: 64 }) requestedBy: string;
  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true }) completedAt: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}
