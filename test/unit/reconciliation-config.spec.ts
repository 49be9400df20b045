import { buildConfig } from '../../src/config/configuration';
import { ConfigValidationError, validateEnv } from '../../src/config/env.validation';
import { kenyaDayBounds, kenyaDayOf, parseStatementTime, previousKenyaDay } from '../../src/reconciliation/kenya-time';
import { buildReconciliationSettings } from '../../src/reconciliation/reconciliation.config';

const simulator = buildConfig(validateEnv({ MPESA_ENVIRONMENT: 'simulator', PORT: '3000' }));
const sandbox = buildConfig(
  validateEnv({
    MPESA_ENVIRONMENT: 'sandbox',
    MPESA_CONSUMER_KEY: 'k',
    MPESA_CONSUMER_SECRET: 's',
    MPESA_STK_CALLBACK_URL: 'https://pay.example.com/api/payments/mpesa/stk-callback',
  }),
);

function problems(env: Record<string, string>): string[] {
  try {
    buildReconciliationSettings(env, sandbox);
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.problems;
    throw error;
  }
  return [];
}

describe('buildReconciliationSettings', () => {
  it('defaults: Pull on, hourly over the last 2 hours, 50 pages, yesterday reconciled at 01:15 Kenya time', () => {
    const s = buildReconciliationSettings({}, sandbox);
    expect(s).toMatchObject({
      pullEnabled: true,
      shortCode: '174379',
      intervalMs: 3_600_000,
      windowMs: 7_200_000,
      maxPages: 50,
      dailyCron: '15 1 * * *',
      paymentsShortCode: '174379',
      payoutsShortCode: '174379',
      warnings: [],
    });
    // Outside the simulator, registration needs the operator's own values.
    expect(s.nominatedNumber).toBeUndefined();
    expect(s.callbackUrl).toBeUndefined();
  });

  it('gives the simulator a nominated number and callback URL, and accepts decimal minutes (tests)', () => {
    const s = buildReconciliationSettings({ PULL_INTERVAL_MINUTES: '0.05', PULL_WINDOW_MINUTES: '0.5', PULL_ENABLED: 'false' }, simulator);
    expect(s).toMatchObject({
      pullEnabled: false,
      intervalMs: 3_000,
      windowMs: 30_000,
      nominatedNumber: '254722000000',
      callbackUrl: 'http://127.0.0.1:3000/api/mpesa/pull/callback',
    });
  });

  it('normalises the nominated number and refuses a shortcode in its place', () => {
    expect(buildReconciliationSettings({ PULL_NOMINATED_NUMBER: '0722000000' }, sandbox).nominatedNumber).toBe('254722000000');
    expect(problems({ PULL_NOMINATED_NUMBER: '600000' })).toEqual([
      'PULL_NOMINATED_NUMBER: must be a Safaricom number (2547XXXXXXXX), not the shortcode',
    ]);
  });

  it('refuses a window shorter than the interval, and anything beyond Pull’s 48 hours', () => {
    expect(problems({ PULL_INTERVAL_MINUTES: '60', PULL_WINDOW_MINUTES: '30' })).toEqual([
      'PULL_WINDOW_MINUTES: must be at least PULL_INTERVAL_MINUTES (60), or transactions between two windows are never pulled',
    ]);
    expect(problems({ PULL_WINDOW_MINUTES: '3000' })[0]).toMatch(/^PULL_WINDOW_MINUTES: .*2880/);
    expect(problems({ PULL_SHORTCODE: 'abc', RECONCILIATION_DAILY_CRON: 'daily' })).toHaveLength(2);
    expect(buildReconciliationSettings({ PULL_WINDOW_MINUTES: '90' }, sandbox).warnings[0]).toMatch(
      /less than twice PULL_INTERVAL_MINUTES/,
    );
  });

  it('counts an empty variable as unset', () => {
    expect(buildReconciliationSettings({ PULL_INTERVAL_MINUTES: ' ', PULL_SHORTCODE: '' }, sandbox)).toMatchObject({
      intervalMs: 3_600_000,
      shortCode: '174379',
    });
  });
});

describe('Kenya days', () => {
  it('cuts days at midnight in Nairobi (UTC+3)', () => {
    expect(kenyaDayBounds('2026-12-04')).toEqual({ start: new Date('2026-12-03T21:00:00Z'), end: new Date('2026-12-04T21:00:00Z') });
    expect(kenyaDayOf(new Date('2026-12-04T21:30:00Z'))).toBe('2026-12-05');
    expect(previousKenyaDay(new Date('2026-12-04T22:15:00Z'))).toBe('2026-12-04');
    expect(kenyaDayBounds('2026-02-30')).toBeUndefined();
  });

  it.each([
    ['04-12-2026 17:45:30', '2026-12-04T14:45:30Z'],
    ['04/12/2026 17:45:30', '2026-12-04T14:45:30Z'],
    ['4/12/2026 5:45 PM', '2026-12-04T14:45:00Z'],
    ['2026-12-04 17:45:30', '2026-12-04T14:45:30Z'],
    ['46360.7399305556', '2026-12-04T14:45:30Z'],
    ['04-12-2026', '2026-12-03T21:00:00Z'],
  ])('reads the statement time %p day first, as Kenya time', (text, iso) => {
    expect(parseStatementTime(text)?.toISOString()).toBe(new Date(iso).toISOString());
  });

  it.each(['31/02/2026 10:00:00', '12/31/2026 10:00', '13:00 PM', 'yesterday', ''])('refuses %p', (text) => {
    expect(parseStatementTime(text)).toBeUndefined();
  });
});
