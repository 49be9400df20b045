import { createHmac } from 'node:crypto';
import { signWebhook, verifyWebhook } from '../../src/notifications/webhook-signature';

describe('webhook signature', () => {
  const secret = 'whsec-test-secret';
  const body = '{"event":"payment.completed"}';

  it('signs timestamp.body with HMAC-SHA256 as t=,v1=', () => {
    expect(signWebhook(secret, body, 1700000000)).toBe(
      't=1700000000,v1=' + createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex'),
    );
  });

  it('verifies its own signature and rejects a changed body or an old timestamp', () => {
    const now = 1_700_000_000_000;
    const header = signWebhook(secret, body, now / 1000);
    expect(verifyWebhook(secret, body, header, 300, now)).toBe(true);
    expect(verifyWebhook(secret, body + ' ', header, 300, now)).toBe(false);
    expect(verifyWebhook(secret, body, header, 300, now + 301_000)).toBe(false);
  });

  it('signs with every secret given, one v1= each, and verifies with either', () => {
    const now = 1_700_000_000_000;
    const header = signWebhook(['whsec-new-secret', secret], body, now / 1000);
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect(verifyWebhook('whsec-new-secret', body, header, 300, now)).toBe(true);
    expect(verifyWebhook(secret, body, header, 300, now)).toBe(true);
    expect(verifyWebhook('whsec-other', body, header, 300, now)).toBe(false);
  });

  it('refuses a header without a timestamp or a v1 value', () => {
    const now = 1_700_000_000_000;
    const v1 = signWebhook(secret, body, now / 1000).split(',')[1];
    expect(verifyWebhook(secret, body, v1, 300, now)).toBe(false);
    expect(verifyWebhook(secret, body, 't=1700000000', 300, now)).toBe(false);
    expect(verifyWebhook(secret, body, 't=1700000000,v1=abc', 300, now)).toBe(false);
  });
});
