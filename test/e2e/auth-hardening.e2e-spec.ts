// Bearer tokens with a bounded life and, when the settings name them, the right issuer and audience
// (src/auth/jwt-policy.ts): JWT_MAX_AGE_SECONDS, JWT_ISSUER and JWT_AUDIENCE on an app of its own, and `npm run token`
// issuing tokens that app accepts. The shared app's defaults (a day, no issuer or audience) are checked in
// test/e2e/payments-read.e2e-spec.ts.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { decode, sign, SignOptions } from 'jsonwebtoken';
import { Pool } from 'pg';
import { api, ApiOptions, ApiResponse } from '../support/app';
import { PROJECT_ROOT } from '../support/e2e-state';
import { ExtraApp, startExtraApp } from '../support/extra-app';
import { childEnv } from '../support/test-env';

const MAX_AGE = 3600;
const ISSUER = 'https://auth.legalpro.example';
const AUDIENCE = 'legalpro-payments';

let app: ExtraApp;
let pool: Pool;
// Test IPs (RFC 5737) arrive through the trusted proxy 127.0.0.1, so each test counts failures on addresses of its own.
let nextIp = 1;
const freshIp = () => `192.0.2.${nextIp++}`;
const now = () => Math.floor(Date.now() / 1000);
const claims = () => ({ sub: `client-${randomUUID()}`, role: 'client' });

/** A token signed with the app's secret: the right issuer and audience unless `options` say otherwise (undefined: none). */
function signed(payload: object, options: SignOptions = {}): string {
  const all: SignOptions = { algorithm: 'HS256', issuer: ISSUER, audience: AUDIENCE, ...options };
  // jsonwebtoken refuses an undefined issuer or audience rather than leaving the claim out.
  return sign(payload, app.env.JWT_SECRET, Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined)));
}

/** GET /api/payments on the app, from `ip`, with a request id to find its audit event by. */
async function list(token: string, ip = freshIp()): Promise<{ res: ApiResponse; requestId: string }> {
  const requestId = randomUUID();
  const options: ApiOptions = { token, baseUrl: app.url, headers: { 'x-request-id': requestId, 'x-forwarded-for': ip } };
  return { res: await api('/api/payments', options), requestId };
}

async function auditEvents(requestId: string): Promise<Record<string, any>[]> {
  return (await pool.query('SELECT * FROM audit_events WHERE request_id = $1 ORDER BY id', [requestId])).rows;
}

/** `npm run token -- <args>` with the app's settings. */
function npmRunToken(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['dist/src/cli/token.js', ...args], {
    cwd: PROJECT_ROOT,
    env: childEnv(app.env),
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

beforeAll(async () => {
  app = await startExtraApp(
    {
      JWT_MAX_AGE_SECONDS: String(MAX_AGE),
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '30',
      TRUSTED_PROXIES: '127.0.0.1',
    },
    'auth-hardening',
  );
  pool = new Pool({ connectionString: app.databaseUrl, max: 2 });
});

afterAll(async () => {
  await pool?.end();
  await app?.stop();
});

describe('JWT_MAX_AGE_SECONDS, JWT_ISSUER and JWT_AUDIENCE', () => {
  it('lets a token through that has the issuer and audience and expires within the maximum age', async () => {
    const { res, requestId } = await list(signed(claims(), { expiresIn: MAX_AGE }));

    expect(res.status).toBe(200);
    expect(await auditEvents(requestId)).toEqual([]);
  });

  it.each<[string, () => string, string]>([
    ['a token without an issuer', () => signed(claims(), { expiresIn: '10m', issuer: undefined }), 'Invalid token issuer'],
    [
      'a token from another issuer',
      () => signed(claims(), { expiresIn: '10m', issuer: 'https://elsewhere.example' }),
      'Invalid token issuer',
    ],
    ['a token without an audience', () => signed(claims(), { expiresIn: '10m', audience: undefined }), 'Invalid token audience'],
    ['a token for another audience', () => signed(claims(), { expiresIn: '10m', audience: 'reports' }), 'Invalid token audience'],
    ['a token without exp', () => signed(claims()), 'Token has no expiry (exp claim)'],
    ['a token valid for 2 hours', () => signed(claims(), { expiresIn: '2h' }), 'Token lifetime too long: it must expire within 3600 s'],
    [
      'an unexpired token issued 2 hours ago',
      () => signed({ ...claims(), iat: now() - 7200, exp: now() + 600 }),
      'Token too old: issued more than 3600 s ago',
    ],
  ])('refuses %s with 401 and audits the failure', async (_case, token, message) => {
    const { res, requestId } = await list(token());

    expect(res.status).toBe(401);
    expect(res.body).toEqual({ success: false, message, code: 'UNAUTHENTICATED' });
    expect(await auditEvents(requestId)).toEqual([
      expect.objectContaining({ action: 'auth.failed', entity_type: 'route', metadata: { reason: expect.any(String) } }),
    ]);
  });

  it("counts a token older than the maximum age like an expired one: not towards the IP's failed authentications", async () => {
    const ip = freshIp();
    for (let i = 0; i < 35; i++) {
      const { res } = await list(signed({ ...claims(), iat: now() - 7200, exp: now() + 600 }), ip);
      expect([res.status, res.body.message]).toEqual([401, 'Token too old: issued more than 3600 s ago']);
    }

    expect((await list(signed(claims(), { expiresIn: '10m' }), ip)).res.status).toBe(200);
  });

  it("counts a token without exp towards the IP's failed authentications", async () => {
    const ip = freshIp();
    for (let i = 0; i < 30; i++) expect((await list(signed(claims()), ip)).res.status).toBe(401);

    const { res } = await list(signed(claims(), { expiresIn: '10m' }), ip);
    expect(res.status).toBe(429);
    expect(res.body).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'auth-failures' } });
  });
});

describe('npm run token', () => {
  it('issues a token this app accepts: exp within JWT_MAX_AGE_SECONDS, with its issuer and audience', async () => {
    const sub = `client-${randomUUID()}`;
    const out = npmRunToken('--role', 'client', '--sub', sub);

    expect([out.status, out.stderr]).toEqual([0, '']);
    const payload = decode(out.stdout, { json: true });
    expect(payload).toMatchObject({ sub, role: 'client', iss: ISSUER, aud: AUDIENCE });
    expect(payload!.exp! - payload!.iat!).toBe(MAX_AGE); // the default 12 h, capped at the maximum age
    expect((await list(out.stdout)).res.status).toBe(200);
  });

  it('refuses to issue a token that would live longer than JWT_MAX_AGE_SECONDS', () => {
    const out = npmRunToken('--expires', '2h');

    expect(out.status).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toBe('--expires must be at most JWT_MAX_AGE_SECONDS (3600 s)');
  });
});
