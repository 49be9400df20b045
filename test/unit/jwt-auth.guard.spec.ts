import { Reflector } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import type { FastifyRequest } from 'fastify';
import { sign, SignOptions } from 'jsonwebtoken';
import { AuditService } from '../../src/audit/audit.service';
import { JwtAuthGuard } from '../../src/auth/jwt-auth.guard';
import { JWT_CLOCK_SKEW_SECONDS, lifetimeRefusal } from '../../src/auth/jwt-policy';
import { buildConfig } from '../../src/config/configuration';
import { validateEnv } from '../../src/config/env.validation';
import { MetricsService } from '../../src/metrics/metrics.service';
import { FailedAuthLimiter } from '../../src/rate-limit/failed-auth-limiter';

const SECRET = 'unit-test-jwt-secret-0123456789abcdefghij';
const DAY = 86_400;
const now = () => Math.floor(Date.now() / 1000);

/** The guard as AuthModule builds it, with the settings of `env`; audit, metrics and the IP limit are recorded. */
function setup(env: Record<string, string> = {}) {
  const app = buildConfig(validateEnv({ JWT_SECRET: SECRET, ...env })).app;
  const audit = { record: jest.fn().mockResolvedValue(undefined) };
  const metrics = { authFailure: jest.fn() };
  const failedAuth = { assertNotBlocked: jest.fn().mockResolvedValue(undefined), recordFailure: jest.fn().mockResolvedValue(undefined) };
  const guard = new JwtAuthGuard(
    new Reflector(),
    new JwtService({ secret: SECRET }),
    audit as unknown as AuditService,
    metrics as unknown as MetricsService,
    failedAuth as unknown as FailedAuthLimiter,
    app,
  );
  return { guard, audit, metrics, failedAuth };
}

function requestWith(token: string): FastifyRequest {
  return {
    headers: { authorization: `Bearer ${token}` },
    ip: '203.0.113.7',
    id: 'req-1',
    method: 'GET',
    url: '/api/payments',
    routeOptions: { url: '/api/payments' },
  } as unknown as FastifyRequest;
}

const claims = { sub: 'client-1', role: 'client' };
const token = (payload: object = claims, options: SignOptions = { expiresIn: '1h' }) =>
  sign(payload, SECRET, { algorithm: 'HS256', ...options });

