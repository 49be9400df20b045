import type { VerifyOptions } from 'jsonwebtoken';
import type { AuthFailureReason } from '../metrics/metrics.service';

/** What a token must satisfy besides its HS256 signature (JWT_MAX_AGE_SECONDS, JWT_ISSUER, JWT_AUDIENCE). */
export interface JwtPolicy {
  maxAgeSeconds: number;
  issuer?: string;
  audience?: string;
}

/**
 * An `exp` up to this much further ahead than the maximum age is still taken: the issuer's clock may run a little
 * ahead of ours, and a token signed for exactly the maximum age must not fail on that alone.
 */
export const JWT_CLOCK_SKEW_SECONDS = 60;

/** Why a token is refused: the metric's reason, the 401's message, and the detail kept in the audit event. */
export interface JwtRefusal {
  reason: AuthFailureReason;
  message: string;
  detail: string;
}

/** HS256 only (so `alg: none` and algorithm-confusion tokens fail), and `iss` / `aud` when the settings name them. */
export function jwtVerifyOptions(policy: JwtPolicy): VerifyOptions & { algorithms: ['HS256'] } {
  return {
    algorithms: ['HS256'],
    ...(policy.issuer ? { issuer: policy.issuer } : {}),
    ...(policy.audience ? { audience: policy.audience } : {}),
  };
}

/** The refusal for a token jsonwebtoken would not verify (bad signature, expired, wrong issuer or audience...). */
export function verifyErrorRefusal(error: unknown): JwtRefusal {
  const detail = error instanceof Error ? error.message : 'invalid token';
  // By name, not instanceof: @nestjs/jwt may load its own copy of jsonwebtoken.
  if (error instanceof Error && error.name === 'TokenExpiredError') return { reason: 'expired_token', message: 'Token expired', detail };
  if (detail.startsWith('jwt issuer invalid')) return { reason: 'invalid_token', message: 'Invalid token issuer', detail };
  if (detail.startsWith('jwt audience invalid')) return { reason: 'invalid_token', message: 'Invalid token audience', detail };
  return { reason: 'invalid_token', message: 'Invalid token', detail };
}

/**
 * The lifetime rules of a correctly signed, unexpired token, at `nowSeconds` (Unix time):
 * - no `exp`: refused (a token that never expires is a password that never changes);
 * - `exp` more than `maxAgeSeconds` (+ JWT_CLOCK_SKEW_SECONDS) ahead: refused, as an old token would be: a 10-year
 *   token is one that can be used for 10 years;
 * - `iat` more than `maxAgeSeconds` ago: refused, whatever its `exp`;
 * - no `iat`: taken, since the `exp` rule alone already bounds how long the token can be used.
 * An old `iat` counts as `expired_token` (like an expired token, it is a lapse, not a guess: it does not count towards
 * the failed-authentication limit of the IP); a missing or too distant `exp` is `invalid_claims`.
 */
export function lifetimeRefusal(
  claims: { exp?: unknown; iat?: unknown },
  nowSeconds: number,
  maxAgeSeconds: number,
): JwtRefusal | undefined {
  if (typeof claims.exp !== 'number') {
    return { reason: 'invalid_claims', message: 'Token has no expiry (exp claim)', detail: 'token has no exp claim' };
  }
  if (claims.exp > nowSeconds + maxAgeSeconds + JWT_CLOCK_SKEW_SECONDS) {
    return {
      reason: 'invalid_claims',
      message: `Token lifetime too long: it must expire within ${maxAgeSeconds} s`,
      detail: `exp is ${claims.exp - nowSeconds} s ahead, more than JWT_MAX_AGE_SECONDS=${maxAgeSeconds}`,
    };
  }
  if (claims.iat === undefined) return undefined;
  if (typeof claims.iat !== 'number') {
    return { reason: 'invalid_claims', message: 'Invalid token claims', detail: 'iat is not a number' };
  }
  if (claims.iat < nowSeconds - maxAgeSeconds) {
    return {
      reason: 'expired_token',
      message: `Token too old: issued more than ${maxAgeSeconds} s ago`,
      detail: `iat is ${nowSeconds - claims.iat} s ago, more than JWT_MAX_AGE_SECONDS=${maxAgeSeconds}`,
    };
  }
  return undefined;
}
