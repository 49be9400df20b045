import { AlertMeasurements, AlertRule, evaluateAlertRules } from '../../src/alerts/alert-rules';
import type { AlertSettings } from '../../src/config/configuration';

const settings: AlertSettings = {
  enabled: true,
  evaluationIntervalMs: 60_000,
  windowSeconds: 3_600,
  failureRatePercent: 5,
  failureRateMinPayments: 20,
  avgResponseMs: 10_000,
  authFailures: 10,
  systemErrors: 3,
  callbackSilenceSeconds: 900,
  callbackSilenceMinPushes: 3,
  emailTo: [],
  reviewOpenMinutes: 30,
};

const quiet: AlertMeasurements = {
  settledPayments: 100,
  failedPayments: 2,
  darajaCalls: 300,
  darajaAverageMs: 800,
  authenticationFailures: 1,
  darajaSystemErrors: 0,
  pushesAwaitingCallback: 0,
  recentStkCallbacks: 40,
  reviewsWaiting: 0,
  reconciliationDifferences: 0,
  webhookEndpointsDisabled: 0,
};

function finding(rule: AlertRule, m: Partial<AlertMeasurements>, s: Partial<AlertSettings> = {}) {
  const found = evaluateAlertRules({ ...quiet, ...m }, { ...settings, ...s }).find((f) => f.rule === rule);
  if (!found) throw new Error(`no finding for ${rule}`);
  return found;
}

describe(evaluateAlertRules.name, () => {
  it('raises nothing on a normal hour', () => {
    expect(evaluateAlertRules(quiet, settings).filter((f) => f.breached)).toEqual([]);
  });

  it('raises the failure rate above 5% and not at exactly 5%', () => {
    expect(finding(AlertRule.PaymentFailureRate, { settledPayments: 100, failedPayments: 6 })).toMatchObject({
      breached: true,
      value: 6,
      threshold: 5,
    });
    expect(finding(AlertRule.PaymentFailureRate, { settledPayments: 100, failedPayments: 5 }).breached).toBe(false);
  });

  it('ignores the failure rate of too few payments to be a rate', () => {
    expect(finding(AlertRule.PaymentFailureRate, { settledPayments: 19, failedPayments: 19 }).breached).toBe(false);
    expect(finding(AlertRule.PaymentFailureRate, { settledPayments: 20, failedPayments: 2 }).breached).toBe(true);
  });

  it('raises slow Daraja responses above the average threshold only when there were calls', () => {
    expect(finding(AlertRule.DarajaSlowResponses, { darajaAverageMs: 10_001 }).breached).toBe(true);
    expect(finding(AlertRule.DarajaSlowResponses, { darajaAverageMs: 10_000 }).breached).toBe(false);
    expect(finding(AlertRule.DarajaSlowResponses, { darajaCalls: 0, darajaAverageMs: null }).breached).toBe(false);
  });

  it('raises authentication failures and system errors strictly above their counts', () => {
    expect(finding(AlertRule.AuthenticationFailures, { authenticationFailures: 11 }).breached).toBe(true);
    expect(finding(AlertRule.AuthenticationFailures, { authenticationFailures: 10 }).breached).toBe(false);
    expect(finding(AlertRule.DarajaSystemErrors, { darajaSystemErrors: 4 }).breached).toBe(true);
    expect(finding(AlertRule.DarajaSystemErrors, { darajaSystemErrors: 3 }).breached).toBe(false);
  });

  it('raises callbacks stopped when accepted pushes wait and no callback arrived lately', () => {
    expect(finding(AlertRule.CallbacksStopped, { pushesAwaitingCallback: 3, recentStkCallbacks: 0 }).breached).toBe(true);
    // Callbacks still arriving: some pushes simply have not been answered by their customers.
    expect(finding(AlertRule.CallbacksStopped, { pushesAwaitingCallback: 30, recentStkCallbacks: 1 }).breached).toBe(false);
    // A quiet night: nothing pushed, nothing to call back.
    expect(finding(AlertRule.CallbacksStopped, { pushesAwaitingCallback: 0, recentStkCallbacks: 0 }).breached).toBe(false);
  });

  it('raises reviews waiting while any review is open past ALERT_REVIEW_OPEN_MINUTES', () => {
    expect(finding(AlertRule.ReviewsWaiting, { reviewsWaiting: 0 }).breached).toBe(false);
    const waiting = finding(AlertRule.ReviewsWaiting, { reviewsWaiting: 2 });
    expect(waiting.breached).toBe(true);
    expect(waiting.summary).toBe('2 review(s) have waited more than 30 min for a person: GET /api/reviews?status=open');
  });

  it('raises webhook_endpoint_disabled while an endpoint the service disabled stays disabled', () => {
    expect(finding(AlertRule.WebhookEndpointDisabled, { webhookEndpointsDisabled: 0 }).breached).toBe(false);
    expect(finding(AlertRule.WebhookEndpointDisabled, { webhookEndpointsDisabled: 1 })).toMatchObject({ breached: true, value: 1 });
  });

  it('raises reconciliation differences while any is unexplained, however young', () => {
    expect(finding(AlertRule.ReconciliationDifferences, { reconciliationDifferences: 0 }).breached).toBe(false);
    const open = finding(AlertRule.ReconciliationDifferences, { reconciliationDifferences: 3 });
    expect(open.breached).toBe(true);
    expect(open.summary).toBe(
      '3 difference(s) between M-Pesa and our records are unexplained: GET /api/reviews?status=open&entityType=reconciliation_item',
    );
  });

  it('says in the summary what crossed which threshold', () => {
    expect(finding(AlertRule.AuthenticationFailures, { authenticationFailures: 12 }).summary).toBe(
      '12 failed authentications in the last 60 min (> 10)',
    );
  });
});
