import { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { JobsOptions, Queue, RepeatOptions } from 'bullmq';

/** One scheduled job of a module's queue: when it repeats and what it enqueues each time. */
export interface RecurringJob {
  /** The BullMQ job scheduler id: one scheduler per id for the whole fleet, whichever workers upsert it. */
  schedulerId: string;
  repeat: Omit<RepeatOptions, 'key'>;
  name: string;
  opts: JobsOptions;
  /** False removes the scheduler (another replica may still carry it from before the setting changed). */
  enabled: boolean;
}

/**
 * The scheduler lifecycle every module's scheduler shares: upsert each recurring job at boot (a bad repeat setting
 * fails the boot, naming the scheduler), then upsert again every `refreshMs`, which is idempotent and brings a
 * scheduler back within that time if Redis lost it (flush, failover).
 */
export class RecurringJobs {
  private timer?: NodeJS.Timeout;
  private readonly logger: Logger;

  constructor(
    private readonly queue: Queue,
    private readonly jobs: RecurringJob[],
    private readonly refreshMs: number,
  ) {
    this.logger = new Logger(`${queue.name} scheduler`);
  }

  async start(): Promise<void> {
    for (const job of this.jobs) {
      if (!job.enabled) await this.queue.removeJobScheduler(job.schedulerId);
    }
    await this.upsertAll().catch((e: unknown) => {
      throw new Error(`Could not schedule the ${this.queue.name} queue's recurring jobs: ${String(e)}`);
    });
    this.timer = setInterval(() => {
      this.upsertAll().catch((e: unknown) => this.logger.warn(`Could not refresh the schedulers: ${String(e)}`));
    }, this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async upsertAll(): Promise<void> {
    for (const job of this.jobs) {
      if (!job.enabled) continue;
      await this.queue.upsertJobScheduler(job.schedulerId, job.repeat, { name: job.name, data: {}, opts: job.opts });
    }
  }
}

/**
 * A module's scheduler: its recurring jobs start when the app has booted and stop refreshing at shutdown. A subclass
 * only says which jobs (`recurring`), so the lifecycle is written once.
 */
export abstract class RecurringJobsScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  protected abstract readonly recurring: RecurringJobs;

  onApplicationBootstrap(): Promise<void> {
    return this.recurring.start();
  }

  onModuleDestroy(): void {
    this.recurring.stop();
  }
}
