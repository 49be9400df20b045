import { AccountBalanceEntry } from '../mpesa/daraja-result.parser';
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** One Account Balance query and, once Daraja answered, the parsed accounts. */
@Entity({ name: 'balance_snapshots' })
export class BalanceSnapshot {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'varchar', length: 16, default: 'pending' }) status: 'pending' | 'completed' | 'failed' | 'expired';
  @Column({ type: 'varchar', length: 8 }) shortcode: string;
  @Column({ name: 'originator_conversation_id', type: 'varchar', length: 64, nullable: true }) originatorConversationId: string | null;
  @Column({ name: 'conversation_id', type: 'varchar', length: 64, nullable: true }) conversationId: string | null;
  @Column({ type: 'jsonb', nullable: true }) accounts: AccountBalanceEntry[] | null;
  /** Daraja's `AccountBalance` string as received, for audit. */
  @Column({ name: 'raw_balance', type: 'text', nullable: true }) rawBalance: string | null;
  @Column({ name: 'result_code', type: 'varchar', length: 32, nullable: true }) resultCode: string | null;
  @Column({ name: 'result_desc', type: 'text', nullable: true }) resultDesc: string | null;
  @Column({ name: 'requested_by', type: 'varchar', length: 64 }) requestedBy: string;
  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true }) completedAt: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}
