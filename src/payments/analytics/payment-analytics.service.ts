import { Injectable } from '@nestjs/common';
import { ValidationError } from '../../common/errors/app-error';
import { PaymentChannel, PaymentType } from '../payment-status';
import { PaymentAnalyticsQueryDto } from './analytics-query.dto';
import { PaymentAnalyticsDto, PaymentAnalyticsGroupDto } from './analytics-response.dto';
import { AnalyticsWindow, kenyaDaysOf, resolveAnalyticsWindow } from './analytics-window';
import { AnalyticsGroupBy } from './payment-analytics.sql';
import { emptyFigures, PaymentAnalyticsRepository } from './payment-analytics.repository';

/** Payment figures for admins: Postgres computes them, this class only fixes the window and the group order. */
@Injectable()
export class PaymentAnalyticsService {
  constructor(private readonly analytics: PaymentAnalyticsRepository) {}

  async summarize(query: PaymentAnalyticsQueryDto, now = new Date()): Promise<PaymentAnalyticsDto> {
    const resolved = resolveAnalyticsWindow(query.from, query.to, now);
    // The DTO checked the same rules a moment ago; only a request at the stroke of midnight can get here.
    if ('error' in resolved) throw new ValidationError(resolved.error);
    const { window } = resolved;
    const summary = await this.analytics.summarizeWindow(window, query.groupBy);
    return {
      from: window.from,
      to: window.to,
      groupBy: query.groupBy,
      totals: summary.totals,
      groups: allGroups(query.groupBy, window, summary.groups),
      resultCodes: summary.resultCodes.sort(
        (a, b) => b.count - a.count || (a.resultCode === null ? 1 : b.resultCode === null ? -1 : a.resultCode.localeCompare(b.resultCode)),
      ),
    };
  }
}

/**
 * A group for every day of the window (a chart must not skip quiet days) or every payment type, in order;
 * keys with no payments get zeros.
 */
function allGroups(groupBy: AnalyticsGroupBy, window: AnalyticsWindow, found: PaymentAnalyticsGroupDto[]): PaymentAnalyticsGroupDto[] {
  const byKey = new Map(found.map((g) => [g.key, g]));
  const fixed: Record<Exclude<AnalyticsGroupBy, 'day'>, string[]> = {
    paymentType: Object.values(PaymentType),
    channel: Object.values(PaymentChannel),
  };
  const keys = groupBy === 'day' ? kenyaDaysOf(window) : [...fixed[groupBy], ...[...byKey.keys()].sort()];
  return [...new Set(keys)].map((key) => byKey.get(key) ?? { key, ...emptyFigures() });
}
