import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import { currentRequestId, Traced } from '../../common/request-context';
import { AnyPaymentJob, JOB_DEFAULTS, PaymentJob, PaymentJobOf, PAYMENTS_QUEUE, SWEEP_SCHEDULER_ID } from './payment-jobs';

function traced(requestId: string | null | undefined): Traced {
  const id = requestId ?? currentRequestId();
  return id ? { requestId: id } : {};
}

/** The only way to enqueue payment jobs: it sets the jobId (dedupe) and the options for each job name. */
@Injectable()
export class PaymentJobsProducer {
  constructor(@InjectQueue(PAYMENTS_QUEUE) private readonly queue: Queue) {}

  // Each job carries the request id of its payment or payout (see Traced): given, else the one being handled now.
  async scheduleStkRetry(paymentId: string, requestId?: string | null): Promise<void> {
    await this.add({ name: PaymentJob.StkPushRetry, data: { paymentId, ...traced(requestId) } }, `stk-push-retry-${paymentId}`);
  }

  async enqueueStatusQuery(paymentId: string, requestId?: string | null): Promise<void> {
    await this.add({ name: PaymentJob.StkStatusQuery, data: { paymentId, ...traced(requestId) } }, `stk-status-query-${paymentId}`);
  }

  async enqueuePayoutSend(payoutId: string, requestId?: string | null): Promise<void> {
    await this.add({ name: PaymentJob.PayoutSend, data: { payoutId, ...traced(requestId) } }, `payout-send-${payoutId}`);
  }

  /** The check number in the id lets each sweep ask again once the previous check finished. */
  async enqueuePayoutResolve(payoutId: string, check: number, delayMs = 0, requestId?: string | null): Promise<void> {
    const job: PaymentJobOf<PaymentJob.PayoutResolve> = { name: PaymentJob.PayoutResolve, data: { payoutId, ...traced(requestId) } };
    await this.queue.add(job.name, job.data, { ...JOB_DEFAULTS[PaymentJob.PayoutResolve], jobId: `payout-resolve-${payoutId}-${check}`, delay: delayMs });
  }

  /** One scheduler for the whole fleet: upserting the same id from every worker is harmless. */
  async ensureSweepScheduler(everyMs: number): Promise<void> {
    await this.queue.upsertJobScheduler(SWEEP_SCHEDULER_ID, { every: everyMs }, {
      name: PaymentJob.StatusSweep,
      data: {},
      opts: JOB_DEFAULTS[PaymentJob.StatusSweep],
    });
  }

  // jobId dedupes, so add() rather than addBulk(): a payment already queued is not queued twice.
  private async add(job: AnyPaymentJob, jobId: string): Promise<void> {
    await this.queue.add(job.name, job.data, { ...JOB_DEFAULTS[job.name], jobId });
  }
}
