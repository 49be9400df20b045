import { ExecutionContext, Injectable } from '@nestjs/common';
import { normalizeIp, ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
import { SKIP_RATE_LIMITS } from '../common/decorators/route-access';
import { AppError, RateLimitedError } from '../common/errors/app-error';
import { LimiterOutage } from './limiter-outage';
import { limitOfTracker, RATE_LIMIT_MESSAGES, RateLimit, tracker } from './rate-limits';

/**
 * @nestjs/throttler's guard with this service's trackers and error. Registered right after JwtAuthGuard (see
 * AuthModule), so a request that gets here is authenticated and `request.user` is the verified JWT subject.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private readonly outage = new LimiterOutage('client and IP');

  /** Redis away: the request goes on unlimited rather than failing (see LimiterOutage). A 429 is still a 429. */
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    try {
      return await super.canActivate(context);
    } catch (error) {
      if (error instanceof AppError) throw error;
      this.outage.failedOpen(error);
      return true;
    }
  }

  /** `@SkipRateLimits()` exempts a route from every throttler (SkipThrottle would name each throttler). */
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    const skip = this.reflector.getAllAndOverride<boolean>(SKIP_RATE_LIMITS, [context.getHandler(), context.getClass()]);
    return skip === true || super.shouldSkip(context);
  }

  /** The CLIENT limit's tracker: the verified subject; a route without authentication counts by IP instead. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- ThrottlerGuard's own signature
  protected override async getTracker(request: Record<string, any>): Promise<string> {
    const user = (request as { user?: { id: string } }).user;
    return user ? tracker(RateLimit.CLIENT, `user:${user.id}`) : tracker(RateLimit.CLIENT, `ip:${normalizeIp(String(request.ip))}`);
  }

  /** 429 in the service's error shape; AppErrorFilter adds Retry-After from `retryAfterSeconds`. */
  protected override async throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const limit = limitOfTracker(detail.tracker);
    const retryAfter = Math.max(1, detail.timeToBlockExpire);
    throw new RateLimitedError(`${RATE_LIMIT_MESSAGES[limit]}: retry in ${retryAfter} s`, retryAfter, limit);
  }
}
