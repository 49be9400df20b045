// Inbound rate limits (src/rate-limit): per client, per IP, per phone for STK pushes (counted only once the request
// is valid), and failed authentications per IP; 429 with Retry-After in the API's error shape; Daraja callbacks,
// health, metrics and the simulator exempt.
// The shared app runs the defaults; the low limits run on an app of their own, behind a trusted proxy so that each
// test can call from IP addresses of its own (X-Forwarded-For) and none depends on another's counters.
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { api, ApiOptions, ApiResponse, closeDb, tokenFor, uniquePhone, waitFor } from '../support/app';
import { ExtraApp, startExtraApp } from '../support/extra-app';
import {
  newClient,
  paymentRowsOf,
  pushStk,
  simulatedPushesTo,
  stkPushBody,
  TestUser,
  waitForPaymentStatus,
  waitUntilSettled,
} from '../support/factories';

function expectRateLimited(res: ApiResponse, limit: string, message: RegExp): void {
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
  expect(res.body).toEqual({
    success: false,
    message: expect.stringMatching(message),
    code: 'RATE_LIMITED',
    details: { retryAfterSeconds: retryAfter, limit },
  });
  expect(res.body.message).toContain(`retry in ${retryAfter} s`);
}

describe('Inbound rate limits', () => {
  describe('with the default limits', () => {
    const clients: string[] = [];
    const client = (): TestUser => {
      const c = newClient();
      clients.push(c.id);
      return c;
    };

    afterAll(async () => {
      await waitUntilSettled(clients);
      await closeDb();
    });

    it('lets a burst of 100 concurrent requests from one client through', async () => {
      const { token } = client();

      const answers = await Promise.all(Array.from({ length: 100 }, () => api('/api/payments', { token, timeoutMs: 30_000 })));

      expect(answers.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.text}`)).toEqual([]);
      expect(answers[0].headers['x-ratelimit-limit-client']).toBe('3000');
    });

    it('refuses a 6th STK push to one phone within a minute, from any client, without storing it or calling Daraja', async () => {
      const first = client();
      const phone = uniquePhone();
      for (let i = 0; i < 5; i++) {
        const res = await pushStk(first.token, stkPushBody({ phoneNumber: phone }));
        expect(res.status).toBe(201);
        // One pending payment per phone is the service's rule: each push settles before the next.
        await waitForPaymentStatus(res.body.data.paymentId, 'completed');
      }

      // Another client, and the same number written the local way: still the same phone.
      const other = client();
      const refused = await pushStk(other.token, stkPushBody({ phoneNumber: `0${phone.slice(3)}` }));

      expectRateLimited(refused, 'stk-phone', /^Too many payment requests to this phone number/);
      expect(await paymentRowsOf(other.id)).toHaveLength(0);
      expect(await simulatedPushesTo(phone)).toHaveLength(5);

      // The limit is the phone's, not the client's: the first client still reaches another number.
      const another = uniquePhone();
      const res = await pushStk(first.token, stkPushBody({ phoneNumber: another }));
      expect(res.status).toBe(201);
      expect(await simulatedPushesTo(another)).toHaveLength(1);
    });

    it("answers 12 malformed pushes to one phone with 400, without using up that phone's pushes", async () => {
      // Otherwise anyone could keep a customer from being asked to pay by sending garbage with their number.
      const sender = client();
      const phone = uniquePhone();
      for (let i = 0; i < 12; i++) {
        const res = await pushStk(sender.token, stkPushBody({ phoneNumber: phone, amount: 0 }));
        expect([res.status, res.body.code, res.body.message]).toEqual([
          400,
          'VALIDATION_ERROR',
          expect.stringMatching(/amount must be at least 1/),
        ]);
      }
      expect(await paymentRowsOf(sender.id)).toHaveLength(0);
      expect(await simulatedPushesTo(phone)).toHaveLength(0);

      const payer = client();
      const res = await pushStk(payer.token, stkPushBody({ phoneNumber: phone }));

      expect(res.status).toBe(201);
      expect(await paymentRowsOf(payer.id)).toHaveLength(1);
      expect(await simulatedPushesTo(phone)).toHaveLength(1);
    });
  });

  describe('with low limits (an app of its own)', () => {
    let app: ExtraApp;
    let pool: Pool;
    const CLIENT_LIMIT = 5;
    const IP_LIMIT = 10;
    // Test IPs (RFC 5737) arrive through the trusted proxy 127.0.0.1; a request without the header is 127.0.0.1.
    let nextIp = 1;
    const freshIp = () => `198.51.100.${nextIp++}`;
    const call = (path: string, options: ApiOptions & { ip?: string } = {}) =>
      api(path, {
        ...options,
        baseUrl: app.url,
        headers: { ...options.headers, ...(options.ip ? { 'x-forwarded-for': options.ip } : {}) },
      });
    const list = (token: string | undefined, ip?: string) => call('/api/payments', { token, ip });
    const token = () => tokenFor({ sub: `client-${randomUUID()}`, role: 'client' });

    beforeAll(async () => {
      app = await startExtraApp(
        {
          RATE_LIMIT_CLIENT_PER_MINUTE: String(CLIENT_LIMIT),
          RATE_LIMIT_IP_PER_MINUTE: String(IP_LIMIT),
          RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '30',
          TRUSTED_PROXIES: '127.0.0.1',
          // The callback test needs the IP blocked before the simulator calls back, and the callback (not a
          // status query) to settle the payment.
          SIMULATOR_CALLBACK_DELAY_MS: '4000',
          STATUS_QUERY_MIN_AGE_MS: '60000',
        },
        'rate-limits',
      );
      pool = new Pool({ connectionString: app.databaseUrl, max: 2 });
    });

    afterAll(async () => {
      await pool?.end();
      await app?.stop();
    });

    it('answers a client over its limit with 429, Retry-After and the error body', async () => {
      const client = token();
      const ip = freshIp();
      for (let i = 0; i < CLIENT_LIMIT; i++) {
        const res = await list(client, ip);
        expect(res.status).toBe(200);
        expect(res.headers['x-ratelimit-remaining-client']).toBe(String(CLIENT_LIMIT - 1 - i));
      }

      expectRateLimited(await list(client, ip), 'client', /^Too many requests from this client/);
    });

    it('counts each client apart, and every client of an IP together', async () => {
      const [b, c, d] = [token(), token(), token()];
      const shared = freshIp();
      for (let i = 0; i < CLIENT_LIMIT; i++) expect((await list(b, shared)).status).toBe(200);
      expectRateLimited(await list(b, shared), 'client', /this client/);

      // Another client from the same IP has its own count, until the IP's is used up (b sent 6 of its 10).
      for (let i = 0; i < IP_LIMIT - CLIENT_LIMIT - 1; i++) expect((await list(c, shared)).status).toBe(200);
      expectRateLimited(await list(c, shared), 'ip', /^Too many requests from this IP address/);
      expectRateLimited(await list(d, shared), 'ip', /this IP address/);

      // The client limit follows the token to another IP; the new IP's other clients are not affected.
      const elsewhere = freshIp();
      expectRateLimited(await list(b, elsewhere), 'client', /this client/);
      expect((await list(d, elsewhere)).status).toBe(200);
    });

    it('refuses an IP after 30 failed authentications, even with a valid token, and no other IP', async () => {
      const ip = freshIp();
      const forged = tokenFor({ sub: 'someone', role: 'admin' }).slice(0, -2) + 'xx';
      for (let i = 0; i < 30; i++) {
        const res = await list(i % 2 ? forged : undefined, ip);
        expect(res.status).toBe(401);
      }

      expectRateLimited(await list(forged, ip), 'auth-failures', /^Too many failed authentications from this IP address/);
      // A right guess would otherwise stand out as the one answer that is not 429.
      expectRateLimited(await list(token(), ip), 'auth-failures', /failed authentications/);
      expect((await list(token(), freshIp())).status).toBe(200);
    });

    it('does not count expired tokens as failed authentications', async () => {
      const ip = freshIp();
      const expired = tokenFor({ sub: `client-${randomUUID()}`, role: 'client' }, { expiresIn: -60 });
      for (let i = 0; i < 35; i++) {
        const res = await list(expired, ip);
        expect(res.status).toBe(401);
        expect(res.body.message).toBe('Token expired');
      }

      expect((await list(token(), ip)).status).toBe(200);
    });

    it('accepts the Daraja callback, health, metrics and simulator calls from an IP over its limit', async () => {
      const phone = uniquePhone();
      const pushed = await call('/api/payments/stk-push', { token: token(), ip: freshIp(), body: stkPushBody({ phoneNumber: phone }) });
      expect(pushed.status).toBe(201);

      // Use up 127.0.0.1's requests (where the simulator's callback will come from), one client per request.
      let blocked: ApiResponse | undefined;
      for (let i = 0; i <= IP_LIMIT && !blocked; i++) {
        const res = await list(token());
        if (res.status === 429) blocked = res;
        else expect(res.status).toBe(200);
      }
      expect(blocked).toBeDefined();
      expectRateLimited(blocked!, 'ip', /this IP address/);
      const paymentId = pushed.body.data.paymentId;
      const row = async () => (await pool.query('SELECT * FROM payments WHERE id = $1', [paymentId])).rows[0];
      expect((await row()).status).toBe('pending');

      for (const path of ['/health/live', '/metrics', '/simulator/control/stats']) {
        expect([path, (await call(path)).status]).toEqual([path, 200]);
      }
      const settled = await waitFor(async () => ((await row()).status === 'completed' ? row() : undefined), {
        timeoutMs: 20_000,
        message: 'the simulator callback to complete the payment',
      });
      expect(settled).toMatchObject({ callback_received: true, settled_by: 'callback' });
      // 127.0.0.1 was refused all along: the callback got through a block, not after it.
      expectRateLimited(await list(token()), 'ip', /this IP address/);
    });
  });
});
