import { Injectable } from '@nestjs/common';
import { Database } from '../../database/database';
import { sql } from '../../database/sql';
import { PAID_STATUSES } from '../../payments/payment-status';
import { RecordedMoney } from './reconcile';

/**
 * Read-only questions to the money tables of other modules (reads may cross modules; writes never do): which of our
 * records hold given receipts, and which moved money inside a period. It writes nothing.
 */
@Injectable()
export class RecordedMoneyReader {
  constructor(private readonly db: Database) {}

  /** Payments holding these receipts, with what reconciliation needs to know of them. */
  async paymentsByReceipt(receipts: string[]): Promise<Map<string, RecordedMoney>> {
    if (!receipts.length) return new Map();
    const rows = await this.db.query<RecordedMoney>(
      sql`SELECT 'payment' AS type, id, amount, status, mpesa_receipt_number AS receipt,
                 COALESCE(transaction_date, completed_at) AS "occurredAt", checkout_request_id IS NOT NULL AS stk
            FROM payments WHERE mpesa_receipt_number = ANY(${receipts}::varchar[])`,
    );
    return new Map(rows.map((r) => [r.receipt as string, r]));
  }

  /** Payouts (B2C) and reversals holding these receipts: the money-out lines of a statement. */
  async moneyOutByReceipt(receipts: string[]): Promise<Map<string, RecordedMoney>> {
    if (!receipts.length) return new Map();
    const rows = await this.db.query<RecordedMoney>(
      sql`SELECT 'payout' AS type, id, amount, status, transaction_id AS receipt, completed_at AS "occurredAt", false AS stk
            FROM payouts WHERE transaction_id = ANY(${receipts}::varchar[])
          UNION ALL
          SELECT 'reversal' AS type, id, amount, status, transaction_id AS receipt, completed_at AS "occurredAt", false AS stk
            FROM reversals WHERE transaction_id = ANY(${receipts}::varchar[])`,
    );
    return new Map(rows.map((r) => [r.receipt as string, r]));
  }

  /**
   * Payments whose money arrived in `[from, to)` by M-Pesa's clock (the callback's or confirmation's time, else when we
   * completed them). Payments are created before they are paid (an STK push) or after (recovered money), never days
   * before: the created_at bound only lets the index prune.
   */
  async paymentsPaidBetween(from: Date, to: Date): Promise<RecordedMoney[]> {
    return this.db.query<RecordedMoney>(
      sql`SELECT 'payment' AS type, id, amount, status, mpesa_receipt_number AS receipt,
                 COALESCE(transaction_date, completed_at) AS "occurredAt", checkout_request_id IS NOT NULL AS stk
            FROM payments
           WHERE status = ANY(${[...PAID_STATUSES]}::varchar[])
             AND created_at >= ${from}::timestamptz - interval '2 days'
             AND COALESCE(transaction_date, completed_at) >= ${from} AND COALESCE(transaction_date, completed_at) < ${to}
           ORDER BY 5`,
    );
  }

  /** Completed payouts and reversals (their money left) in `[from, to)`. */
  async moneyOutBetween(from: Date, to: Date): Promise<RecordedMoney[]> {
    return this.db.query<RecordedMoney>(
      sql`SELECT 'payout' AS type, id, amount, status, transaction_id AS receipt, completed_at AS "occurredAt", false AS stk
            FROM payouts
           WHERE status = 'completed' AND created_at >= ${from}::timestamptz - interval '2 days'
             AND completed_at >= ${from} AND completed_at < ${to}
          UNION ALL
          SELECT 'reversal' AS type, id, amount, status, transaction_id AS receipt, completed_at AS "occurredAt", false AS stk
            FROM reversals
           WHERE status = 'completed' AND created_at >= ${from}::timestamptz - interval '2 days'
             AND completed_at >= ${from} AND completed_at < ${to}
           ORDER BY 6`,
    );
  }

  /**
   * Money-in payments the service recorded in a window, C2B and STK apart: tells a quiet Pull window from a shortcode
   * Pull does not serve.
   */
  async paymentsCountBetween(from: Date, to: Date): Promise<{ c2b: number; stk: number }> {
    const row = await this.db.one<{ c2b: number; stk: number }>(
      sql`SELECT (count(*) FILTER (WHERE checkout_request_id IS NULL))::int AS c2b, (count(*) FILTER (WHERE checkout_request_id IS NOT NULL))::int AS stk
            FROM payments
           WHERE status = ANY(${[...PAID_STATUSES]}::varchar[]) AND created_at >= ${from}::timestamptz - interval '2 days'
             AND COALESCE(transaction_date, completed_at) >= ${from} AND COALESCE(transaction_date, completed_at) < ${to}`,
    );
    return row ?? { c2b: 0, stk: 0 };
  }
}
