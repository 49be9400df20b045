import { buildConfig } from '../../src/config/configuration';
import { ConfigValidationError, validateEnv } from '../../src/config/env.validation';
import { maskEmail, maskEmailsInText } from '../../src/notifications/channels/delivery-error';
import { planClientNotifications } from '../../src/notifications/client-notifications';
import { failureReason, formatKenyaTime, renderEmail, renderSms, SMS_SEGMENT } from '../../src/notifications/client-templates';

const received = { amount: 250_000, currency: 'KES', receipt: 'TKQ4ZB1XYZ', reference: 'CASE-2291', paidAt: '2026-11-26T21:05:00Z' };

describe('client message templates', () => {
  it('writes dates in Kenya time whatever the server runs in', () => {
    expect(formatKenyaTime('2026-11-26T21:05:00Z')).toBe('27 Nov 2026 00:05 EAT');
  });

  it('keeps the payment-received SMS to one segment even with the longest name, dropping the greeting first', () => {
    const long = renderSms('payment.received', received, 'Bartholomew-Maximilian Wanjiru-Kamau Otieno');
    expect(long.length).toBeLessThanOrEqual(SMS_SEGMENT);
    expect(long).toContain('TKQ4ZB1XYZ');
    expect(long).toContain('KES 250,000');
    expect(renderSms('payment.received', received, 'Wanjiru Kamau')).toMatch(
      /^Wanjiru, we received KES 250,000, M-Pesa receipt TKQ4ZB1XYZ, ref CASE-2291, 27 Nov 2026 00:05 EAT\./,
    );
  });

  it.each([
    ['1032', 'cancelled', 'the M-Pesa request was cancelled on your phone'],
    ['1', 'failed', 'your M-Pesa balance was not enough'],
    ['1037', 'timeout', 'the M-Pesa request timed out before it was answered'],
    [null, 'timeout', 'the M-Pesa request timed out before it was answered'],
    ['2001', 'failed', 'the M-Pesa PIN entered was wrong'],
    ['SFC_IC0003', 'failed', 'M-Pesa could not complete it'],
  ])('explains ResultCode %s (%s) as "%s"', (code, status, reason) => {
    expect(failureReason(code, status)).toBe(reason);
  });

  it('escapes the name in the email HTML but not in its text', () => {
    const email = renderEmail(
      'refund.sent',
      { amount: 400, currency: 'KES', receipt: 'UAB12CD34E', reference: 'CASE-1', sentAt: '2026-11-26T08:00:00Z' },
      `O'Neil <script>alert(1)</script>`,
    );
    expect(email.html).toContain('Dear O&#39;Neil &lt;script&gt;alert(1)&lt;/script&gt;,');
    expect(email.html).not.toContain('<script>');
    expect(email.text).toContain(`Dear O'Neil <script>alert(1)</script>,`);
    expect(email.subject).toBe('Refund sent: KES 400');
  });

  it('masks email addresses in provider messages', () => {
    expect(maskEmail('wanjiru@example.com')).toBe('w***@example.com');
    expect(maskEmailsInText('550 5.1.1 <wanjiru@example.com>: Recipient address rejected')).toBe(
      '550 5.1.1 <w***@example.com>: Recipient address rejected',
    );
  });
});

describe('client outbox rows', () => {
  const all = ['payment.received', 'payment.failed', 'refund.sent'] as const;

  it('writes an email row only when the client gave an address, and an SMS row always', () => {
    expect(planClientNotifications({ clientEvents: all }, 'payment.received', true).map((r) => [r.channel, r.status])).toEqual([
      ['email', 'pending'],
      ['sms', 'pending'],
    ]);
    expect(planClientNotifications({ clientEvents: all }, 'payment.received', false).map((r) => r.channel)).toEqual(['sms']);
  });

  it('records a channel that is not configured as skipped, with the reason', () => {
    const rows = planClientNotifications({ clientEvents: all, smsOff: 'SMS_GATEWAY_URL is not configured' }, 'payment.failed', true);
    expect(rows).toEqual([
      { channel: 'email', event: 'payment.failed', status: 'pending', last_error: null },
      { channel: 'sms', event: 'payment.failed', status: 'skipped', last_error: 'SMS_GATEWAY_URL is not configured' },
    ]);
  });

  it('writes nothing for an event CLIENT_NOTIFICATION_EVENTS leaves out', () => {
    expect(planClientNotifications({ clientEvents: ['payment.received'] }, 'refund.sent', true)).toEqual([]);
  });
});

describe('client notification settings', () => {
  const load = (env: Record<string, string>) => buildConfig(validateEnv(env));
  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      load(env);
      return [];
    } catch (e) {
      return (e as ConfigValidationError).problems;
    }
  };

  it('leaves both channels off by default and notifies every client event', () => {
    const { notifications } = load({});
    expect(notifications.email).toBeUndefined();
    expect(notifications.sms).toBeUndefined();
    expect(notifications.clientEvents).toEqual(['payment.received', 'payment.failed', 'refund.sent']);
  });

  it('reads SMTP from a URL or from host and port, and the SMS gateway with its key', () => {
    expect(load({ SMTP_URL: 'smtp://u:p@mail.example.com:587' }).notifications.email?.transport).toBe('smtp://u:p@mail.example.com:587');
    expect(
      load({ SMTP_HOST: 'mail.example.com', SMTP_PORT: '465', SMTP_USER: 'u', SMTP_PASSWORD: 'p' }).notifications.email?.transport,
    ).toEqual({
      host: 'mail.example.com',
      port: 465,
      secure: true,
      auth: { user: 'u', pass: 'p' },
    });
    expect(load({ SMS_GATEWAY_URL: 'http://127.0.0.1:9000/sms', SMS_GATEWAY_API_KEY: 'k' }).notifications.sms).toMatchObject({
      senderId: 'LegalPro',
      apiKey: 'k',
    });
    expect(load({ CLIENT_NOTIFICATION_EVENTS: 'none' }).notifications.clientEvents).toEqual([]);
  });

  it('names what is wrong', () => {
    expect(problemsOf({ SMTP_URL: 'http://mail.example.com' })).toEqual([
      expect.stringMatching(/^SMTP_URL: must be an smtp:\/\/ or smtps:\/\/ URL/),
    ]);
    expect(problemsOf({ SMS_GATEWAY_URL: 'https://sms.example.com' })).toEqual([
      'SMS_GATEWAY_API_KEY: is required when SMS_GATEWAY_URL is set',
    ]);
    expect(problemsOf({ CLIENT_NOTIFICATION_EVENTS: 'payment.received,payment.lost' })).toEqual([
      'CLIENT_NOTIFICATION_EVENTS: unknown event(s) payment.lost; use payment.received, payment.failed, refund.sent or none',
    ]);
  });

  it('refuses a plain http:// SMS gateway, and SMTP without SMTP_FROM, in production', () => {
    const problems = problemsOf({
      NODE_ENV: 'production',
      SMS_GATEWAY_URL: 'http://sms.example.com/send',
      SMS_GATEWAY_API_KEY: 'k',
      SMTP_URL: 'smtp://mail.example.com:587',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'SMS_GATEWAY_URL: must use https:// in production',
        'SMTP_FROM: is required in production when SMTP_URL or SMTP_HOST is set',
      ]),
    );
  });
});
