import { Injectable } from '@nestjs/common';
import { Database, Tx } from '../database/database';
import { changeWithEffects, Sql, sql } from '../database/sql';
import { Bill, BillStatus, CANCELLABLE_BILL_STATUSES, statusForPaid } from './bill.entity';

export type NewBill = Pick<
  Bill,
  'id' | 'clientId' | 'appointmentId' | 'amount' | 'paymentType' | 'description' | 'accountReference' | 'dueAt' | 'createdBy' | 'requestId'
>;

export interface BillListFilter {
  clientId?: string;
  status?: BillStatus;
  page: number;
  limit: number;
}

/** A payment counted toward a bill: the bill as it was and as it now is. */
export interface AppliedToBill {
  bill: Bill;
  previousStatus: BillStatus;
  previousPaidAmount: number;
}

/** A payment of a bill, as the bill's view lists it (read from `payments`, which this module never writes). */
export interface BillPaymentRow {
  paymentId: string;
  amount: number;
  channel: string;
  status: string;
  mpesaReceiptNumber: string | null;
  settledBy: string | null;
  completedAt: Date | null;
}

export const UNIQUE_ACCOUNT_REFERENCE = 'UQ_bills_account_reference';
/** Statuses in which a payment counts toward its bill (the payments module's PAID_STATUSES, as text). */
const PAID_PAYMENT_STATUSES = ['completed', 'partially_refunded', 'refunded', 'reversed'];

/** The only writer of `bills`. Every change is a guarded UPDATE; its audit event (and outbox rows) go with it. */
@Injectable()
export class BillsRepository {
  constructor(private readonly db: Database) {}

  /** Writes a new open bill and its effects (its `bill.created` audit event) in one statement. */
  async insert(bill: NewBill, effects: Record<string, Sql>): Promise<Bill> {
    const row = await this.db.one(
      changeWithEffects(
        sql`INSERT INTO bills (id, client_id, appointment_id, amount, payment_type, description, account_reference, due_at, created_by, request_id)
            VALUES (${bill.id}, ${bill.clientId}, ${bill.appointmentId}, ${bill.amount}, ${bill.paymentType}, ${bill.description},
                    ${bill.accountReference}, ${bill.dueAt}, ${bill.createdBy}, ${bill.requestId})
            RETURNING *`,
        effects,
      ),
    );
    if (!row) throw new Error(`Bill ${bill.id} was not written`);
    return this.fromRow(row);
  }

  async findById(id: string, tx?: Tx): Promise<Bill | null> {
    const row = await this.db.one(sql`SELECT * FROM bills WHERE id = ${id}`, tx);
    return row ? this.fromRow(row) : null;
  }

  /** The bill whose account reference this is (references are stored normalised: see account-reference.ts). */
  async findByReference(reference: string, tx?: Tx): Promise<Bill | null> {
    const row = await this.db.one(sql`SELECT * FROM bills WHERE account_reference = ${reference}`, tx);
    return row ? this.fromRow(row) : null;
  }

  /**
   * Counts a payment toward a bill that is not cancelled: one guarded UPDATE, so concurrent payments of one bill add
   * up exactly (each waits for the row lock of the one before). Null when the bill is cancelled (or gone).
   */
  async applyPayment(tx: Tx, billId: string, amount: number): Promise<AppliedToBill | null> {
    const row = await this.db.one(
      sql`UPDATE bills
             SET paid_amount = paid_amount + ${amount},
                 status = CASE WHEN paid_amount + ${amount} < amount THEN 'partially_paid'
                               WHEN paid_amount + ${amount} = amount THEN 'paid'
                               ELSE 'overpaid' END,
                 paid_at = CASE WHEN paid_at IS NULL AND paid_amount + ${amount} >= amount THEN now() ELSE paid_at END,
                 updated_at = now(), version = version + 1
           WHERE id = ${billId} AND status IN ('open', 'partially_paid', 'paid', 'overpaid')
           RETURNING *`,
      tx,
    );
    if (!row) return null;
    const bill = this.fromRow(row);
    // The status is a function of the paid amount (CHECK CHK_bills_status_follows_paid_amount), so this is exact.
    const previousPaidAmount = bill.paidAmount - amount;
    return { bill, previousPaidAmount, previousStatus: statusForPaid(bill.amount, previousPaidAmount) };
  }

  /** Cancels a bill that is not paid in full, with its effects; null when it was paid (or cancelled) first. */
  async cancel(id: string, by: string, reason: string | null, effects: Record<string, Sql>): Promise<Bill | null> {
    const row = await this.db.one(
      changeWithEffects(
        sql`UPDATE bills
               SET status = 'cancelled', cancelled_at = now(), cancelled_by = ${by}, cancel_reason = ${reason},
                   updated_at = now(), version = version + 1
             WHERE id = ${id} AND status = ANY(${[...CANCELLABLE_BILL_STATUSES]})
             RETURNING *`,
        effects,
      ),
    );
    return row ? this.fromRow(row) : null;
  }

  async list(filter: BillListFilter): Promise<[Bill[], number]> {
    const qb = this.db.manager.createQueryBuilder(Bill, 'b');
    if (filter.clientId) qb.andWhere('b.clientId = :clientId', { clientId: filter.clientId });
    if (filter.status) qb.andWhere('b.status = :status', { status: filter.status });
    return qb
      .orderBy('b.createdAt', 'DESC')
      .addOrderBy('b.id', 'DESC')
      .skip((filter.page - 1) * filter.limit)
      .take(filter.limit)
      .getManyAndCount();
  }

  /** The paid payments that counted toward a bill, oldest first: a read of `payments` (its writer is PaymentsRepository). */
  async paymentsOf(billId: string): Promise<BillPaymentRow[]> {
    const rows = await this.db.query<{
      id: string;
      amount: number;
      channel: string;
      status: string;
      mpesa_receipt_number: string | null;
      settled_by: string | null;
      completed_at: Date | null;
    }>(
      sql`SELECT id, amount, channel, status, mpesa_receipt_number, settled_by, completed_at
            FROM payments WHERE bill_id = ${billId} AND status = ANY(${PAID_PAYMENT_STATUSES})
           ORDER BY completed_at, id`,
    );
    return rows.map((r) => ({
      paymentId: r.id,
      amount: r.amount,
      channel: r.channel,
      status: r.status,
      mpesaReceiptNumber: r.mpesa_receipt_number,
      settledBy: r.settled_by,
      completedAt: r.completed_at,
    }));
  }

  private fromRow(row: Record<string, unknown>): Bill {
    return this.db.toEntity(Bill, row);
  }
}
