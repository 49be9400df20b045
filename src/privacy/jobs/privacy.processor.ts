import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Job } from 'bullmq';
import { retentionConfig } from '../../config/configuration';
import { RETENTION_JOB_ACTOR, RetentionService } from '../retention.service';
import { PRIVACY_QUEUE, PrivacyJob, RETENTION_SCHEDULER_REFRESH_MS } from './privacy-jobs';
import { PrivacyJobsProducer } from './privacy-jobs.producer';

@Processor(PRIVACY_QUEUE, { concurrency: 1 })
export class PrivacyProcessor extends WorkerHost implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(PrivacyProcessor.name);
  private schedulerRefresh?: NodeJS.Timeout;

  constructor(
    @Inject(retentionConfig.KEY) private readonly settings: ConfigType<typeof retentionConfig>,
    private readonly retention: RetentionService,
    private readonly producer: PrivacyJobsProducer,
  ) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.settings.enabled) {
      // Another replica may still carry the scheduler from before RETENTION_ENABLED=false.
      await this.producer.removeRetentionScheduler();
      return;
    }
    const schedule = this.settings.sweepIntervalMs ? { everyMs: this.settings.sweepIntervalMs } : { cron: this.settings.sweepCron };
    // A cron BullMQ cannot parse fails here, at boot, rather than silently never sweeping.
    await this.producer.ensureRetentionScheduler(schedule).catch((e: unknown) => {
      throw new Error(`RETENTION_SWEEP_CRON / RETENTION_SWEEP_INTERVAL_MS: could not schedule the retention sweep: ${String(e)}`);
    });
    // Upserting is idempotent; repeating it brings the sweep back if Redis lost the scheduler (flush, failover).
    this.schedulerRefresh = setInterval(() => {
      this.producer
        .ensureRetentionScheduler(schedule)
        .catch((e: unknown) => this.logger.warn(`Could not refresh the retention scheduler: ${String(e)}`));
    }, RETENTION_SCHEDULER_REFRESH_MS);
    this.schedulerRefresh.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.schedulerRefresh);
  }

  async process(job: Job): Promise<unknown> {
    const name = job.name as PrivacyJob;
    switch (name) {
      case PrivacyJob.RetentionSweep:
        // Errors propagate: BullMQ retries the (idempotent) sweep with backoff.
        return this.retention.run(RETENTION_JOB_ACTOR);
      default: {
        const unknown: never = name;
        throw new Error(`No handler for privacy job ${String(unknown)}`);
      }
    }
  }
}
