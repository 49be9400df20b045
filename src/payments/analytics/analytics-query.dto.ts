import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsOptional, registerDecorator, ValidationArguments } from 'class-validator';
import { boundFormatMessage, parseAnalyticsBound, resolveAnalyticsWindow } from './analytics-window';
import { ANALYTICS_GROUP_BY, AnalyticsGroupBy } from './payment-analytics.sql';

/** A day or an instant (see analytics-window.ts); an absent value passes, so `to` can carry the window check. */
function IsAnalyticsBound(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isAnalyticsBound',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (value: unknown) => value === undefined || parseAnalyticsBound(value) !== null,
        defaultMessage: (args?: ValidationArguments) => boundFormatMessage(args?.property ?? String(propertyName)),
      },
    });
}

/**
 * `from` not after `to`, and at most 366 days between them, defaults included. It sits on `to` with no
 * @IsOptional, so it also runs when `to` is absent; a malformed bound is left to IsAnalyticsBound's message.
 */
function IsAnalyticsWindow(): PropertyDecorator {
  const problem = (args: ValidationArguments): string | undefined => {
    const query = args.object as PaymentAnalyticsQueryDto;
    if (query.from !== undefined && parseAnalyticsBound(query.from) === null) return undefined;
    if (query.to !== undefined && parseAnalyticsBound(query.to) === null) return undefined;
    const resolved = resolveAnalyticsWindow(query.from, query.to, new Date());
    return 'error' in resolved ? resolved.error : undefined;
  };
  return (target, propertyName) =>
    registerDecorator({
      name: 'isAnalyticsWindow',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (_value: unknown, args: ValidationArguments) => problem(args) === undefined,
        defaultMessage: (args?: ValidationArguments) => (args && problem(args)) ?? 'from and to do not make a valid window',
      },
    });
}

export class PaymentAnalyticsQueryDto {
  /**
   * Start of the window: a day (`YYYY-MM-DD`, from its midnight in Nairobi) or an ISO 8601 date-time with `Z`
   * or an offset (included). Default: 30 days before the end of the window.
   * @example "2025-03-01"
   */
  @IsOptional()
  @IsAnalyticsBound()
  from?: string;

  /**
   * End of the window: a day (`YYYY-MM-DD`, included whole, Kenya time) or an ISO 8601 date-time with `Z` or an
   * offset (excluded). Default: today, Kenya time. At most 366 days after `from`.
   * @example "2025-03-31"
   */
  @IsAnalyticsBound()
  @IsAnalyticsWindow()
  to?: string;

  /**
   * `day`: one group per Kenya day (Africa/Nairobi), every day of the window; `paymentType`: one per payment type;
   * `channel`: one per channel (`stk`, `c2b`).
   */
  @ApiProperty({ required: false }) // it has a default, so the plugin would call it required
  @IsOptional()
  @IsIn(ANALYTICS_GROUP_BY, { message: `groupBy must be one of: ${ANALYTICS_GROUP_BY.join(', ')}` })
  groupBy: AnalyticsGroupBy = 'day';
}
