import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { RedisHealthIndicator } from '../common/redis/redis.health';
import { HealthController } from './health.controller';
import { QueuesHealthIndicator } from './queues.health';

/**
 * Probes. Composes the checks that live with what they check: Redis's (common/redis) and one per queue (each
 * queue-owning module provides its probe with provideQueueHealth), found by discovery so none is left out.
 */
@Module({
  imports: [TerminusModule, DiscoveryModule],
  controllers: [HealthController],
  providers: [RedisHealthIndicator, QueuesHealthIndicator],
})
export class HealthModule {}
