import { AnalyticsGroupBy } from './payment-analytics.sql';

/**
 * The figures of a set of payments. Every payment is in exactly one of completed, reversed, failed, cancelled,
 * timeout or pending, so they add up to `count`.
 */
export class PaymentFiguresDto {
  /** Payments created in the window (or the group). @example 1250 */
  count: number;
  /** The money arrived and stayed: statuses completed, partially_refunded and refunded. @example 870 */
  completed: number;
  /** Completed, then reversed: the money went back. Settled, but neither a success nor a failure. @example 3 */
  reversed: number;
  /** @example 120 */
  failed: number;
  /** Cancelled by the customer on the phone. @example 180 */
  cancelled: number;
  /** No answer from the customer or from M-Pesa in time. @example 70 */
  timeout: number;
  /** Still waiting for M-Pesa. @example 7 */
  pending: number;
  /** completed / settled (every status but pending), 4 decimals; null when nothing settled. @example 0.7001 */
  successRate: number | null;
  /** (failed + cancelled + timeout) / settled, 4 decimals; null when nothing settled. @example 0.2975 */
  failureRate: number | null;
  /** Sum of the amounts of completed payments (refunds not deducted; reversed payments excluded), whole KES. @example 2450000 */
  revenue: number;
  /** Sum of what was refunded from these payments, whole KES. @example 15000 */
  refunded: number;
  /** Mean seconds from push to completion of completed STK payments (C2B arrives complete), 1 decimal; null when none. @example 23.4 */
  avgSecondsToComplete: number | null;
}

export class PaymentAnalyticsGroupDto extends PaymentFiguresDto {
  /** A Kenya day (`YYYY-MM-DD`) with groupBy=day, a payment type with groupBy=paymentType, `stk`/`c2b` with groupBy=channel. @example "2025-03-01" */
  key: string;
}

export class ResultCodeCountDto {
  /** Daraja's ResultCode as stored (`"0"`, `"1032"`, `"SFC_IC0003"`); null while pending or when M-Pesa gave none. @example "1032" */
  resultCode: string | null;
  /** @example 180 */
  count: number;
}

export class PaymentAnalyticsDto {
  /** First instant of the window (included). */
  from: Date;
  /** End of the window (excluded). */
  to: Date;
  groupBy: AnalyticsGroupBy;
  totals: PaymentFiguresDto;
  /** groupBy=day: every Kenya day of the window, oldest first, empty days included; paymentType: every type; channel: both channels. */
  groups: PaymentAnalyticsGroupDto[];
  /** How the window's payments ended at M-Pesa, most frequent first. */
  resultCodes: ResultCodeCountDto[];
}

export class PaymentAnalyticsResponseDto {
  success: boolean;
  data: PaymentAnalyticsDto;
}
