import { Controller, Get, UseFilters } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public, SkipRateLimits } from '../common/decorators/route-access';
import { RedisHealthIndicator } from '../common/redis/redis.health';
import { HealthCheckFailedFilter } from './health-check-failed.filter';
import { QueuesHealthIndicator } from './queues.health';

@ApiTags('health')
@Public()
@SkipRateLimits()
@UseFilters(HealthCheckFailedFilter)
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly queues: QueuesHealthIndicator,
  ) {}

  /** Everything: database, Redis and the queues. */
  @Get()
  @HealthCheck()
  check() {
    return this.ready();
  }

  /** The process is up and serving HTTP (for restarts, not for routing traffic). */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /**
   * Ready for traffic: Postgres, Redis and every BullMQ queue answer. Each check is bounded (Postgres 800 ms, Redis by
   * its command timeout, queues by PROBE_TIMEOUT_MS) and they run side by side, so the answer comes within a second
   * and names what is down.
   */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.db.pingCheck('database', { timeout: 800 }),
      () => this.redis.isHealthy('redis'),
      ...this.queues.checks(),
    ]);
  }
}
