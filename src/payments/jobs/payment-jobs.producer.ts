import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import { addJob } from '../../common/queues/add-job';
import { traced } from '../../common/request-context';
import { AnyPaymentJob, JOB_DEFAULTS, PaymentJob, PAYMENTS_QUEUE } from './payment-jobs';

/** The only way to enqueue payment jobs: it sets the jobId (dedupe, derived from the payment id) and the options. */
@Injectable()
export class PaymentJobsProducer {
  constructor(@InjectQueue(PAYMENTS_QUEUE) private readonly queue: Queue) {}

  // Each job carries the request id of its payment (see Traced): given, else the one being handled now.
  async scheduleStkRetry(paymentId: string, requestId?: string | null): Promise<void> {
    await this.add({ name: PaymentJob.StkPushRetry, data: { paymentId, ...traced(requestId) } }, `stk-push-retry-${paymentId}`);
  }

  async enqueueStatusQuery(paymentId: string, requestId?: string | null): Promise<void> {
    await this.add({ name: PaymentJob.StkStatusQuery, data: { paymentId, ...traced(requestId) } }, `stk-status-query-${paymentId}`);
  }

  async enqueueExpiry(paymentId: string, requestId?: string | null): Promise<void> {
    await this.add({ name: PaymentJob.Expire, data: { paymentId, ...traced(requestId) } }, `payment-expire-${paymentId}`);
  }

  // jobId dedupes, so add() rather than addBulk(): a payment already queued is not queued twice.
  private async add(job: AnyPaymentJob, jobId: string): Promise<void> {
    await addJob(this.queue, job.name, job.data, { ...JOB_DEFAULTS[job.name], jobId });
  }
}
