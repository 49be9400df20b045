import { Injectable } from '@nestjs/common';
import { Actor, AuditService } from '../audit/audit.service';
import { Tx } from '../database/database';
import { Payment } from './payment.entity';
import { PaymentStatus } from './payment-status';
import { PaymentsRepository } from './payments.repository';

/**
 * What money out may do to a payment, and nothing more (the payouts module's only way into payments): lock it
 * while a refund or reversal is decided, record a completed refund or reversal. Each change is written, with its
 * audit event, in the caller's transaction.
 */
@Injectable()
export class PaymentAdjustments {
  constructor(
    private readonly payments: PaymentsRepository,
    private readonly audit: AuditService,
  ) {}

  /** The payment, locked until `tx` ends: two refunds racing for its last shillings are decided one after the other. */
  lockForMoneyOut(tx: Tx, paymentId: string): Promise<Payment | null> {
    return this.payments.lockForMoneyOut(tx, paymentId);
  }

  find(paymentId: string, tx?: Tx): Promise<Payment | null> {
    return this.payments.findById(paymentId, tx);
  }

  /** A refund was paid: the payment becomes partially_refunded or refunded. */
  async recordRefund(tx: Tx, paymentId: string, amount: number, payoutId: string, actor: Actor): Promise<void> {
    const refunded = await this.payments.applyRefund(tx, paymentId, amount);
    if (!refunded) return;
    await this.audit.record(
      actor,
      {
        action: `payment.${refunded.status}`,
        entityType: 'payment',
        entityId: paymentId,
        after: { status: refunded.status, refundedAmount: refunded.refundedAmount, payoutId },
      },
      tx,
    );
  }

  /** A reversal went through: the money is back with the customer. */
  async recordReversal(tx: Tx, paymentId: string, reversalId: string, actor: Actor): Promise<void> {
    if (!(await this.payments.markReversed(tx, paymentId))) return;
    await this.audit.record(
      actor,
      {
        action: 'payment.reversed',
        entityType: 'payment',
        entityId: paymentId,
        before: { status: PaymentStatus.Completed },
        after: { status: PaymentStatus.Reversed, reversalId },
      },
      tx,
    );
  }
}
