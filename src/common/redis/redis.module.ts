import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import Redis from 'ioredis';
import { redisConfig } from '../../config/configuration';

export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

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
        new Redis(settings.url, { maxRetriesPerRequest: 3, enableReadyCheck: true, lazyConnect: false }),
    },
    RedisKeys,
    RedisShutdown,
  ],
  exports: [REDIS_CLIENT, RedisKeys],
})
export class RedisModule {}
