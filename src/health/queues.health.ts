import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { QueueProbe } from '../common/queues/queue-health';

/**
 * How long a probe may take. BullMQ's connection never gives up on a command (it must not, for its blocking reads),
 * so without a bound a readiness check would hang for as long as Redis is away: /health/ready must answer within 1 s.
 */
export const PROBE_TIMEOUT_MS = 800;

/** Every queue's probe (see provideQueueHealth) as a health indicator: up with its backlog, or down with the reason. */
@Injectable()
export class QueuesHealthIndicator implements OnApplicationBootstrap {
  private probes: QueueProbe[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly health: HealthIndicatorService,
  ) {}

  onApplicationBootstrap(): void {
    const found = this.discovery
      .getProviders()
      .map((wrapper) => wrapper.instance as unknown)
      .filter((instance): instance is QueueProbe => instance instanceof QueueProbe);
    // A module imported by several others still has one probe per queue.
    this.probes = [...new Map(found.map((probe) => [probe.name, probe])).values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  checks(): Array<() => Promise<HealthIndicatorResult>> {
    return this.probes.map((probe) => async () => {
      const indicator = this.health.check(`queue:${probe.name}`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
      });
      try {
        return indicator.up(await Promise.race([probe.backlog(), timeout]));
      } catch (e) {
        return indicator.down({ message: e instanceof Error ? e.message : String(e) });
      } finally {
        clearTimeout(timer);
      }
    });
  }
}
