import { Inject, Injectable, OnApplicationShutdown, Provider } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import Redis from 'ioredis';
import { simulatorConfig } from '../../config/configuration';

/**
 * "Daraja's" own Redis connection: never the service's client, so a FLUSHDB (or, with a separate server, a
 * FLUSHALL) of the service's Redis leaves the simulator's pushes, tokens and ledger alone. Shared by every app
 * process through the same URL and key prefix, like the service's state.
 */
export const SIMULATOR_REDIS = Symbol('SIMULATOR_REDIS');

/** Prefixes every key of the simulator (SIMULATOR_REDIS_KEY_PREFIX), so parallel runs can share one Redis database. */
@Injectable()
export class SimulatorKeys {
  constructor(@Inject(simulatorConfig.KEY) private readonly settings: ConfigType<typeof simulatorConfig>) {}

  key(...parts: string[]): string {
    return [this.settings.redis.keyPrefix, ...parts].join(':');
  }
}

@Injectable()
class SimulatorRedisShutdown implements OnApplicationShutdown {
  constructor(@Inject(SIMULATOR_REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

export const SIMULATOR_REDIS_PROVIDERS: Provider[] = [
  {
    provide: SIMULATOR_REDIS,
    inject: [simulatorConfig.KEY],
    useFactory: (settings: ConfigType<typeof simulatorConfig>) => {
      if (!settings.redis.url) throw new Error('SIMULATOR_REDIS_URL: the simulator has no Redis to keep its state in');
      // Not the service's 500 ms command timeout: the simulator answers tests and benches, never a payment path.
      return new Redis(settings.redis.url, { maxRetriesPerRequest: 2, retryStrategy: (n: number) => Math.min(n * 100, 1_000) });
    },
  },
  SimulatorKeys,
  SimulatorRedisShutdown,
];
