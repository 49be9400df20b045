import { ConfigType } from '@nestjs/config';
import Redis from 'ioredis';
import { RateLimitedError, ServiceUnavailableError } from '../../src/common/errors/app-error';
import { RedisKeys } from '../../src/common/redis/redis.module';
import { rateLimitConfig, redisConfig } from '../../src/config/configuration';
import { PhoneRateLimiter } from '../../src/rate-limit/phone-rate-limiter';

// Counting itself runs in Redis (test/e2e/rate-limits.e2e-spec.ts); here Redis answers [pushes so far, ms left].
function setup(answer: [number, number], status = 'ready') {
  const redis = { status, eval: jest.fn().mockResolvedValue(answer) };
  const keys = new RedisKeys({ url: 'redis://127.0.0.1:6379', keyPrefix: 'lpunit' } as ConfigType<typeof redisConfig>);
  const limits = { perClient: 3000, perIp: 30000, authFailuresPerIp: 30, stkPushesPerPhone: 5 } as ConfigType<typeof rateLimitConfig>;
  return { limiter: new PhoneRateLimiter(redis as unknown as Redis, keys, limits), redis };
}

const LOOKUP_HASH = 'c0ffee'.repeat(8);

describe(PhoneRateLimiter.name, () => {
  it('lets the 5th push of the minute through', async () => {
    const { limiter } = setup([5, 40_000]);

    await expect(limiter.consume(LOOKUP_HASH)).resolves.toBeUndefined();
  });

  it('refuses the 6th with 429, the stk-phone limit and the seconds left in the window', async () => {
    const { limiter } = setup([6, 42_300]);

    const error = await limiter.consume(LOOKUP_HASH).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({
      code: 'RATE_LIMITED',
      message: 'Too many payment requests to this phone number: retry in 43 s',
      retryAfterSeconds: 43,
      details: { retryAfterSeconds: 43, limit: 'stk-phone' },
    });
  });

  it('counts in one round trip, under the deployment prefix, with a one-minute window, never naming the look-up hash', async () => {
    const { limiter, redis } = setup([1, 60_000]);

    await limiter.consume(LOOKUP_HASH);

    expect(redis.eval).toHaveBeenCalledTimes(1);
    const [, keyCount, key, windowMs] = redis.eval.mock.calls[0] as [string, number, string, number];
    expect(keyCount).toBe(1);
    expect(key).toMatch(/^lpunit:ratelimit:stk-phone:[0-9a-f]{32}$/);
    expect(key).not.toContain(LOOKUP_HASH);
    expect(windowMs).toBe(60_000);
  });

  it('refuses at once with 503 while the client has no connection to Redis, without sending anything', async () => {
    const { limiter, redis } = setup([1, 60_000], 'reconnecting');

    const error = await limiter.consume(LOOKUP_HASH).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 5 });
    expect(redis.eval).not.toHaveBeenCalled();
  });

  it('keeps one counter per phone', async () => {
    const { limiter, redis } = setup([1, 60_000]);

    await limiter.consume(LOOKUP_HASH);
    await limiter.consume('beef'.repeat(16));
    await limiter.consume(LOOKUP_HASH);

    const keys = redis.eval.mock.calls.map((call) => call[2] as string);
    expect(keys[0]).toBe(keys[2]);
    expect(keys[1]).not.toBe(keys[0]);
  });
});
