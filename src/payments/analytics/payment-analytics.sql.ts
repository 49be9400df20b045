// The analytics statement, free of Nest and TypeORM so that bench/analytics.js can require the built file
// (dist/src/payments/analytics/payment-analytics.sql.js) and time exactly what the endpoint runs.

export const ANALYTICS_GROUP_BY = ['day', 'paymentType', 'channel'] as const;
export type AnalyticsGroupBy = (typeof ANALYTICS_GROUP_BY)[number];

/** Days are Kenya days. Nairobi has kept UTC+3, without daylight saving, since long before any payment here. */
export const KENYA_TIME_ZONE = 'Africa/Nairobi';

// Money arrived and stayed, possibly partly or wholly refunded. A reversed payment's money went back: it is
// settled, yet neither a success nor a failure, and not revenue.
const COMPLETED = `status IN ('completed', 'partially_refunded', 'refunded')`;
const FAILED = `status IN ('failed', 'cancelled', 'timeout')`;
const SETTLED = `status <> 'pending'`;

/** What a group is keyed on (`key`), and how the key is shown. */
const GROUP_KEY: Record<AnalyticsGroupBy, { expression: string; label: string }> = {
  // The same expression as the statistics object of migration AnalyticsIndexes1764151200000: without it the
  // planner guesses a group per row and sorts (on disk) instead of hashing.
  day: { expression: `date_trunc('day', created_at AT TIME ZONE '${KENYA_TIME_ZONE}')`, label: `to_char(key, 'YYYY-MM-DD')` },
  paymentType: { expression: 'payment_type', label: 'key' },
  channel: { expression: 'channel', label: 'key' },
};

/** One row of the statement's answer; `kind` says which grouping set it belongs to. */
export interface PaymentAnalyticsRow {
  kind: 'group' | 'result_code' | 'total';
  key: string | null;
  result_code: string | null;
  count: number;
  completed: number;
  reversed: number;
  failed: number;
  cancelled: number;
  timeout: number;
  pending: number;
  success_rate: number | null;
  failure_rate: number | null;
  /** bigint: node-postgres gives it as a string. */
  revenue: string;
  refunded: string;
  avg_seconds_to_complete: number | null;
}

/**
 * Payments created in the half-open window [$1, $2): one row per group key, one per result code, one total.
 *
 * `cells` reads each payment once (an index-only scan of ix_payments_created_analytics) and folds it into a
 * (key, status, result_code) cell with five cheap aggregates, which Postgres can spread over parallel workers;
 * there are only a few thousand cells even for a year of days. The FILTER aggregates and the three grouping
 * sets then run over those cells, not over every payment, which is several times faster on a million payments
 * (bench/README.md, "Payment analytics").
 */
export function paymentAnalyticsSql(groupBy: AnalyticsGroupBy): string {
  const key = GROUP_KEY[groupBy];
  return `
    WITH cells AS (
      SELECT ${key.expression} AS key, status, result_code,
             count(*) AS n,
             sum(amount) AS amount,
             sum(refunded_amount) AS refunded,
             -- Time to complete is a push's (prompt to PIN): a C2B payment arrives complete, so it is not timed.
             sum(completed_at - initiated_at) FILTER (WHERE channel = 'stk') AS duration,
             count(completed_at) FILTER (WHERE channel = 'stk') AS timed
        FROM payments
       WHERE created_at >= $1 AND created_at < $2
       GROUP BY 1, 2, 3
    )
    SELECT CASE WHEN GROUPING(key) = 0 THEN 'group' WHEN GROUPING(result_code) = 0 THEN 'result_code' ELSE 'total' END AS kind,
           CASE WHEN GROUPING(key) = 0 THEN ${key.label} END AS key,
           result_code,
           coalesce(sum(n), 0)::int AS count,
           coalesce(sum(n) FILTER (WHERE ${COMPLETED}), 0)::int AS completed,
           coalesce(sum(n) FILTER (WHERE status = 'reversed'), 0)::int AS reversed,
           coalesce(sum(n) FILTER (WHERE status = 'failed'), 0)::int AS failed,
           coalesce(sum(n) FILTER (WHERE status = 'cancelled'), 0)::int AS cancelled,
           coalesce(sum(n) FILTER (WHERE status = 'timeout'), 0)::int AS timeout,
           coalesce(sum(n) FILTER (WHERE status = 'pending'), 0)::int AS pending,
           round(coalesce(sum(n) FILTER (WHERE ${COMPLETED}), 0) / nullif(sum(n) FILTER (WHERE ${SETTLED}), 0), 4)::float8 AS success_rate,
           round(coalesce(sum(n) FILTER (WHERE ${FAILED}), 0) / nullif(sum(n) FILTER (WHERE ${SETTLED}), 0), 4)::float8 AS failure_rate,
           coalesce(sum(amount) FILTER (WHERE ${COMPLETED}), 0)::bigint AS revenue,
           coalesce(sum(refunded), 0)::bigint AS refunded,
           round(extract(epoch FROM sum(duration) FILTER (WHERE ${COMPLETED})) / nullif(sum(timed) FILTER (WHERE ${COMPLETED}), 0), 1)::float8
             AS avg_seconds_to_complete
      FROM cells
     GROUP BY GROUPING SETS ((key), (result_code), ())`;
}
