import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Job } from 'bullmq';
import { alertsConfig } from '../../config/configuration';
import { AlertsService } from '../alerts.service';
import { ALERT_SCHEDULER_REFRESH_MS, ALERTS_QUEUE, AlertJob } from './alert-jobs';
import { AlertJobsProducer } from './alert-jobs.producer';

@Processor(ALERTS_QUEUE, { concurrency: 1 })
export class AlertsProcessor extends WorkerHost implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AlertsProcessor.name);
  private schedulerRefresh?: NodeJS.Timeout;

  constructor(
    @Inject(alertsConfig.KEY) private readonly settings: ConfigType<typeof alertsConfig>,
    private readonly alerts: AlertsService,
    private readonly producer: AlertJobsProducer,
  ) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.settings.enabled) {
      // Another replica may still carry the scheduler from before ALERTS_ENABLED=false.
      await this.producer.removeEvaluationScheduler();
      return;
    }
    const ensure = () => this.producer.ensureEvaluationScheduler(this.settings.evaluationIntervalMs);
    await ensure();
    this.schedulerRefresh = setInterval(() => {
      ensure().catch((e: unknown) => this.logger.warn(`Could not refresh the alert scheduler: ${String(e)}`));
    }, ALERT_SCHEDULER_REFRESH_MS);
    this.schedulerRefresh.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.schedulerRefresh);
  }

  async process(job: Job): Promise<unknown> {
    const name = job.name as AlertJob;
    switch (name) {
      case AlertJob.Evaluate:
        return this.alerts.evaluate();
      default: {
        const unknown: never = name;
        throw new Error(`No handler for alert job ${String(unknown)}`);
      }
    }
  }
}
