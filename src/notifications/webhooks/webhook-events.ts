/**
 * Every event the service sends to LegalPro's webhook endpoints. Each module builds its event's `data` in one place
 * (payment-events.ts, bill-events.ts, payout-events.ts, reversals.service.ts, reviews.service.ts, alerts.service.ts);
 * this list is what an endpoint's `events` patterns are checked against, and what docs/webhooks.md describes.
 */
export const WEBHOOK_EVENT_TYPES = [
  'payment.completed',
  'payment.failed',
  'payment.cancelled',
  'payment.timeout',
  'payment.expired',
  'bill.partially_paid',
  'bill.paid',
  'bill.overpaid',
  'refund.completed',
  'refund.failed',
  'disbursement.completed',
  'disbursement.failed',
  'reversal.completed',
  'reversal.failed',
  'review.opened',
  'review.resolved',
  'alert.raised',
  'alert.resolved',
] as const;

/** `*` (everything), `payment.*` (one family), or one event's exact name. */
const PATTERN = /^(\*|[a-z][a-z_]*\.(\*|[a-z][a-z_]*))$/;

/** Whether `event` is one `pattern` names. */
export function eventMatches(pattern: string, event: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return event.startsWith(pattern.slice(0, -1));
  return pattern === event;
}

/** The patterns that are malformed or name no event the service sends (a typo would silently receive nothing). */
export function unknownEventPatterns(patterns: readonly string[]): string[] {
  return patterns.filter((p) => !PATTERN.test(p) || !WEBHOOK_EVENT_TYPES.some((event) => eventMatches(p, event)));
}

/** An outbox row, as every endpoint receives it. */
export interface WebhookEvent {
  id: string;
  event: string;
  createdAt: Date;
  payload: object;
}

/**
 * The body every endpoint (and every redelivery) receives for an event: built here only, from the outbox row, so the
 * same event has the same id and the same bytes wherever and whenever it is sent; only the signature changes.
 */
export function webhookBody(event: WebhookEvent): string {
  return JSON.stringify({ id: event.id, event: event.event, createdAt: event.createdAt.toISOString(), data: event.payload });
}
