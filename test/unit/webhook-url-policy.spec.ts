import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { Agent, fetch } from 'undici';
import { buildConfig } from '../../src/config/configuration';
import { validateEnv } from '../../src/config/env.validation';
import { isPublicAddress, publicOnlyLookup, webhookUrlRefusal } from '../../src/notifications/webhooks/webhook-url-policy';
import { eventMatches, unknownEventPatterns } from '../../src/notifications/webhooks/webhook-events';
import { nextAttemptAt } from '../../src/notifications/webhooks/webhook-retry';

/** A resolver that answers from a table, so no test depends on the machine's DNS. */
const resolver = (table: Record<string, string[]>) => async (host: string) => {
  const found = table[host];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return found;
};

describe('webhook URL policy', () => {
  describe('public_https (production)', () => {
    const resolve = resolver({
      'hooks.legalpro.example': ['93.184.216.34'],
      'internal.legalpro.example': ['10.1.2.3'],
      'split.legalpro.example': ['93.184.216.34', '192.168.1.10'],
      'six.legalpro.example': ['2606:2800:220:1:248:1893:25c8:1946'],
      localhost: ['127.0.0.1', '::1'],
    });

    it('accepts https to a name that resolves only to public addresses', async () => {
      expect(await webhookUrlRefusal('https://hooks.legalpro.example/webhooks', 'public_https', resolve)).toBeNull();
      expect(await webhookUrlRefusal('https://six.legalpro.example/webhooks', 'public_https', resolve)).toBeNull();
    });

    it('refuses http', async () => {
      expect(await webhookUrlRefusal('http://hooks.legalpro.example/webhooks', 'public_https', resolve)).toBe(
        'must use https:// in production',
      );
    });

    it.each([
      ['https://127.0.0.1/hooks', '127.0.0.1'],
      ['https://localhost:8443/hooks', '127.0.0.1'],
      ['https://10.0.0.5/hooks', '10.0.0.5'],
      ['https://172.20.1.1/hooks', '172.20.1.1'],
      ['https://192.168.0.1/hooks', '192.168.0.1'],
      ['https://169.254.169.254/latest/meta-data', '169.254.169.254'],
      ['https://100.64.0.1/hooks', '100.64.0.1'],
      ['https://0.0.0.0/hooks', '0.0.0.0'],
      ['https://[::1]/hooks', '::1'],
      ['https://[fd00::1]/hooks', 'fd00::1'],
      ['https://[fe80::1]/hooks', 'fe80::1'],
      ['https://[::ffff:127.0.0.1]/hooks', '::ffff:7f00:1'],
      ['https://internal.legalpro.example/hooks', '10.1.2.3'],
    ])('refuses %s (a private, loopback or reserved address)', async (url, address) => {
      expect(await webhookUrlRefusal(url, 'public_https', resolve)).toContain(`resolves to ${address}`);
    });

    it('refuses a name when any one of its addresses is private', async () => {
      expect(await webhookUrlRefusal('https://split.legalpro.example/', 'public_https', resolve)).toContain('192.168.1.10');
    });

    it('refuses a name that does not resolve', async () => {
      expect(await webhookUrlRefusal('https://nowhere.legalpro.example/', 'public_https', resolve)).toContain(
        'does not resolve (ENOTFOUND)',
      );
    });
  });

  describe('any (development, tests)', () => {
    it('accepts http to loopback', async () => {
      expect(await webhookUrlRefusal('http://127.0.0.1:4000/hooks', 'any')).toBeNull();
    });
  });

  it.each(['public_https', 'any'] as const)('refuses other schemes and credentials in the URL (%s)', async (policy) => {
    expect(await webhookUrlRefusal('ftp://hooks.legalpro.example/', policy)).toBe('must be an http(s) URL');
    expect(await webhookUrlRefusal('https://user:pass@hooks.legalpro.example/', policy)).toBe('must not carry a user name or password');
    expect(await webhookUrlRefusal('not a url', policy)).toBe('is not a URL');
  });

  it('tells public addresses from the others', () => {
    expect(isPublicAddress('8.8.8.8')).toBe(true);
    expect(isPublicAddress('2001:4860:4860::8888')).toBe(true);
    expect(isPublicAddress('::ffff:8.8.8.8')).toBe(true);
    expect(isPublicAddress('::ffff:10.0.0.1')).toBe(false);
    expect(isPublicAddress('224.0.0.1')).toBe(false);
    expect(isPublicAddress('not-an-ip')).toBe(false);
  });
});

