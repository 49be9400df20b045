import { Injectable, Logger } from '@nestjs/common';
import { Actor, AuditService } from '../audit/audit.service';
import { Tx } from '../database/database';
import { WrittenNotification } from '../notifications/notifications.repository';
import { NotificationsService } from '../notifications/notifications.service';
import { couldBeBillReference, normalizeAccountNumber } from './account-reference';
import { BillPaymentFacts, billWebhookPayload } from './bill-events';
import { Bill, BillStatus } from './bill.entity';
import { BillsRepository } from './bills.repository';

/** What counting a payment toward a bill did. */
export type BillApplication =
  | {
      kind: 'applied';
      bill: Bill;
      previousStatus: BillStatus;
      previousPaidAmount: number;
      /** The part of this payment beyond what the bill still owed (0 when it fitted). */
      excess: number;
      /** The outbox rows written (the bill's webhook): dispatch them once the caller's transaction committed. */
      notifications: WrittenNotification[];
    }
  /** The bill was cancelled (or does not exist): nothing was counted. */
  | { kind: 'not_payable'; bill: Bill | null };

/**
 * The narrow API the payments module uses to make money count toward bills (payments imports bills, never the other
 * way): find the bill an STK push or an account number names, and apply a completed payment to it inside the
 * payment's own transaction, with the bill's audit event and webhook.
 */
@Injectable()
export class BillLedger {
  private readonly logger = new Logger(BillLedger.name);

  constructor(
    private readonly bills: BillsRepository,
    private readonly audit: AuditService,
    private readonly notifications: NotificationsService,
  ) {}

  findById(id: string, tx?: Tx): Promise<Bill | null> {
    return this.bills.findById(id, tx);
  }

  /** The bill an account number typed on a phone names (trimmed, case-insensitive, spaces and dashes ignored). */
  async findByAccountNumber(typed: string | null | undefined, tx?: Tx): Promise<Bill | null> {
    const reference = normalizeAccountNumber(typed);
    return couldBeBillReference(reference) ? this.bills.findByReference(reference, tx) : null;
  }

  /**
   * Counts a completed payment toward its bill, in the payment's transaction: the guarded UPDATE, the bill's audit
   * event (`bill.<new status>`) and its webhook row. A cancelled bill takes nothing.
   */
  async applyPayment(tx: Tx, billId: string, payment: BillPaymentFacts, actor: Actor): Promise<BillApplication> {
    const applied = await this.bills.applyPayment(tx, billId, payment.amount);
    if (!applied) return { kind: 'not_payable', bill: await this.bills.findById(billId, tx) };
    const { bill, previousStatus, previousPaidAmount } = applied;
    const excess = Math.max(0, bill.paidAmount - bill.amount) - Math.max(0, previousPaidAmount - bill.amount);
    const event = `bill.${bill.status}`;
    await this.audit.record(
      actor,
      {
        action: event,
        entityType: 'bill',
        entityId: bill.id,
        before: { status: previousStatus, paidAmount: previousPaidAmount },
        after: {
          status: bill.status,
          paidAmount: bill.paidAmount,
          paymentId: payment.paymentId,
          mpesaReceiptNumber: payment.mpesaReceiptNumber,
        },
      },
      tx,
    );
    const notifications = await this.notifications.write(tx, [
      this.notifications.webhook(event, bill.id, billWebhookPayload(bill, previousStatus, payment)),
    ]);
    this.logger.log(`Bill ${bill.id} ${previousStatus} -> ${bill.status}: KES ${payment.amount} from payment ${payment.paymentId}`);
    return { kind: 'applied', bill, previousStatus, previousPaidAmount, excess, notifications };
  }
}
