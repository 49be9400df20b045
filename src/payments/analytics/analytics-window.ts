// The time window of GET /api/payments/analytics: what `from` and `to` mean, their defaults and limits.
// Pure functions of the query and the clock, shared by the DTO's validation and the service.

/** Kenya time is UTC+3 all year (no daylight saving): a Kenya day starts at 21:00 UTC the day before. */
const KENYA_OFFSET_MS = 3 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_WINDOW_DAYS = 30;
export const MAX_WINDOW_DAYS = 366;

// As for GET /api/payments: dates Postgres can store and a person could mean; anything else is a typo.
const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(2100, 0, 1);

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
// An instant needs an offset: without one, its meaning would depend on the server's time zone.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

export const boundFormatMessage = (name: string) =>
  `${name} must be a day (YYYY-MM-DD, in Kenya time) or an ISO 8601 date-time with Z or an offset, from 2000 to 2099`;

/** A `from` or `to` as given: a whole Kenya day, or an instant. */
export interface AnalyticsBound {
  /** The day's first instant (Nairobi midnight), or the instant itself. */
  start: Date;
  isDay: boolean;
}

/** The half-open window [from, to) of `created_at` that the figures cover. */
export interface AnalyticsWindow {
  from: Date;
  to: Date;
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

/** Null for anything that is neither a calendar day nor an ISO 8601 instant with an offset, in 2000-2099. */
export function parseAnalyticsBound(text: unknown): AnalyticsBound | null {
  if (typeof text !== 'string') return null;
  const day = DAY.exec(text);
  const dateTime = day ? null : DATE_TIME.exec(text);
  const parts = day ?? dateTime;
  if (!parts || !isCalendarDate(Number(parts[1]), Number(parts[2]), Number(parts[3]))) return null;
  const ms = day ? Date.UTC(Number(parts[1]), Number(parts[2]) - 1, Number(parts[3])) : Date.parse(text);
  if (!Number.isFinite(ms) || ms < EARLIEST || ms >= LATEST) return null;
  return day ? { start: new Date(ms - KENYA_OFFSET_MS), isDay: true } : { start: new Date(ms), isDay: false };
}

/** The first instant of the Kenya day that `instant` falls in. */
export function startOfKenyaDay(instant: Date): Date {
  const local = instant.getTime() + KENYA_OFFSET_MS;
  return new Date(local - (((local % DAY_MS) + DAY_MS) % DAY_MS) - KENYA_OFFSET_MS);
}

/** `YYYY-MM-DD`: the Kenya day that `instant` falls in (the keys of groupBy=day). */
export function kenyaDay(instant: Date): string {
  return new Date(instant.getTime() + KENYA_OFFSET_MS).toISOString().slice(0, 10);
}

/** Every Kenya day the window touches, in order. */
export function kenyaDaysOf(window: AnalyticsWindow): string[] {
  const days: string[] = [];
  if (window.from >= window.to) return days;
  for (let day = startOfKenyaDay(window.from).getTime(); day < window.to.getTime(); day += DAY_MS) days.push(kenyaDay(new Date(day)));
  return days;
}

/**
 * `from` and `to` (both optional) as a window, or why they make none.
 *
 * - A day (`2025-03-01`) is a whole Kenya day: `from` starts at its Nairobi midnight, `to` includes all of it.
 * - A date-time is an instant: `from` is included, `to` is not.
 * - No `to`: today (Kenya time), included. No `from`: 30 days before the window's end, so by default the
 *   window is the last 30 Kenya days, today included.
 * - `from` may not be after `to` (the same day for both is one day), and the window is at most 366 days long.
 */
export function resolveAnalyticsWindow(fromText: unknown, toText: unknown, now: Date): { window: AnalyticsWindow } | { error: string } {
  const from = fromText === undefined ? undefined : parseAnalyticsBound(fromText);
  if (from === null) return { error: boundFormatMessage('from') };
  const to = toText === undefined ? { start: startOfKenyaDay(now), isDay: true } : parseAnalyticsBound(toText);
  if (to === null) return { error: boundFormatMessage('to') };

  const end = new Date(to.start.getTime() + (to.isDay ? DAY_MS : 0));
  const start = from?.start ?? new Date(end.getTime() - DEFAULT_WINDOW_DAYS * DAY_MS);
  if (start > to.start) {
    return { error: toText === undefined ? 'from must not be after today (Kenya time), the default to' : 'from must not be after to' };
  }
  const days = (end.getTime() - start.getTime()) / DAY_MS;
  if (days > MAX_WINDOW_DAYS) {
    return { error: `from and to must be at most ${MAX_WINDOW_DAYS} days apart (this window spans ${Math.round(days * 10) / 10} days)` };
  }
  return { window: { from: start, to: end } };
}
