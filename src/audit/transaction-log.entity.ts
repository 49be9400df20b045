import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One row per Daraja call made and per callback received, with secrets removed. */
@Entity({ name: 'transaction_logs' })
@Index('ix_txlog_transaction', ['transactionId'])
@Index('ix_txlog_reference', ['reference'])
@Index('ix_txlog_type_created', ['transactionType', 'createdAt'])
export class TransactionLog {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' }) id: string;
  /** Daraja's id for the transaction when known (CheckoutRequestID...). */
  @Column({ name: 'transaction_id', type: 'varchar', length: 64, nullable: true }) transactionId: string | null;
  /** Our own id of what the call was about (a payment id). */
  @Column({ type: 'varchar', length: 64, nullable: true }) reference: string | null;
  /** STK_PUSH, STK_QUERY, OAUTH, STK_CALLBACK... */
  @Column({ name: 'transaction_type', type: 'varchar', length: 32 }) transactionType: string;
  @Column({ type: 'varchar', length: 128, nullable: true }) endpoint: string | null;
  @Column({ name: 'request_data', type: 'jsonb', nullable: true }) requestData: object | null;
  @Column({ name: 'response_data', type: 'jsonb', nullable: true }) responseData: object | null;
  @Column({ name: 'status_code', type: 'integer', nullable: true }) statusCode: number | null;
  /** Milliseconds. */
  @Column({ type: 'integer', nullable: true }) duration: number | null;
  /** ok, daraja_error, network_error, timeout, rejected, duplicate... */
  @Column({ type: 'varchar', length: 32, nullable: true }) outcome: string | null;
  @Column({ name: 'ip_address', type: 'varchar', length: 64, nullable: true }) ipAddress: string | null;
  @Column({ name: 'user_agent', type: 'varchar', length: 255, nullable: true }) userAgent: string | null;
  @Column({ name: 'user_id', type: 'varchar', length: 64, nullable: true }) userId: string | null;
  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true }) requestId: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
