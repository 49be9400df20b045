import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { JobsOptions, Queue } from 'bullmq';
import { addJob, addJobs } from '../../common/queues/add-job';
import { traced } from '../../common/request-context';
import { AnyPaymentJob, JOB_DEFAULTS, PaymentJob, PAYMENTS_QUEUE } from './payment-jobs';

/** The jobs a sweep hands out, one per payment. */
export type PerPaymentJob = PaymentJob.StkPushRetry | PaymentJob.StkStatusQuery | PaymentJob.Expire;

/** The dedupe key of a payment's job: one of each kind per payment while it is queued (no `:`, BullMQ's separator). */
const JOB_ID_PREFIX: Record<PerPaymentJob, string> = {
  [PaymentJob.StkPushRetry]: 'stk-push-retry',
  [PaymentJob.StkStatusQuery]: 'stk-status-query',
  [PaymentJob.Expire]: 'payment-expire',
};

/** The only way to enqueue payment jobs: it sets the jobId (dedupe, derived from the payment id) and the options. */
@Injectable()
export class PaymentJobsProducer {
  constructor(@InjectQueue(PAYMENTS_QUEUE) private readonly queue: Queue) {}

  // Each job carries the request id of its payment (see Traced): given, else the one being handled now.
  async scheduleStkRetry(paymentId: string, requestId?: string | null): Promise<void> {
    await this.add(this.perPayment(PaymentJob.StkPushRetry, paymentId, requestId));
  }

  async enqueueStatusQuery(paymentId: string, requestId?: string | null): Promise<void> {
    await this.add(this.perPayment(PaymentJob.StkStatusQuery, paymentId, requestId));
  }

  async enqueueExpiry(paymentId: string, requestId?: string | null): Promise<void> {
    await this.add(this.perPayment(PaymentJob.Expire, paymentId, requestId));
  }

  /**
   * A sweep's page of jobs in one Redis round trip. addBulk runs the same add script per job as add(), so the jobId
   * still dedupes: a payment whose job is still queued is not queued twice.
   */
  async enqueueForPayments(jobs: { name: PerPaymentJob; paymentId: string; requestId: string | null }[]): Promise<void> {
    if (!jobs.length) return;
    await addJobs(
      this.queue,
      jobs.map(({ name, paymentId, requestId }) => this.perPayment(name, paymentId, requestId)),
    );
  }

  private perPayment(
    name: PerPaymentJob,
    paymentId: string,
    requestId?: string | null,
  ): { job: AnyPaymentJob; jobId: string; opts: JobsOptions } {
    const job = { name, data: { paymentId, ...traced(requestId) } } as AnyPaymentJob;
    return { job, jobId: `${JOB_ID_PREFIX[name]}-${paymentId}`, opts: JOB_DEFAULTS[name] };
  }

  private async add({ job, jobId, opts }: { job: AnyPaymentJob; jobId: string; opts: JobsOptions }): Promise<void> {
    await addJob(this.queue, job.name, job.data, { ...opts, jobId });
  }
}
