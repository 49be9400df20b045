import { Injectable } from '@nestjs/common';
import { InjectEntityManager } from '@nestjs/typeorm';
import { EntityManager } from 'typeorm';
import { PaymentAnalyticsGroupDto, PaymentFiguresDto, ResultCodeCountDto } from './analytics-response.dto';
import { AnalyticsWindow } from './analytics-window';
import { AnalyticsGroupBy, PaymentAnalyticsRow, paymentAnalyticsSql } from './payment-analytics.sql';

export interface PaymentAnalyticsSummary {
  totals: PaymentFiguresDto;
  /** Only the keys that have payments, in no particular order. */
  groups: PaymentAnalyticsGroupDto[];
  resultCodes: ResultCodeCountDto[];
}

/** The figures of no payments at all: an empty day, or a payment type nobody used. */
export function emptyFigures(): PaymentFiguresDto {
  return {
    count: 0,
    completed: 0,
    reversed: 0,
    failed: 0,
    cancelled: 0,
    timeout: 0,
    pending: 0,
    successRate: null,
    failureRate: null,
    revenue: 0,
    refunded: 0,
    avgSecondsToComplete: null,
  };
}

function figuresOf(row: PaymentAnalyticsRow): PaymentFiguresDto {
  return {
    count: row.count,
    completed: row.completed,
    reversed: row.reversed,
    failed: row.failed,
    cancelled: row.cancelled,
    timeout: row.timeout,
    pending: row.pending,
    successRate: row.success_rate,
    failureRate: row.failure_rate,
    // bigint sums come back as strings; a year of payments stays far below 2^53 shillings.
    revenue: Number(row.revenue),
    refunded: Number(row.refunded),
    avgSecondsToComplete: row.avg_seconds_to_complete,
  };
}

/** Read-only aggregates over payments, computed by Postgres in one statement. */
@Injectable()
export class PaymentAnalyticsRepository {
  constructor(@InjectEntityManager() private readonly manager: EntityManager) {}

  /**
   * The figures of the payments created in the window: in total, per group and per result code.
   * Not a prepared statement on purpose: each call is planned for its own window (30 days and a year want
   * different plans), and planning costs well under a millisecond.
   */
  async summarizeWindow(window: AnalyticsWindow, groupBy: AnalyticsGroupBy): Promise<PaymentAnalyticsSummary> {
    const rows: PaymentAnalyticsRow[] = await this.manager.query(paymentAnalyticsSql(groupBy), [window.from, window.to]);
    // The empty grouping set always yields the total row, even for an empty window.
    const summary: PaymentAnalyticsSummary = { totals: emptyFigures(), groups: [], resultCodes: [] };
    for (const row of rows) {
      if (row.kind === 'total') summary.totals = figuresOf(row);
      else if (row.kind === 'group') summary.groups.push({ key: String(row.key), ...figuresOf(row) });
      else summary.resultCodes.push({ resultCode: row.result_code, count: row.count });
    }
    return summary;
  }
}
