import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** The channels a receipt can reach the service by; each sighting is kept as the time it first came that way. */
export type ReceiptChannel = 'stk_callback' | 'c2b_confirmation' | 'pull' | 'statement';
export const RECEIPT_CHANNELS: readonly ReceiptChannel[] = ['stk_callback', 'c2b_confirmation', 'pull', 'statement'];

/**
 * One M-Pesa receipt, however it reached us (STK callback, C2B confirmation, Pull, statement), and the one payment it
 * belongs to. The receipt is the key: the same money told four ways is one row, and one payment.
 */
@Entity({ name: 'mpesa_receipts' })
export class MpesaReceipt {
  @PrimaryColumn({ type: 'varchar', length: 32 }) receipt: string;
  /** Whole KES, as first seen. */
  @Column({ type: 'integer' }) amount: number;
  @Column({ name: 'occurred_at', type: 'timestamptz', nullable: true }) occurredAt: Date | null;
  /** The account number / AccountReference, trimmed, as first seen. */
  @Column({ name: 'account_reference', type: 'varchar', length: 32, nullable: true }) accountReference: string | null;
  /** As M-Pesa gave it when masked or hashed; a plain number is stored masked (the plain one lives encrypted on payments). */
  @Column({ type: 'varchar', length: 100, nullable: true }) msisdn: string | null;
  /** Reduced to initials (`N*******`): the ledger is read by reconciliation; the payment keeps the name as given. */
  @Column({ name: 'payer_name', type: 'varchar', length: 150, nullable: true }) payerName: string | null;
  @Column({ name: 'short_code', type: 'varchar', length: 16, nullable: true }) shortCode: string | null;
  @Column({ name: 'transaction_type', type: 'varchar', length: 64, nullable: true }) transactionType: string | null;
  /** The payment this money is, once known (null: stored, not yet placed; see IncomingPayments). */
  @Column({ name: 'payment_id', type: 'uuid', nullable: true }) paymentId: string | null;
  @Column({ name: 'stk_callback_at', type: 'timestamptz', nullable: true }) stkCallbackAt: Date | null;
  @Column({ name: 'c2b_confirmation_at', type: 'timestamptz', nullable: true }) c2bConfirmationAt: Date | null;
  @Column({ name: 'pull_at', type: 'timestamptz', nullable: true }) pullAt: Date | null;
  @Column({ name: 'statement_at', type: 'timestamptz', nullable: true }) statementAt: Date | null;
  /** The first record of each channel, redacted: `{ "c2b_confirmation": {...}, "pull": {...} }`. */
  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" }) payloads: Record<string, unknown>;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}
