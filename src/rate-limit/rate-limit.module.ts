import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { ExecutionContext, Module } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { normalizeIp, ThrottlerModule, ThrottlerModuleOptions } from '@nestjs/throttler';
import Redis from 'ioredis';
import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { REDIS_CLIENT, RedisKeys } from '../common/redis/redis.module';
import { rateLimitConfig } from '../config/configuration';
import { normalizeKenyanPhone } from '../common/phone-number';
import { FailedAuthLimiter } from './failed-auth-limiter';
import { hashed, PHONE_FIELD_KEY, RATE_LIMIT_WINDOW_MS, RateLimit, tracker } from './rate-limits';

/** The phone number a @LimitPerPhone route is about, normalised; undefined elsewhere or when it is invalid (400 later). */
function phoneOf(context: ExecutionContext): string | undefined {
  const field = Reflect.getMetadata(PHONE_FIELD_KEY, context.getHandler()) as string | undefined;
  if (!field) return undefined;
  const body = context.switchToHttp().getRequest<{ body?: unknown }>().body;
  return typeof body === 'object' && body !== null ? normalizeKenyanPhone((body as Record<string, unknown>)[field]) : undefined;
}

/**
 * Inbound limits on Redis (the client the rest of the service uses), so that every replica counts against the
 * same numbers. RateLimitGuard applies them; AuthModule registers it after JwtAuthGuard. FailedAuthLimiter is
 * the brute-force limit JwtAuthGuard itself applies.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [rateLimitConfig.KEY, REDIS_CLIENT, RedisKeys, FieldEncryptionService],
      useFactory: (
        limits: ConfigType<typeof rateLimitConfig>,
        redis: Redis,
        keys: RedisKeys,
        fieldEncryption: FieldEncryptionService,
      ): ThrottlerModuleOptions => ({
        storage: new ThrottlerStorageRedisService(redis),
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
          {
            name: RateLimit.STK_PHONE,
            ttl: RATE_LIMIT_WINDOW_MS,
            limit: limits.stkPushesPerPhone,
            skipIf: (context) => phoneOf(context) === undefined,
            // The keyed look-up hash the payments table uses: the clear number never reaches Redis.
            getTracker: (_request, context) => tracker(RateLimit.STK_PHONE, fieldEncryption.lookupHash(phoneOf(context)!)),
          },
        ],
      }),
    }),
  ],
  providers: [FailedAuthLimiter],
  exports: [FailedAuthLimiter],
})
export class RateLimitModule {}
