import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { RedisHealthIndicator } from '../common/redis/redis.health';
import { NOTIFICATIONS_QUEUE } from '../notifications/notification-jobs';
import { PAYMENTS_QUEUE } from '../payments/jobs/payment-jobs';
import { HealthController } from './health.controller';
import { QueuesHealthIndicator } from './queues.health';

@Module({
  imports: [TerminusModule, BullModule.registerQueue({ name: PAYMENTS_QUEUE }, { name: NOTIFICATIONS_QUEUE })],
  controllers: [HealthController],
  providers: [RedisHealthIndicator, QueuesHealthIndicator],
})
export class HealthModule {}
