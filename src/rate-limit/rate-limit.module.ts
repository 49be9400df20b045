import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { Module } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { normalizeIp, ThrottlerModule, ThrottlerModuleOptions } from '@nestjs/throttler';
import Redis from 'ioredis';
import { REDIS_CLIENT, RedisKeys, redisUnavailable } from '../common/redis/redis.module';
import { rateLimitConfig } from '../config/configuration';
import { FailedAuthLimiter } from './failed-auth-limiter';
import { PhoneRateLimiter } from './phone-rate-limiter';
import { hashed, RATE_LIMIT_WINDOW_MS, RateLimit, tracker } from './rate-limits';

/**
 * The throttlers' Redis storage, refusing at once while the shared client has no connection: RateLimitGuard then
 * lets the request through (see LimiterOutage) without waiting out the command timeout for each throttler.
 */
class FailFastThrottlerStorage extends ThrottlerStorageRedisService {
  constructor(private readonly client: Redis) {
    super(client);
  }

  override increment(
    ...args: Parameters<ThrottlerStorageRedisService['increment']>
  ): ReturnType<ThrottlerStorageRedisService['increment']> {
    const down = redisUnavailable(this.client);
    return down ? Promise.reject(down) : super.increment(...args);
  }
}

/**
 * Inbound limits on Redis (the client the rest of the service uses), so that every replica counts against the
 * same numbers. RateLimitGuard applies the throttlers; AuthModule registers it after JwtAuthGuard. The limits that
 * need more than a request's headers are called by their users: FailedAuthLimiter by JwtAuthGuard, PhoneRateLimiter
 * by the STK push once its body is valid. Imports nothing of the feature modules, so any of them may import it.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [rateLimitConfig.KEY, REDIS_CLIENT, RedisKeys],
      useFactory: (limits: ConfigType<typeof rateLimitConfig>, redis: Redis, keys: RedisKeys): ThrottlerModuleOptions => ({
        storage: new FailFastThrottlerStorage(redis),
        // One counter per limit and tracker across all routes (the default is one per route), under the
        // deployment's key prefix. The storage wraps it as `{key}:hits`; the keys expire with their window.
        generateKey: (_context, trackerValue, name) => keys.key('throttle', name, hashed(trackerValue)),
        throttlers: [
          {
            name: RateLimit.IP,
            ttl: RATE_LIMIT_WINDOW_MS,
            limit: limits.perIp,
            getTracker: (request) => tracker(RateLimit.IP, normalizeIp(String(request.ip))),
          },
          // Tracked by RateLimitGuard.getTracker: the verified JWT subject.
          { name: RateLimit.CLIENT, ttl: RATE_LIMIT_WINDOW_MS, limit: limits.perClient },
        ],
      }),
    }),
  ],
  providers: [FailedAuthLimiter, PhoneRateLimiter],
  exports: [FailedAuthLimiter, PhoneRateLimiter],
})
export class RateLimitModule {}
