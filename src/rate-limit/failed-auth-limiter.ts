import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { normalizeIp } from '@nestjs/throttler';
import Redis from 'ioredis';
import { RateLimitedError } from '../common/errors/app-error';
import { REDIS_CLIENT, RedisKeys, redisUnavailable } from '../common/redis/redis.module';
import { rateLimitConfig } from '../config/configuration';
import { LimiterOutage } from './limiter-outage';
import { hashed, RATE_LIMIT_MESSAGES, RATE_LIMIT_WINDOW_MS } from './rate-limits';

/**
 * Brute-force guard of authentication: counts failed authentications per IP (IPv6 per /64) in Redis, and once an
 * IP has failed `authFailuresPerIp` times in a minute it is refused with 429 until that minute is over, valid
 * token or not. Refusing valid tokens too is the point: otherwise a blocked guesser would still learn which
 * guess was right from the one answer that is not 429.
 *
 * Not a @nestjs/throttler limit: the throttler counts requests before they run, while this counts outcomes (a
 * 401) and checks before authenticating. The window is fixed: it starts at the IP's first failure.
 */
@Injectable()
export class FailedAuthLimiter {
  private readonly outage = new LimiterOutage('failed-authentication');

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly keys: RedisKeys,
    @Inject(rateLimitConfig.KEY) private readonly limits: ConfigType<typeof rateLimitConfig>,
  ) {}

  /** Throws RateLimitedError when `ip` has used up its failed authentications for this minute. */
  async assertNotBlocked(ip: string): Promise<void> {
    const key = this.key(ip);
    // Every authenticated request asks this, and nearly all are not blocked: one GET (a MULTI with the PTTL cost a
    // transaction per request); the window's end is read only for the 429's Retry-After.
    const down = redisUnavailable(this.redis);
    if (down) return this.outage.failedOpen(down);
    let ttlMs: number;
    try {
      const failures = await this.redis.get(key);
      if (Number(failures ?? 0) < this.limits.authFailuresPerIp) return;
      ttlMs = await this.redis.pttl(key);
    } catch (error) {
      this.outage.failedOpen(error);
      return;
    }
    const retryAfter = Math.max(1, Math.ceil(ttlMs / 1000));
    throw new RateLimitedError(`${RATE_LIMIT_MESSAGES['auth-failures']}: retry in ${retryAfter} s`, retryAfter, 'auth-failures');
  }

  async recordFailure(ip: string): Promise<void> {
    const key = this.key(ip);
    // SET NX PX starts the window at the first failure and INCR keeps its expiry, in one transaction: the key can
    // never be left without one (which would block the IP for good).
    await this.redis
      .multi()
      .set(key, 0, 'PX', RATE_LIMIT_WINDOW_MS, 'NX')
      .incr(key)
      .exec()
      .catch((error: unknown) => this.outage.failedOpen(error));
  }

  private key(ip: string): string {
    return this.keys.key('ratelimit', 'auth-failures', hashed(normalizeIp(ip)));
  }
}
