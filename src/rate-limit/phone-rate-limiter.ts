import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import Redis from 'ioredis';
import { RateLimitedError, ServiceUnavailableError } from '../common/errors/app-error';
import { REDIS_CLIENT, RedisKeys, redisUnavailable } from '../common/redis/redis.module';
import { rateLimitConfig } from '../config/configuration';
import { hashed, RATE_LIMIT_MESSAGES, RATE_LIMIT_WINDOW_MS, RateLimit } from './rate-limits';

/**
 * Counts one push and answers [pushes in this window, ms until it ends]. The window starts at the first push and a
 * push never extends it (so a flood cannot keep a phone blocked past its minute); a key found without an expiry
 * (written by hand, or an older version) gets one, since a counter that never expires would block the phone for good.
 */
const COUNT_PUSH_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { count, ttl }
`;

/**
 * STK pushes to one phone number, whichever clients send them: a stream of PIN prompts harasses the customer.
 * StkPushService calls `consume` once the request is valid and the number normalised, before the payment row is
 * written, so a malformed request (400) never uses up a phone's pushes: otherwise anyone could keep a customer from
 * being asked to pay by sending garbage with their number. A push refused later (409 pending, Daraja's refusal)
 * still counts: a prompt may have been attempted.
 *
 * Not a @nestjs/throttler limit: guards run before validation, and the body is not yet known to be a payment.
 * Counted in Redis under the deployment's key prefix, by the number's keyed look-up hash (never the number),
 * hashed once more like every rate-limit identity; one round trip per push.
 */
@Injectable()
export class PhoneRateLimiter {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly keys: RedisKeys,
    @Inject(rateLimitConfig.KEY) private readonly limits: ConfigType<typeof rateLimitConfig>,
  ) {}

  /**
   * Counts a push to the phone; throws RateLimitedError (429, Retry-After) when it is over this minute's limit, and
   * ServiceUnavailableError (503, Retry-After) when Redis does not answer. Unlike the other limits this one does not
   * fail open: a push also needs Redis for the Daraja call budget and its token, and a customer at the checkout is
   * better served by an honest "try again" now than by a prompt that reaches the phone minutes later. Nothing is
   * stored before it (see StkPushService).
   */
  async consume(phoneLookupHash: string): Promise<void> {
    const key = this.keys.key('ratelimit', RateLimit.STK_PHONE, hashed(phoneLookupHash));
    let pushes: number;
    let ttlMs: number;
    try {
      const down = redisUnavailable(this.redis);
      if (down) throw down;
      [pushes, ttlMs] = (await this.redis.eval(COUNT_PUSH_SCRIPT, 1, key, RATE_LIMIT_WINDOW_MS)) as [number, number];
    } catch {
      throw new ServiceUnavailableError(
        'Payments are briefly unavailable (the queue store does not answer); nothing was charged: try again',
        5,
      );
    }
    if (pushes <= this.limits.stkPushesPerPhone) return;
    const retryAfter = Math.max(1, Math.ceil(ttlMs / 1000));
    throw new RateLimitedError(`${RATE_LIMIT_MESSAGES[RateLimit.STK_PHONE]}: retry in ${retryAfter} s`, retryAfter, RateLimit.STK_PHONE);
  }
}
