import { Logger } from '@nestjs/common';

/** How often an outage is said again while it lasts (each request would otherwise log a line). */
const REPEAT_AFTER_MS = 10_000;

/**
 * What a limiter does when Redis, which holds its counters, does not answer: the request goes on unlimited (the
 * limits stop floods; refusing every request during an outage would turn a Redis outage into an API outage), and
 * the operator is told, once every few seconds rather than once per request.
 */
export class LimiterOutage {
  private readonly logger = new Logger('RateLimits');
  private lastSaid = 0;

  constructor(private readonly limit: string) {}

  /** Records that the limit could not be checked; the caller lets the request through. */
  failedOpen(error: unknown): void {
    const now = Date.now();
    if (now - this.lastSaid < REPEAT_AFTER_MS) return;
    this.lastSaid = now;
    this.logger.warn(
      `The ${this.limit} limit is not enforced: Redis did not answer (${error instanceof Error ? error.message : String(error)})`,
    );
  }
}
