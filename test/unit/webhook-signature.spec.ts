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
});
