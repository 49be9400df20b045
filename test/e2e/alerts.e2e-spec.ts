// Alerts for teams without Prometheus: the spec's thresholds measured from Postgres by a scheduled job, announced
// once when an episode opens and once when it closes. An app of its own with a short window and low thresholds.
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { api, ApiOptions, tokenFor, waitFor } from '../support/app';
import { ExtraApp, startExtraApp } from '../support/extra-app';
import { SCENARIO_PHONES, sleep, stkPushBody } from '../support/factories';
import { SmtpSink } from '../support/smtp-sink';
import { WebhookReceiver } from '../support/webhook-receiver';

const WINDOW_SECONDS = 12;

describe('Alerts evaluated from the database', () => {
  let app: ExtraApp;
  let pool: Pool;
  let hooks: WebhookReceiver;
  let mail: SmtpSink;
  const admin = tokenFor({ sub: `admin-${randomUUID()}`, role: 'admin' });
  const client = tokenFor({ sub: `client-${randomUUID()}`, role: 'client' });
  const call = (path: string, options: ApiOptions = {}) => api(path, { ...options, baseUrl: app.url });
  const alertHooks = (event: string, rule: string) => hooks.received.filter((h) => h.body?.event === event && h.body?.data?.rule === rule);
  const episodes = async (rule: string) =>
    (await pool.query(`SELECT * FROM alert_episodes WHERE rule = $1 ORDER BY opened_at`, [rule])).rows;

  beforeAll(async () => {
    mail = await SmtpSink.start({ user: 'mailer', pass: 'mailer-pass' });
    app = await startExtraApp(
      {
        SMTP_URL: `smtp://mailer:mailer-pass@127.0.0.1:${mail.port}`,
        ALERT_EMAIL_TO: 'ops@legalpro.example, oncall@legalpro.example',
        ALERTS_ENABLED: 'true',
        ALERT_EVALUATION_INTERVAL_MS: '1000',
        ALERT_WINDOW_SECONDS: String(WINDOW_SECONDS),
        ALERT_AUTH_FAILURES: '3',
        ALERT_SYSTEM_ERRORS: '2',
        ALERT_FAILURE_RATE_MIN_PAYMENTS: '2',
        ALERT_CALLBACK_SILENCE_SECONDS: '10',
        ALERT_CALLBACK_SILENCE_MIN_PUSHES: '1',
        // Any open review is "waiting" at once, so the rule can be seen within a test.
        ALERT_REVIEW_OPEN_MINUTES: '0',
      },
      'alerts',
    );
    pool = new Pool({ connectionString: app.databaseUrl, max: 2 });
    hooks = await WebhookReceiver.start(Number(new URL(app.env.WEBHOOK_URL).port));
  });

  afterAll(async () => {
    await hooks?.stop();
    await mail?.stop();
    await pool?.end();
    await app?.stop();
  });

  it('raises authentication failures once per episode, and announces when the episode ends', async () => {
    for (let i = 0; i < 4; i++) expect((await call('/api/payments', { token: 'not-a-jwt' })).status).toBe(401);

    const raised = await hooks.waitFor((h) => h.body?.event === 'alert.raised' && h.body?.data?.rule === 'authentication_failures');
    expect(raised.body.data).toMatchObject({ status: 'firing', value: 4, threshold: 3, windowSeconds: WINDOW_SECONDS });
    expect(raised.body.data.summary).toContain('4 failed authentications');

    // Several more evaluations while still above the threshold: no second announcement, one open episode.
    await sleep(3_500);
    expect(alertHooks('alert.raised', 'authentication_failures')).toHaveLength(1);
    const open = await episodes('authentication_failures');
    expect(open).toHaveLength(1);
    expect(open[0].resolved_at).toBeNull();
    expect(new Date(open[0].last_evaluated_at).getTime()).toBeGreaterThan(new Date(open[0].opened_at).getTime());

    // The failures age out of the window: the episode closes, announced once.
    const resolved = await hooks.waitFor(
      (h) => h.body?.event === 'alert.resolved' && h.body?.data?.rule === 'authentication_failures',
      30_000,
    );
    expect(resolved.body.data).toMatchObject({ status: 'resolved', episodeId: raised.body.data.episodeId });
    await sleep(2_000);
    expect(alertHooks('alert.resolved', 'authentication_failures')).toHaveLength(1);
    const closed = await episodes('authentication_failures');
    expect(closed).toHaveLength(1);
    expect(closed[0].resolved_at).not.toBeNull();
    // The operators got the same two announcements by email, to every ALERT_EMAIL_TO address.
    const emails = await waitFor(() => {
      const sent = mail.received.filter((m) => m.subject.includes('authentication_failures'));
      return sent.length >= 2 && sent;
    });
    expect(emails.map((m) => m.subject).sort()).toEqual([
      '[LegalPro payments] ALERT: authentication_failures',
      '[LegalPro payments] Resolved: authentication_failures',
    ]);
    expect(emails[0].to.sort()).toEqual(['oncall@legalpro.example', 'ops@legalpro.example']);
    expect(emails.find((m) => m.subject.includes('ALERT'))!.text).toContain('4 failed authentications');
    const audit = await pool.query(`SELECT action FROM audit_events WHERE entity_type = 'alert' AND entity_id = $1 ORDER BY id`, [
      closed[0].id,
    ]);
    expect(audit.rows.map((r) => r.action)).toEqual(['alert.raised', 'alert.resolved']);
  }, 60_000);

  it('raises the payment failure rate, and callbacks that stop arriving', async () => {
    const push = (phone: string) => call('/api/payments/stk-push', { token: client, body: stkPushBody({ phoneNumber: phone }) });
    expect((await push(SCENARIO_PHONES.success)).status).toBe(201);
    expect((await push(SCENARIO_PHONES.insufficientFunds)).status).toBe(201);

    const failureRate = await hooks.waitFor((h) => h.body?.event === 'alert.raised' && h.body?.data?.rule === 'payment_failure_rate');
    expect(failureRate.body.data).toMatchObject({ value: 50, threshold: 5 });
    expect(failureRate.body.data.summary).toContain('1 of 2 payments failed, timed out or expired');

    // Accepted, but its callback never comes (only the status query settles it).
    expect((await push(SCENARIO_PHONES.noCallback)).status).toBe(201);
    const stopped = await hooks.waitFor((h) => h.body?.event === 'alert.raised' && h.body?.data?.rule === 'callbacks_stopped', 30_000);
    expect(stopped.body.data.summary).toContain('1 accepted pushes are waiting for their callback');
  }, 60_000);

  it('raises Daraja system errors (5xx answers)', async () => {
    // "System is busy" is a documented "not processed" (HTTP 500): each one is sent again, so three of them in a row.
    await call('/simulator/control/faults', { method: 'POST', body: { endpoint: 'stkpush', kind: 'system_busy', count: 3 } });
    const res = await call('/api/payments/stk-push', { token: client, body: stkPushBody() });
    expect(res.status).toBe(202);
    const raised = await hooks.waitFor((h) => h.body?.event === 'alert.raised' && h.body?.data?.rule === 'daraja_system_errors', 30_000);
    expect(raised.body.data.value).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('raises reviews waiting for a person, and resolves the episode once the review is decided', async () => {
    // The same client pays twice for one appointment: the second completed payment opens possible_double_payment.
    const appointmentId = `appt-${randomUUID()}`;
    for (let i = 0; i < 2; i++) {
      const res = await call('/api/payments/stk-push', { token: client, body: stkPushBody({ appointmentId }) });
      expect(res.status).toBe(201);
    }
    const opened = await hooks.waitFor((h) => h.body?.event === 'review.opened' && h.body?.data?.reason === 'possible_double_payment');
    const raised = await hooks.waitFor((h) => h.body?.event === 'alert.raised' && h.body?.data?.rule === 'reviews_waiting', 30_000);
    expect(raised.body.data).toMatchObject({ value: 1, threshold: 0 });
    expect(raised.body.data.summary).toContain('1 review(s) have waited more than 0 min for a person');

    const decided = await call(`/api/reviews/${opened.body.data.reviewId}/resolve`, {
      method: 'POST',
      token: admin,
      body: { resolution: 'dismiss', note: 'Two sessions were booked under one appointment' },
    });
    expect(decided.status).toBe(200);
    const resolved = await hooks.waitFor((h) => h.body?.event === 'alert.resolved' && h.body?.data?.rule === 'reviews_waiting', 30_000);
    expect(resolved.body.data.episodeId).toBe(raised.body.data.episodeId);
  }, 60_000);

  it('lists episodes to admins only', async () => {
    expect((await call('/api/alerts', { token: client })).status).toBe(403);
    const all = await call('/api/alerts', { token: admin });
    expect(all.status).toBe(200);
    const rules = all.body.data.map((e: { rule: string }) => e.rule);
    expect(rules).toEqual(
      expect.arrayContaining(['authentication_failures', 'payment_failure_rate', 'callbacks_stopped', 'daraja_system_errors']),
    );
    // Earlier episodes may have closed as their events left the 12 s window; the last one is still open.
    const open = await call('/api/alerts', { token: admin, query: { open: true } });
    expect(open.body.data.map((e: { rule: string }) => e.rule)).toContain('daraja_system_errors');
    expect(open.body.data.every((e: { resolvedAt: string | null }) => e.resolvedAt === null)).toBe(true);
    expect((await call('/api/alerts', { token: admin, query: { limit: 0 } })).status).toBe(400);

    const now = await call('/api/alerts/evaluate', { token: admin, method: 'POST' });
    expect(now.status).toBe(200);
    expect(now.body.data.findings.map((f: { rule: string }) => f.rule).sort()).toEqual([
      'authentication_failures',
      'callbacks_stopped',
      'daraja_slow_responses',
      'daraja_system_errors',
      'payment_failure_rate',
      'reconciliation_differences',
      'reviews_waiting',
      'webhook_endpoint_disabled',
    ]);
  });
});
