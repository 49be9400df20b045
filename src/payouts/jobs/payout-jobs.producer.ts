import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import { addJob } from '../../common/queues/add-job';
import { traced } from '../../common/request-context';
import { AnyPayoutJob, PAYOUT_JOB_DEFAULTS, PayoutJob, PAYOUTS_QUEUE, StaleReason } from './payout-jobs';

/** The only way to enqueue payout jobs: it sets the jobId (dedupe, derived from the payout id) and the options. */
@Injectable()
export class PayoutJobsProducer {
  constructor(@InjectQueue(PAYOUTS_QUEUE) private readonly queue: Queue) {}

  async enqueueSend(payoutId: string, requestId?: string | null): Promise<void> {
    await this.add({ name: PayoutJob.Send, data: { payoutId, ...traced(requestId) } }, `payout-send-${payoutId}`);
  }

  /** The check number in the id lets each sweep ask again once the previous check finished. */
  async enqueueResolve(payoutId: string, check: number, delayMs = 0, requestId?: string | null): Promise<void> {
    await this.add({ name: PayoutJob.Resolve, data: { payoutId, ...traced(requestId) } }, `payout-resolve-${payoutId}-${check}`, delayMs);
  }

  async enqueueMarkUnknown(payoutId: string, reason: StaleReason, requestId?: string | null): Promise<void> {
    await this.add({ name: PayoutJob.MarkUnknown, data: { payoutId, reason, ...traced(requestId) } }, `payout-mark-unknown-${payoutId}`);
  }

  async enqueueReversalResolve(reversalId: string, check: number, requestId?: string | null): Promise<void> {
    await this.add(
      { name: PayoutJob.ReversalResolve, data: { reversalId, ...traced(requestId) } },
      `reversal-resolve-${reversalId}-${check}`,
    );
  }

  async enqueueReversalMarkUnknown(reversalId: string, requestId?: string | null): Promise<void> {
    await this.add(
      { name: PayoutJob.ReversalMarkUnknown, data: { reversalId, ...traced(requestId) } },
      `reversal-mark-unknown-${reversalId}`,
    );
  }

  // jobId dedupes, so add() rather than addBulk(): a payout already queued is not queued twice.
  private async add(job: AnyPayoutJob, jobId: string, delay?: number): Promise<void> {
    await addJob(this.queue, job.name, job.data, { ...PAYOUT_JOB_DEFAULTS[job.name], jobId, ...(delay ? { delay } : {}) });
  }
}