describe('webhook event patterns', () => {
  it('matches every event, a family, or one event', () => {
    expect(eventMatches('*', 'bill.paid')).toBe(true);
    expect(eventMatches('payment.*', 'payment.completed')).toBe(true);
    expect(eventMatches('payment.*', 'payout.completed')).toBe(false);
    expect(eventMatches('bill.paid', 'bill.paid')).toBe(true);
    expect(eventMatches('bill.paid', 'bill.partially_paid')).toBe(false);
  });

  it('names the patterns that are malformed or match no event the service sends', () => {
    expect(unknownEventPatterns(['payment.*', 'bill.paid', '*', 'refund.completed'])).toEqual([]);
    expect(unknownEventPatterns(['payments.*', 'bill.payed', 'payment', 'payment.**', ''])).toEqual([
      'payments.*',
      'bill.payed',
      'payment',
      'payment.**',
      '',
    ]);
  });
});

describe('webhook retry schedule', () => {
  const defaults = { webhookRetryScheduleMs: [60_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000], webhookMaxAttempts: 13 };
  const hour = 3_600_000;

  it('backs off 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, then 10 h until the thirteenth attempt, about three days in all', () => {
    const delays: number[] = [];
    for (let attempt = 1; ; attempt++) {
      const next = nextAttemptAt(attempt, defaults, 0);
      if (!next) break;
      delays.push(next.getTime());
    }
    expect(delays.slice(0, 7)).toEqual([60_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(delays).toHaveLength(12);
    const total = delays.reduce((a, b) => a + b, 0);
    expect(total / hour).toBeGreaterThan(72);
    expect(total / hour).toBeLessThan(80);
  });
});

describe('webhook settings', () => {
  const load = (env: Record<string, string>) => buildConfig(validateEnv(env));
  /** A start NODE_ENV=production accepts (as in config.spec.ts). */
  const production = {
    NODE_ENV: 'production',
    MPESA_ENVIRONMENT: 'sandbox',
    MPESA_CONSUMER_KEY: 'k',
    MPESA_CONSUMER_SECRET: 's',
    MPESA_STK_CALLBACK_URL: 'https://pay.example.com/api/payments/daraja/stk-callback',
    JWT_SECRET: 'j'.repeat(32),
    DATA_ENCRYPTION_KEY: 'ab'.repeat(32),
    MPESA_CALLBACK_SECRET: 'c'.repeat(32),
    MPESA_CALLBACK_ALLOWED_IPS: '196.201.214.200',
    METRICS_TOKEN: 'm'.repeat(16),
  };

  it('checks endpoint URLs in production, and cannot be told not to', () => {
    expect(load(production).notifications.webhookUrlPolicy).toBe('public_https');
    expect(() => load({ ...production, WEBHOOK_URL_POLICY: 'any' })).toThrow(/WEBHOOK_URL_POLICY: must be public_https in production/);
  });

  it('defaults to a three-day schedule, a day of rotation overlap and disabling after 72 h', () => {
    const n = load({}).notifications;
    expect(n.webhookUrlPolicy).toBe('any');
    expect(n.webhookRetryScheduleMs).toEqual([60_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000]);
    expect(n.webhookMaxAttempts).toBe(13);
    expect(n.webhookRotationOverlapMs).toBe(24 * 3_600_000);
    expect(n.webhookDisableAfterMs).toBe(72 * 3_600_000);
  });

  it('takes a schedule and fractions of hours (tests run in seconds)', () => {
    const n = load({
      WEBHOOK_RETRY_SCHEDULE_MS: '1000, 2000',
      WEBHOOK_ROTATION_OVERLAP_HOURS: '0.5',
      WEBHOOK_DISABLE_AFTER_HOURS: '0.01',
    }).notifications;
    expect(n.webhookRetryScheduleMs).toEqual([1000, 2000]);
    expect(n.webhookRotationOverlapMs).toBe(1_800_000);
    expect(n.webhookDisableAfterMs).toBe(36_000);
    expect(() => load({ WEBHOOK_RETRY_SCHEDULE_MS: '1m,5m' })).toThrow(/WEBHOOK_RETRY_SCHEDULE_MS/);
  });
});

describe('publicOnlyLookup (the socket-level check of checked endpoints)', () => {
  it('refuses, as a connection error, a name that resolves to loopback, and nothing reaches the server', async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests += 1;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const agent = new Agent({ connect: { lookup: publicOnlyLookup } });
    try {
      const error = await fetch(`http://localhost:${port}/hook`, { method: 'POST', body: '{}', dispatcher: agent }).catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('EADDRNOTPUBLIC');
      expect(((error as Error).cause as Error).message).toMatch(
        /host localhost resolves to (127\.0\.0\.1|::1), a private, loopback or reserved address/,
      );
      expect(requests).toBe(0);
      // The same server through an unchecked agent answers: the refusal came from the lookup, not the server.
      const plain = new Agent();
      expect((await fetch(`http://127.0.0.1:${port}/hook`, { method: 'POST', body: '{}', dispatcher: plain })).status).toBe(200);
      await plain.close();
      expect(requests).toBe(1);
    } finally {
      await agent.close();
      server.close();
    }
  });
});
