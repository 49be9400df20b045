import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn, VersionColumn } from 'typeorm';

/**
 * A bill's state follows from what was paid toward it (a CHECK constraint keeps the two in step): open (nothing yet),
 * partially_paid, paid (exactly the amount), overpaid (more); or cancelled by a person (nothing more is owed).
 */
export enum BillStatus {
  Open = 'open',
  PartiallyPaid = 'partially_paid',
  Paid = 'paid',
  Overpaid = 'overpaid',
  Cancelled = 'cancelled',
}

/** Bills that still take money toward their balance. */
export const PAYABLE_BILL_STATUSES = [BillStatus.Open, BillStatus.PartiallyPaid] as const;

/** A bill cancelled before it was paid in full: nothing more is owed (what was paid stays recorded). */
export const CANCELLABLE_BILL_STATUSES = [BillStatus.Open, BillStatus.PartiallyPaid] as const;

/** The status a bill of `amount` has once `paidAmount` was paid toward it. */
export function statusForPaid(amount: number, paidAmount: number): Exclude<BillStatus, BillStatus.Cancelled> {
  if (paidAmount <= 0) return BillStatus.Open;
  if (paidAmount < amount) return BillStatus.PartiallyPaid;
  return paidAmount === amount ? BillStatus.Paid : BillStatus.Overpaid;
}

/** What a client owes, payable by STK push (naming the bill) or by Paybill (typing its account reference). */
@Entity({ name: 'bills' })
export class Bill {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'client_id', type: 'varchar', length: 64 }) clientId: string;
  @Column({ name: 'appointment_id', type: 'varchar', length: 64, nullable: true }) appointmentId: string | null;
  /** Whole Kenya shillings. */
  @Column({ type: 'integer' }) amount: number;
  /** Sum of the payments that counted toward the bill, whole shillings (may exceed `amount`: overpaid). */
  @Column({ name: 'paid_amount', type: 'integer', default: 0 }) paidAmount: number;
  @Column({ type: 'char', length: 3, default: 'KES' }) currency: string;
  @Column({ name: 'payment_type', type: 'varchar', length: 32 }) paymentType: string;
  @Column({ type: 'varchar', length: 255 }) description: string;
  /** The account number a customer types when paying by Paybill (see account-reference.ts); unique among all bills. */
  @Column({ name: 'account_reference', type: 'varchar', length: 12, unique: true }) accountReference: string;
  @Column({ type: 'varchar', length: 16, default: BillStatus.Open }) status: BillStatus;
  @Column({ name: 'due_at', type: 'timestamptz', nullable: true }) dueAt: Date | null;
  @Column({ name: 'created_by', type: 'varchar', length: 64, nullable: true }) createdBy: string | null;
  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true }) requestId: string | null;
  /** When the payments first reached the amount. */
  @Column({ name: 'paid_at', type: 'timestamptz', nullable: true }) paidAt: Date | null;
  @Column({ name: 'cancelled_at', type: 'timestamptz', nullable: true }) cancelledAt: Date | null;
  @Column({ name: 'cancelled_by', type: 'varchar', length: 64, nullable: true }) cancelledBy: string | null;
  @Column({ name: 'cancel_reason', type: 'varchar', length: 255, nullable: true }) cancelReason: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
  @VersionColumn({ name: 'version', default: 1 }) version: number;
}
