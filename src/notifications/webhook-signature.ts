import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-legalpro-signature';

const hmac = (secret: string, body: string, timestamp: number) => createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');

/**
 * Stripe-style: HMAC-SHA256 over `${timestamp}.${body}`, sent as `t=<unix seconds>,v1=<hex>`. With several secrets
 * (a rotation's overlap: the new one first, then the old) one `v1=` per secret: a receiver that knows either verifies.
 */
export function signWebhook(secrets: string | readonly string[], body: string, timestamp: number): string {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  return [`t=${timestamp}`, ...list.map((secret) => `v1=${hmac(secret, body, timestamp)}`)].join(',');
}

/**
 * What LegalPro's receiver does (docs/webhooks.md shows the same code): the timestamp within `toleranceSeconds` of
 * now, and any one `v1=` value equal to the HMAC under `secret`, compared in constant time.
 */
export function verifyWebhook(secret: string, body: string, header: string, toleranceSeconds = 300, now = Date.now()): boolean {
  let timestamp = NaN;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.split('=', 2).map((s) => s.trim());
    if (key === 't') timestamp = Number(value);
    else if (key === 'v1' && value) signatures.push(value);
  }
  if (!Number.isFinite(timestamp) || signatures.length === 0) return false;
  if (Math.abs(now / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(hmac(secret, body, timestamp), 'hex');
  return signatures.some((given) => {
    const candidate = Buffer.from(given, 'hex');
    return candidate.length === expected.length && timingSafeEqual(candidate, expected);
  });
}
