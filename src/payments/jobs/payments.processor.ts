import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Job } from 'bullmq';
import { runJobInContext } from '../../common/request-context';
import { workerConfig } from '../../config/configuration';
import { DARAJA_RESEND_BACKOFF, darajaResendBackoff } from '../../mpesa/daraja-resend-policy';
import { PaymentSweepService } from '../payment-sweep.service';
import { StkPushService } from '../stk-push.service';
import { PaymentJob, PaymentJobPayloads, PAYMENTS_QUEUE } from './payment-jobs';
import { WORKER_LOCKS } from '../../common/queues/worker-options';

/** Thrown so that BullMQ backs off and runs the job again (Daraja did not take the request yet). */
class NotYetAcceptedError extends Error {}

@Processor(PAYMENTS_QUEUE, {
  ...WORKER_LOCKS,
  concurrency: 8,
  settings: {
    backoffStrategy: (attemptsMade: number, type?: string) => (type === DARAJA_RESEND_BACKOFF ? darajaResendBackoff(attemptsMade) : 1_000),
  },
})
export class PaymentsProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    @Inject(workerConfig.KEY) private readonly settings: ConfigType<typeof workerConfig>,
    private readonly stkPush: StkPushService,
    private readonly sweeps: PaymentSweepService,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.settings.concurrency;
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
        if (result === 'retry') throw new NotYetAcceptedError(`Daraja has not accepted the push for payment ${paymentId} yet`);
        return result;
      }
      case PaymentJob.StkStatusQuery: {
        const { paymentId } = job.data as PaymentJobPayloads[PaymentJob.StkStatusQuery];
        // Transient Daraja errors propagate: BullMQ retries, and the next sweep tries again after that.
        return this.sweeps.queryStatus(paymentId, isFinalAttempt);
      }
      case PaymentJob.Expire: {
        const { paymentId } = job.data as PaymentJobPayloads[PaymentJob.Expire];
        return this.sweeps.expire(paymentId);
      }
      case PaymentJob.StatusSweep:
        return this.sweeps.sweep();
      default: {
        const unknown: never = name;
        throw new Error(`No handler for payment job ${String(unknown)}`);
      }
    }
  }
}