describe(JwtAuthGuard.name, () => {
  it('lets a token through that expires within JWT_MAX_AGE_SECONDS', async () => {
    const { guard, audit } = setup();

    await expect(guard.authorize(requestWith(token()))).resolves.toEqual({ id: 'client-1', role: 'client' });
    await expect(guard.authorize(requestWith(token(claims, { expiresIn: DAY })))).resolves.toEqual({ id: 'client-1', role: 'client' });
    expect(audit.record).not.toHaveBeenCalled();
  });

  it('refuses a token without exp with 401, audits it as invalid claims and counts it against the IP', async () => {
    const { guard, audit, metrics, failedAuth } = setup();

    await expect(guard.authorize(requestWith(token(claims, {})))).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'Token has no expiry (exp claim)',
    });
    expect(metrics.authFailure).toHaveBeenCalledWith('invalid_claims');
    expect(failedAuth.recordFailure).toHaveBeenCalledWith('203.0.113.7');
    expect(audit.record).toHaveBeenCalledWith(
      expect.objectContaining({ type: 'system', ipAddress: '203.0.113.7', requestId: 'req-1' }),
      expect.objectContaining({ action: 'auth.failed', entityId: 'GET /api/payments', metadata: { reason: 'token has no exp claim' } }),
    );
  });

  it('refuses a token whose exp is further ahead than JWT_MAX_AGE_SECONDS (a 10-year token)', async () => {
    const { guard, metrics } = setup();

    await expect(guard.authorize(requestWith(token(claims, { expiresIn: '3650d' })))).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'Token lifetime too long: it must expire within 86400 s',
    });
    expect(metrics.authFailure).toHaveBeenCalledWith('invalid_claims');
  });

  it('refuses a token issued longer ago than JWT_MAX_AGE_SECONDS, as expired: not counted against the IP', async () => {
    const { guard, audit, metrics, failedAuth } = setup();
    const old = token({ ...claims, iat: now() - DAY - 60, exp: now() + 3600 }, {});

    await expect(guard.authorize(requestWith(old))).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'Token too old: issued more than 86400 s ago',
    });
    expect(metrics.authFailure).toHaveBeenCalledWith('expired_token');
    expect(failedAuth.recordFailure).not.toHaveBeenCalled();
    expect(audit.record).toHaveBeenCalledWith(
      expect.anything(),
      expect.objectContaining({ action: 'auth.failed', metadata: { reason: expect.stringMatching(/^iat is 864\d\d s ago/) } }),
    );
  });

  it('lets a token without iat through when its exp is within JWT_MAX_AGE_SECONDS', async () => {
    const { guard } = setup();

    await expect(guard.authorize(requestWith(token(claims, { expiresIn: '1h', noTimestamp: true })))).resolves.toEqual({
      id: 'client-1',
      role: 'client',
    });
  });

  it('applies a shorter JWT_MAX_AGE_SECONDS', async () => {
    const { guard } = setup({ JWT_MAX_AGE_SECONDS: '600' });

    await expect(guard.authorize(requestWith(token(claims, { expiresIn: '10m' })))).resolves.toEqual({ id: 'client-1', role: 'client' });
    await expect(guard.authorize(requestWith(token()))).rejects.toMatchObject({
      message: 'Token lifetime too long: it must expire within 600 s',
    });
  });

  it('still answers an expired token with "Token expired", not counted against the IP', async () => {
    const { guard, metrics, failedAuth } = setup();

    await expect(guard.authorize(requestWith(token(claims, { expiresIn: -60 })))).rejects.toMatchObject({ message: 'Token expired' });
    expect(metrics.authFailure).toHaveBeenCalledWith('expired_token');
    expect(failedAuth.recordFailure).not.toHaveBeenCalled();
  });

  describe('with JWT_ISSUER and JWT_AUDIENCE set', () => {
    const env = { JWT_ISSUER: 'https://legalpro.example', JWT_AUDIENCE: 'legalpro-payments' };
    const signed = (options: SignOptions) => token(claims, { expiresIn: '1h', ...options });

    it('lets a token through with that issuer and audience', async () => {
      const { guard } = setup(env);

      await expect(guard.authorize(requestWith(signed({ issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE })))).resolves.toEqual({
        id: 'client-1',
        role: 'client',
      });
    });

    it.each<[string, SignOptions, string]>([
      ['no issuer', { audience: env.JWT_AUDIENCE }, 'Invalid token issuer'],
      ['another issuer', { issuer: 'https://elsewhere.example', audience: env.JWT_AUDIENCE }, 'Invalid token issuer'],
      ['no audience', { issuer: env.JWT_ISSUER }, 'Invalid token audience'],
      ['another audience', { issuer: env.JWT_ISSUER, audience: 'another-service' }, 'Invalid token audience'],
    ])('refuses a token with %s with 401, audited as an invalid token', async (_case, options, message) => {
      const { guard, audit, metrics } = setup(env);

      await expect(guard.authorize(requestWith(signed(options)))).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message });
      expect(metrics.authFailure).toHaveBeenCalledWith('invalid_token');
      expect(audit.record).toHaveBeenCalledWith(expect.anything(), expect.objectContaining({ action: 'auth.failed' }));
    });

    it('checks neither when they are not set', async () => {
      const { guard } = setup();

      await expect(guard.authorize(requestWith(signed({ issuer: 'anyone', audience: 'anything' })))).resolves.toEqual({
        id: 'client-1',
        role: 'client',
      });
    });
  });
});

describe('lifetimeRefusal', () => {
  const t = 1_750_000_000;

  it('takes an exp up to the maximum age (and the clock skew) ahead, and refuses one second more', () => {
    expect(lifetimeRefusal({ exp: t + DAY + JWT_CLOCK_SKEW_SECONDS }, t, DAY)).toBeUndefined();
    expect(lifetimeRefusal({ exp: t + DAY + JWT_CLOCK_SKEW_SECONDS + 1 }, t, DAY)).toMatchObject({ reason: 'invalid_claims' });
  });

  it('takes an iat exactly the maximum age ago, and refuses one second older', () => {
    expect(lifetimeRefusal({ exp: t + 60, iat: t - DAY }, t, DAY)).toBeUndefined();
    expect(lifetimeRefusal({ exp: t + 60, iat: t - DAY - 1 }, t, DAY)).toMatchObject({ reason: 'expired_token' });
  });

  it('refuses a missing or non-numeric exp, and a non-numeric iat', () => {
    expect(lifetimeRefusal({}, t, DAY)).toMatchObject({ reason: 'invalid_claims', message: 'Token has no expiry (exp claim)' });
    expect(lifetimeRefusal({ iat: t }, t, DAY)).toMatchObject({ reason: 'invalid_claims' });
    expect(lifetimeRefusal({ exp: String(t + 60) }, t, DAY)).toMatchObject({ reason: 'invalid_claims' });
    expect(lifetimeRefusal({ exp: t + 60, iat: 'yesterday' }, t, DAY)).toMatchObject({ reason: 'invalid_claims' });
  });
});
