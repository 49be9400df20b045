// In production an endpoint's URL must be https and reach only public addresses (LegalPro's admins name URLs at
// run time: none may point into our network). An app of its own with WEBHOOK_URL_POLICY=public_https, the policy
// production always has (test/unit/webhook-url-policy.spec.ts covers the addresses, names and the production switch).
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { api, ApiOptions, tokenFor } from '../support/app';
import { ExtraApp, startExtraApp } from '../support/extra-app';

describe('Webhook endpoint URLs under the production policy', () => {
  let app: ExtraApp;
  let pool: Pool;
  const admin = tokenFor({ sub: `admin-${randomUUID()}`, role: 'admin' });
  const call = (path: string, options: ApiOptions = {}) => api(path, { token: admin, ...options, baseUrl: app.url });
  const count = async () => (await pool.query('SELECT count(*)::int AS n FROM webhook_endpoints')).rows[0].n;

  beforeAll(async () => {
    app = await startExtraApp({ WEBHOOK_URL_POLICY: 'public_https' }, 'webhook-url-policy');
    pool = new Pool({ connectionString: app.databaseUrl, max: 2 });
  });

  afterAll(async () => {
    await pool?.end();
    await app?.stop();
  });

  it.each([
    ['http://hooks.legalpro.example/payments', 'must use https:// in production'],
    ['https://127.0.0.1/payments', 'resolves to 127.0.0.1'],
    ['https://localhost:8443/payments', 'a private, loopback or reserved address'],
    ['https://10.20.30.40/payments', 'resolves to 10.20.30.40'],
    ['https://192.168.1.1/payments', 'resolves to 192.168.1.1'],
    ['https://169.254.169.254/latest/meta-data', 'resolves to 169.254.169.254'],
    ['https://[::1]/payments', 'resolves to ::1'],
  ])('refuses %s with a 400, and writes nothing', async (url, why) => {
    const res = await call('/api/webhook-endpoints', { method: 'POST', body: { url, events: ['payment.*'] } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, code: 'VALIDATION_ERROR' });
    expect(res.body.message).toContain(why);
    expect(await count()).toBe(0);
  });

  it('refuses the same URLs when an endpoint is changed (checked before anything is read or written)', async () => {
    const res = await call('/api/webhook-endpoints/00000000-0000-4000-8000-000000000000', {
      method: 'PATCH',
      body: { url: 'https://127.0.0.1/payments' },
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('resolves to 127.0.0.1');
  });
});
