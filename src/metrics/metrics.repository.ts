import { Injectable } from '@nestjs/common';
import { Database } from '../database/database';
import { sql } from '../database/sql';

export interface PaymentTotalsRow {
  status: string;
  paymentType: string;
  /** stk or c2b. */
  channel: string;
  count: number;
  /** Sum of the amounts, whole KES. */
  amount: number;
}

export interface PayoutTotalsRow {
  status: string;
  kind: string;
  count: number;
  amount: number;
}

export interface OpenReviewsRow {
  reason: string;
  entityType: string;
  count: number;
}

/**
 * The figures behind the business gauges: one aggregate per table, whatever the number of gauges that read it.
 * Both are a single GROUP BY over a handful of groups; MetricsService's callers cache them for a few seconds.
 */
@Injectable()
export class MetricsRepository {
  constructor(private readonly db: Database) {}

  async totalPaymentsByStatusAndType(): Promise<PaymentTotalsRow[]> {
    const rows = await this.db.query<{ status: string; payment_type: string; channel: string; count: string; amount: string }>(
      sql`SELECT status, payment_type, channel, count(*) AS count, coalesce(sum(amount), 0) AS amount FROM payments
           GROUP BY status, payment_type, channel`,
    );
    return rows.map((r) => ({
      status: r.status,
      paymentType: r.payment_type,
      channel: r.channel,
      count: Number(r.count),
      amount: Number(r.amount),
    }));
  }

  async totalPayoutsByStatusAndKind(): Promise<PayoutTotalsRow[]> {
    const rows = await this.db.query<{ status: string; kind: string; count: string; amount: string }>(
      sql`SELECT status, kind, count(*) AS count, coalesce(sum(amount), 0) AS amount FROM payouts GROUP BY status, kind`,
    );
    return rows.map((r) => ({ status: r.status, kind: r.kind, count: Number(r.count), amount: Number(r.amount) }));
  }

  async openReviewsByReason(): Promise<OpenReviewsRow[]> {
    const rows = await this.db.query<{ reason: string; entity_type: string; count: string }>(
      sql`SELECT reason, entity_type, count(*) AS count FROM reviews WHERE status = 'open' GROUP BY reason, entity_type`,
    );
    return rows.map((r) => ({ reason: r.reason, entityType: r.entity_type, count: Number(r.count) }));
  }
}
