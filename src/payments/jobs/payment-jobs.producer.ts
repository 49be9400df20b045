import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import { AnyPaymentJob, JOB_DEFAULTS, PaymentJob, PAYMENTS_QUEUE, SWEEP_SCHEDULER_ID } from './payment-jobs';

/** The only way to enqueue payment jobs: it sets the jobId (dedupe) and the options for each job name. */
@Injectable()
export class PaymentJobsProducer {
  constructor(@InjectQueue(PAYMENTS_QUEUE) private readonly queue: Queue) {}

  async scheduleStkRetry(paymentId: string, requestId?: string): Promise<void> {
    await this.add({ name: PaymentJob.StkPushRetry, data: { paymentId, requestId } }, `stk-push-retry-${paymentId}`);
  }

  async enqueueStatusQuery(paymentId: string): Promise<void> {
    await this.add({ name: PaymentJob.StkStatusQuery, data: { paymentId } }, `stk-status-query-${paymentId}`);
  }

  async enqueuePayoutSend(payoutId: string): Promise<void> {
    await this.add({ name: PaymentJob.PayoutSend, data: { payoutId } }, `payout-send-${payoutId}`);
  }

  /** The check number in the id lets each sweep ask again once the previous check finished. */
  async enqueuePayoutResolve(payoutId: string, check: number, delayMs = 0): Promise<void> {
    await this.queue.add(PaymentJob.PayoutResolve, { payoutId }, { ...JOB_DEFAULTS[PaymentJob.PayoutResolve], jobId: `payout-resolve-${payoutId}-${check}`, delay: delayMs });
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
