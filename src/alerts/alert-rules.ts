import type { AlertSettings } from '../config/configuration';

/** The spec's alerting thresholds ("Alerting Thresholds"), plus callbacks that stop arriving. */
export enum AlertRule {
  PaymentFailureRate = 'payment_failure_rate',
  DarajaSlowResponses = 'daraja_slow_responses',
  AuthenticationFailures = 'authentication_failures',
  DarajaSystemErrors = 'daraja_system_errors',
  CallbacksStopped = 'callbacks_stopped',
  /** A review (src/reviews) has waited longer than ALERT_REVIEW_OPEN_MINUTES for a person. */
  ReviewsWaiting = 'reviews_waiting',
  /** A reconciliation (statement or daily Pull) named a difference with M-Pesa that nobody has explained yet. */
  ReconciliationDifferences = 'reconciliation_differences',
  /** A webhook endpoint was disabled after failing for WEBHOOK_DISABLE_AFTER_HOURS: LegalPro hears nothing there. */
  WebhookEndpointDisabled = 'webhook_endpoint_disabled',
}

/** What the database says about the trailing window; one statement measures it all (AlertsRepository.measure). */
export interface AlertMeasurements {
  /** Payments created in the window that have left `pending` (cancelled by the customer included). */
  settledPayments: number;
  /** Of those, `failed`, `timeout` or `expired` (no answer in time): the customer wanted to pay and could not, as far as we know. */
  failedPayments: number;
  darajaCalls: number;
  /** Mean duration of the Daraja calls in the window, null when there were none. */
  darajaAverageMs: number | null;
  authenticationFailures: number;
  /** Daraja calls that timed out, could not connect, or answered HTTP 5xx. */
  darajaSystemErrors: number;
  /** Pushes Daraja accepted, old enough that their callback is due, which never got one. */
  pushesAwaitingCallback: number;
  /** STK callbacks accepted in the last `callbackSilenceSeconds`. */
  recentStkCallbacks: number;
  /** Reviews still open after `reviewOpenMinutes`. */
  reviewsWaiting: number;
  /** Reconciliation differences (reviews of `reconciliation_item`s) still open, however young. */
  reconciliationDifferences: number;
  /** Webhook endpoints the service disabled because every delivery failed for days (not those an admin turned off). */
  webhookEndpointsDisabled: number;
}

export interface AlertFinding {
  rule: AlertRule;
  breached: boolean;
  value: number;
  threshold: number;
  /** One line an operator reads in the alert: what crossed which threshold. */
  summary: string;
}

const minutes = (seconds: number) => (seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`);

/** Pure: the same measurements and settings always give the same findings (unit-tested). */
export function evaluateAlertRules(m: AlertMeasurements, s: AlertSettings): AlertFinding[] {
  const window = minutes(s.windowSeconds);
  const failureRate = m.settledPayments > 0 ? (100 * m.failedPayments) / m.settledPayments : 0;
  const averageMs = m.darajaAverageMs ?? 0;
  return [
    {
      rule: AlertRule.PaymentFailureRate,
      // A handful of payments is not a rate: one failure in three would page someone at night.
      breached: m.settledPayments >= s.failureRateMinPayments && failureRate > s.failureRatePercent,
      value: round(failureRate),
      threshold: s.failureRatePercent,
      summary: `${m.failedPayments} of ${m.settledPayments} payments failed, timed out or expired in the last ${window} (${round(failureRate)}% > ${s.failureRatePercent}%)`,
    },
    {
      rule: AlertRule.DarajaSlowResponses,
      breached: m.darajaCalls > 0 && averageMs > s.avgResponseMs,
      value: Math.round(averageMs),
      threshold: s.avgResponseMs,
      summary: `Daraja answered ${m.darajaCalls} calls in ${Math.round(averageMs)} ms on average in the last ${window} (> ${s.avgResponseMs} ms)`,
    },
    {
      rule: AlertRule.AuthenticationFailures,
      breached: m.authenticationFailures > s.authFailures,
      value: m.authenticationFailures,
      threshold: s.authFailures,
      summary: `${m.authenticationFailures} failed authentications in the last ${window} (> ${s.authFailures})`,
    },
    {
      rule: AlertRule.DarajaSystemErrors,
      breached: m.darajaSystemErrors > s.systemErrors,
      value: m.darajaSystemErrors,
      threshold: s.systemErrors,
      summary: `${m.darajaSystemErrors} Daraja calls timed out, failed to connect or answered 5xx in the last ${window} (> ${s.systemErrors})`,
    },
    {
      rule: AlertRule.CallbacksStopped,
      breached: m.pushesAwaitingCallback >= s.callbackSilenceMinPushes && m.recentStkCallbacks === 0,
      value: m.pushesAwaitingCallback,
      threshold: s.callbackSilenceMinPushes,
      summary:
        `${m.pushesAwaitingCallback} accepted pushes are waiting for their callback and none arrived in the last ` +
        `${minutes(s.callbackSilenceSeconds)}: check the callback URL, TLS and Safaricom's status`,
    },
    {
      rule: AlertRule.ReviewsWaiting,
      breached: m.reviewsWaiting > 0,
      value: m.reviewsWaiting,
      threshold: 0,
      summary: `${m.reviewsWaiting} review(s) have waited more than ${s.reviewOpenMinutes} min for a person: GET /api/reviews?status=open`,
    },
    {
      rule: AlertRule.ReconciliationDifferences,
      // Money M-Pesa and the books disagree on: it fires while any is open, not after a delay (docs/reconciliation.md).
      breached: m.reconciliationDifferences > 0,
      value: m.reconciliationDifferences,
      threshold: 0,
      summary:
        `${m.reconciliationDifferences} difference(s) between M-Pesa and our records are unexplained: ` +
        'GET /api/reviews?status=open&entityType=reconciliation_item',
    },
    {
      rule: AlertRule.WebhookEndpointDisabled,
      // Fires while one stays disabled; it resolves when an admin enables it again (PATCH) or deletes it.
      breached: m.webhookEndpointsDisabled > 0,
      value: m.webhookEndpointsDisabled,
      threshold: 0,
      summary:
        `${m.webhookEndpointsDisabled} webhook endpoint(s) were disabled after failing continuously: their events wait as failed ` +
        'deliveries. Fix the receiver, then PATCH /api/webhook-endpoints/:id {"enabled": true} and POST /api/webhook-endpoints/:id/redeliver',
    },
  ];
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
