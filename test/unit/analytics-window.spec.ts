import {
  kenyaDay,
  kenyaDaysOf,
  parseAnalyticsBound,
  resolveAnalyticsWindow,
  startOfKenyaDay,
} from '../../src/payments/analytics/analytics-window';

const at = (iso: string) => new Date(iso);
/** 14:00 on 26 November 2026 in Nairobi. */
const NOW = at('2026-11-26T11:00:00Z');

function windowOf(from: string | undefined, to: string | undefined, now = NOW): { from: string; to: string } {
  const resolved = resolveAnalyticsWindow(from, to, now);
  if ('error' in resolved) throw new Error(resolved.error);
  return { from: resolved.window.from.toISOString(), to: resolved.window.to.toISOString() };
}

function errorOf(from: string | undefined, to: string | undefined, now = NOW): string | undefined {
  const resolved = resolveAnalyticsWindow(from, to, now);
  return 'error' in resolved ? resolved.error : undefined;
}

describe('parseAnalyticsBound', () => {
  it('reads a day as its midnight in Nairobi, 21:00 UTC the day before', () => {
    expect(parseAnalyticsBound('2025-03-01')).toEqual({ start: at('2025-02-28T21:00:00Z'), isDay: true });
  });

  it('reads a date-time with Z or an offset as that instant', () => {
    expect(parseAnalyticsBound('2025-03-01T10:00:00Z')).toEqual({ start: at('2025-03-01T10:00:00Z'), isDay: false });
    expect(parseAnalyticsBound('2025-03-01T10:00:00.250+03:00')).toEqual({ start: at('2025-03-01T07:00:00.250Z'), isDay: false });
  });

  it('accepts the first day of 2000 (its Nairobi midnight is still 1999 in UTC)', () => {
    expect(parseAnalyticsBound('2000-01-01')?.start).toEqual(at('1999-12-31T21:00:00Z'));
  });

  it.each([
    '2025-02-29',
    '2025-13-01',
    '2025-3-1',
    '2025-03-01T10:00:00',
    '2025-03-01T25:00:00Z',
    '1999-12-31',
    '2100-01-01',
    'yesterday',
    '',
    20250301,
  ])('rejects %p', (value) => {
    expect(parseAnalyticsBound(value)).toBeNull();
  });
});

describe('Kenya days', () => {
  it('starts a Kenya day at 21:00 UTC the day before', () => {
    expect(startOfKenyaDay(at('2025-03-01T22:30:00Z'))).toEqual(at('2025-03-01T21:00:00Z'));
    expect(startOfKenyaDay(at('2025-03-01T20:59:59Z'))).toEqual(at('2025-02-28T21:00:00Z'));
    expect(kenyaDay(at('2025-03-01T22:30:00Z'))).toBe('2025-03-02');
  });

  it('lists every day a window touches, a partial day included', () => {
    expect(kenyaDaysOf({ from: at('2025-02-28T21:00:00Z'), to: at('2025-03-02T21:00:00Z') })).toEqual(['2025-03-01', '2025-03-02']);
    expect(kenyaDaysOf({ from: at('2025-03-01T22:30:00Z'), to: at('2025-03-02T07:00:00Z') })).toEqual(['2025-03-02']);
    expect(kenyaDaysOf({ from: at('2025-03-01T07:00:00Z'), to: at('2025-03-01T07:00:00Z') })).toEqual([]);
  });
});

describe('resolveAnalyticsWindow', () => {
  it('covers the last 30 Kenya days, today included, by default', () => {
    expect(windowOf(undefined, undefined)).toEqual({ from: '2026-10-27T21:00:00.000Z', to: '2026-11-26T21:00:00.000Z' });
  });

  it('uses Kenya time for "today": 22:00 UTC is already tomorrow in Nairobi', () => {
    expect(windowOf(undefined, undefined, at('2026-11-26T22:00:00Z')).to).toBe('2026-11-27T21:00:00.000Z');
  });

  it('includes the whole of a `to` day and starts 30 days before its end without `from`', () => {
    expect(windowOf(undefined, '2025-03-31')).toEqual({ from: '2025-03-01T21:00:00.000Z', to: '2025-03-31T21:00:00.000Z' });
  });

  it('takes one day for the same `from` and `to`', () => {
    expect(windowOf('2025-03-01', '2025-03-01')).toEqual({ from: '2025-02-28T21:00:00.000Z', to: '2025-03-01T21:00:00.000Z' });
  });

  it('keeps date-times as given: from included, to excluded', () => {
    expect(windowOf('2025-03-01T10:00:00Z', '2025-03-01T12:00:00Z')).toEqual({
      from: '2025-03-01T10:00:00.000Z',
      to: '2025-03-01T12:00:00.000Z',
    });
  });

  it('allows 366 days (a leap year, day by day) and no more', () => {
    expect(windowOf('2024-01-01', '2024-12-31')).toEqual({ from: '2023-12-31T21:00:00.000Z', to: '2024-12-31T21:00:00.000Z' });
    expect(errorOf('2024-01-01', '2025-01-01')).toBe('from and to must be at most 366 days apart (this window spans 367 days)');
  });

  it('refuses `from` after `to`, and after today when `to` is left out', () => {
    expect(errorOf('2025-03-02', '2025-03-01')).toBe('from must not be after to');
    expect(errorOf('2025-03-01T10:00:01Z', '2025-03-01T10:00:00Z')).toBe('from must not be after to');
    expect(errorOf('2026-11-27', undefined)).toBe('from must not be after today (Kenya time), the default to');
  });

  it('measures a long window from `from` to the end of today when `to` is left out', () => {
    expect(windowOf('2025-11-26', undefined)).toEqual({ from: '2025-11-25T21:00:00.000Z', to: '2026-11-26T21:00:00.000Z' });
    expect(errorOf('2025-11-25', undefined)).toBe('from and to must be at most 366 days apart (this window spans 367 days)');
    expect(errorOf('2025-11-25T12:00:00Z', undefined)).toBe('from and to must be at most 366 days apart (this window spans 366.4 days)');
  });

  it('names the malformed bound', () => {
    expect(errorOf('2025-02-30', undefined)).toMatch(/^from must be a day \(YYYY-MM-DD, in Kenya time\)/);
    expect(errorOf(undefined, 'tomorrow')).toMatch(/^to must be a day/);
  });
});
