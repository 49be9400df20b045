import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Job } from 'bullmq';
import { runJobInContext } from '../../common/request-context';
import { workerConfig } from '../../config/configuration';
import { PaymentSweepService } from '../payment-sweep.service';
import { PayoutsService } from '../payouts/payouts.service';
import { StkPushService } from '../stk-push.service';
import { PaymentJob, PaymentJobPayloads, PAYMENTS_QUEUE, SCHEDULER_REFRESH_MS, STK_RETRY_BACKOFF, stkRetryBackoff } from './payment-jobs';
import { PaymentJobsProducer } from './payment-jobs.producer';

class PushNotYetAcceptedError extends Error {}

@Processor(PAYMENTS_QUEUE, {
  concurrency: 8,
  settings: {
    backoffStrategy: (attemptsMade: number, type?: string) => (type === STK_RETRY_BACKOFF ? stkRetryBackoff(attemptsMade) : 1_000),
  },
})
export class PaymentsProcessor extends WorkerHost implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(PaymentsProcessor.name);

  constructor(
    @Inject(workerConfig.KEY) private readonly settings: ConfigType<typeof workerConfig>,
    private readonly stkPush: StkPushService,
    private readonly sweeps: PaymentSweepService,
    private readonly producer: PaymentJobsProducer,
    private readonly payouts: PayoutsService,
  ) {
    super();
  }

  private schedulerRefresh?: NodeJS.Timeout;

  async onApplicationBootstrap(): Promise<void> {
    this.worker.concurrency = this.settings.concurrency;
    await this.producer.ensureSweepScheduler(this.settings.sweepIntervalMs);
    // Upserting is idempotent; repeating it brings the sweep back if Redis lost the scheduler (flush, failover).
    this.schedulerRefresh = setInterval(() => {
      this.producer
        .ensureSweepScheduler(this.settings.sweepIntervalMs)
        .catch((e: unknown) => this.logger.warn(`Could not refresh the sweep scheduler: ${String(e)}`));
    }, SCHEDULER_REFRESH_MS);
    this.schedulerRefresh.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.schedulerRefresh);
  }

  process(job: Job): Promise<unknown> {
    return runJobInContext(job, () => this.handle(job));
  }

  private async handle(job: Job): Promise<unknown> {
    const name = job.name as PaymentJob;
    const isFinalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    switch (name) {
      case PaymentJob.StkPushRetry: {
        const { paymentId, requestId } = job.data as PaymentJobPayloads[PaymentJob.StkPushRetry];
        const result = await this.stkPush.retry(paymentId, requestId, isFinalAttempt);
        // Throwing hands the wait to BullMQ's backoff (1 s, 2 s, 5 s in all).
        if (result === 'retry') throw new PushNotYetAcceptedError(`Daraja has not accepted the push for payment ${paymentId} yet`);
        return result;
      }
      case PaymentJob.StkStatusQuery: {
        const { paymentId } = job.data as PaymentJobPayloads[PaymentJob.StkStatusQuery];
        // Transient Daraja errors propagate: BullMQ retries, and the next sweep tries again after that.
        return this.sweeps.queryStatus(paymentId, isFinalAttempt);
      }
      case PaymentJob.StatusSweep:
        return { payments: await this.sweeps.sweep(), payouts: await this.payouts.sweep() };
      case PaymentJob.PayoutSend: {
        const { payoutId } = job.data as PaymentJobPayloads[PaymentJob.PayoutSend];
        const result = await this.payouts.send(payoutId, isFinalAttempt);
        if (result === 'retry') throw new PushNotYetAcceptedError(`Daraja has not accepted payout ${payoutId} yet`);
        return result;
      }
      case PaymentJob.PayoutResolve: {
        const { payoutId } = job.data as PaymentJobPayloads[PaymentJob.PayoutResolve];
        return this.payouts.resolve(payoutId);
      }
      default: {
        const unknown: never = name;
        throw new Error(`No handler for payment job ${String(unknown)}`);
      }
    }
  }
}
