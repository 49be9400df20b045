import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import Redis from 'ioredis';
import { redisConfig } from '../../config/configuration';

export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/**
 * A command the shared client sends fails after this long instead of waiting for a Redis that hangs: rate limits,
 * the call budget and the token cache are asked on request paths that must answer within a second.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 500;

/**
 * Reconnect delay after the n-th failed attempt: quick at first, never more than a second, so the service (and
 * BullMQ's workers, which use it too) resumes within about a second of Redis coming back. ioredis's default grows to
 * 2 s, BullMQ's to 20 s.
 */
export function reconnectDelay(attempt: number): number {
  return Math.min(attempt * 100, 1_000);
}

/**
 * Why a request-path command is not sent: the shared client has no working connection (Redis is down, restarting or
 * being reconnected to). Asked before each limit, so a request learns at once that Redis is away instead of waiting
 * out the command timeout once per limit (a push asks three of them before its own).
 */
export function redisUnavailable(redis: Pick<Redis, 'status'>): Error | undefined {
  return redis.status === 'ready' ? undefined : new Error(`Redis connection is ${redis.status}`);
}

/** Prefixes every key the service writes itself (BullMQ has its own prefix), so parallel runs can share one Redis. */
@Injectable()
export class RedisKeys {
  constructor(@Inject(redisConfig.KEY) private readonly settings: ConfigType<typeof redisConfig>) {}

  key(...parts: string[]): string {
    return [this.settings.keyPrefix, ...parts].join(':');
  }
}

@Injectable()
class RedisShutdown implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [redisConfig.KEY],
      useFactory: (settings: ConfigType<typeof redisConfig>) =>
        new Redis(settings.url, {
          // One retry across a reconnect, each bounded: a request that needs Redis learns within a second that it is away.
          maxRetriesPerRequest: 1,
          commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
          retryStrategy: reconnectDelay,
          // Commands issued in the same tick (the rate limits, token and budget of concurrent requests) go out in one
          // write: on a busy API a socket write per command cost more CPU than the commands themselves.
          enableAutoPipelining: true,
          enableReadyCheck: true,
          lazyConnect: false,
        }),
    },
    RedisKeys,
    RedisShutdown,
  ],
  exports: [REDIS_CLIENT, RedisKeys],
})
export class RedisModule {}
