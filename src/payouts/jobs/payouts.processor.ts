import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { runJobInContext } from '../../common/request-context';
import { DARAJA_RESEND_BACKOFF, darajaResendBackoff } from '../../mpesa/daraja-resend-policy';
import { PayoutResultsService } from '../payout-results.service';
import { PayoutSenderService } from '../payout-sender.service';
import { PayoutSweepService } from '../payout-sweep.service';
import { ReversalsService } from '../reversals/reversals.service';
import { PayoutJob, PayoutJobPayloads, PAYOUTS_QUEUE } from './payout-jobs';
import { WORKER_LOCKS } from '../../common/queues/worker-options';

/** Thrown so that BullMQ backs off and runs the job again (Daraja did not take the request yet). */
class NotYetAcceptedError extends Error {}

@Processor(PAYOUTS_QUEUE, {
  ...WORKER_LOCKS,
  concurrency: 4,
  settings: {
    // A payout's first send is the job's own first run (an STK push's is made in its request, so its job starts at the
    // first resend): attempt n (1-based) that failed is resent after DARAJA_RESEND_DELAYS_MS[n - 1], i.e. 1 s, 2 s, 5 s.
    backoffStrategy: (attemptsMade: number, type?: string) =>
      type === DARAJA_RESEND_BACKOFF ? darajaResendBackoff(Math.max(0, attemptsMade - 1)) : 1_000,
  },
})
export class PayoutsProcessor extends WorkerHost {
  constructor(
    private readonly sender: PayoutSenderService,
    private readonly results: PayoutResultsService,
    private readonly sweeps: PayoutSweepService,
    private readonly reversals: ReversalsService,
  ) {
    super();
  }

  process(job: Job): Promise<unknown> {
    return runJobInContext(job, () => this.handle(job));
  }

  private async handle(job: Job): Promise<unknown> {
    const name = job.name as PayoutJob;
    const isFinalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    switch (name) {
      case PayoutJob.Send: {
        const { payoutId } = job.data as PayoutJobPayloads[PayoutJob.Send];
        const result = await this.sender.send(payoutId, isFinalAttempt);
        if (result === 'retry') throw new NotYetAcceptedError(`Daraja has not accepted payout ${payoutId} yet`);
        return result;
      }
      case PayoutJob.Resolve: {
        const { payoutId } = job.data as PayoutJobPayloads[PayoutJob.Resolve];
        return this.results.resolve(payoutId);
      }
      case PayoutJob.MarkUnknown: {
        const { payoutId, reason } = job.data as PayoutJobPayloads[PayoutJob.MarkUnknown];
        return this.sweeps.markUnknown(payoutId, reason);
      }
      case PayoutJob.ReversalResolve: {
        const { reversalId } = job.data as PayoutJobPayloads[PayoutJob.ReversalResolve];
        return this.reversals.resolve(reversalId);
      }
      case PayoutJob.ReversalMarkUnknown: {
        const { reversalId } = job.data as PayoutJobPayloads[PayoutJob.ReversalMarkUnknown];
        return this.sweeps.markReversalUnknown(reversalId);
      }
      case PayoutJob.Sweep:
        return this.sweeps.sweep();
      default: {
        const unknown: never = name;
        throw new Error(`No handler for payout job ${String(unknown)}`);
      }
    }
  }
}
