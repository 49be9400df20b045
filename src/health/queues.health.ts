import { getQueueToken } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Queue } from 'bullmq';
import { NOTIFICATIONS_QUEUE } from '../notifications/notification-jobs';
import { PAYMENTS_QUEUE } from '../payments/jobs/payment-jobs';

/** Each queue answers and reports its backlog (useful before the metrics endpoint exists). */
@Injectable()
export class QueuesHealthIndicator {
  constructor(
    @Inject(getQueueToken(PAYMENTS_QUEUE)) private readonly payments: Queue,
    @Inject(getQueueToken(NOTIFICATIONS_QUEUE)) private readonly notifications: Queue,
    private readonly health: HealthIndicatorService,
  ) {}

  async isHealthy(key = 'queues') {
    const indicator = this.health.check(key);
    try {
      const details: Record<string, unknown> = {};
      for (const queue of [this.payments, this.notifications]) {
        details[queue.name] = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
      }
      return indicator.up(details);
    } catch (e) {
      return indicator.down({ message: e instanceof Error ? e.message : String(e) });
    }
  }
}
