import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { withRequestId } from '../common/request-context';
import { payoutsConfig } from '../config/configuration';
import { PayoutJobsProducer } from './jobs/payout-jobs.producer';
import { PAYOUT_SWEEP_BATCH_SIZE, StaleReason } from './jobs/payout-jobs';
import { PayoutStatus } from './payout.entity';
import { PayoutSettlementService } from './payout-settlement.service';
import { PayoutsRepository } from './payouts.repository';
import { ReversalStatus } from './reversals/reversal.entity';
import { ReversalsRepository } from './reversals/reversals.repository';
import { ReversalsService } from './reversals/reversals.service';

export interface PayoutSweepSummary {
  markingUnknown: number;
  resolving: number;
  resending: number;
  reversalsMarkingUnknown: number;
  reversalsResolving: number;
}

const STALE_NOTES: Record<StaleReason, { from: PayoutStatus; note: string }> = {
  result_lost: { from: PayoutStatus.Submitted, note: 'No result from M-Pesa in time' },
  // A worker that died between claiming a payout and hearing back from Daraja: it may or may not have sent it.
  sender_stopped: { from: PayoutStatus.Sending, note: 'The sending worker stopped before Daraja answered' },
};

/**
 * Finds, in Postgres, the payouts and reversals that need something (a result that never came, a sender that died,
 * an unknown due for another Transaction Status query, a send job lost with Redis, a payout waiting for a balance
 * answer) and enqueues one job per row; each job re-reads its row and re-checks its state, so one bad row never stops
 * the others.
 */
@Injectable()
export class PayoutSweepService {
  private readonly logger = new Logger(PayoutSweepService.name);

  constructor(
    @Inject(payoutsConfig.KEY) private readonly settings: ConfigType<typeof payoutsConfig>,
    private readonly payouts: PayoutsRepository,
    private readonly reversals: ReversalsRepository,
    private readonly reversalsService: ReversalsService,
    private readonly settlement: PayoutSettlementService,
    private readonly jobs: PayoutJobsProducer,
  ) {}

  async sweep(): Promise<PayoutSweepSummary> {
    const now = Date.now();
    const lostBefore = new Date(now - this.settings.resultWaitMs);
    const dueBefore = new Date(now - this.settings.statusCheckIntervalMs);
    const limit = PAYOUT_SWEEP_BATCH_SIZE;
    const [lost, stranded, due, stale, waiting, reversalsLost, reversalsDue] = await Promise.all([
      this.payouts.findStale(PayoutStatus.Submitted, 'submitted_at', lostBefore, limit),
      this.payouts.findStale(PayoutStatus.Sending, 'updated_at', lostBefore, limit),
      this.payouts.findStale(PayoutStatus.Unknown, 'updated_at', dueBefore, limit, { unflaggedOnly: true }),
      this.payouts.findStale(PayoutStatus.Pending, 'updated_at', dueBefore, limit, { waitingFor: null }),
      this.payouts.findStale(PayoutStatus.Pending, 'updated_at', new Date(now - this.settings.balanceRetryIntervalMs), limit, {
        waitingFor: 'balance',
      }),
      // A submitted reversal past its result's wait, or one whose request died before Daraja answered (pending).
      this.reversals.findStale([ReversalStatus.Submitted, ReversalStatus.Pending], lostBefore, limit),
      this.reversals.findStale([ReversalStatus.Unknown], dueBefore, limit),
    ]);
    for (const payout of lost) await this.jobs.enqueueMarkUnknown(payout.id, 'result_lost', payout.requestId);
    for (const payout of stranded) await this.jobs.enqueueMarkUnknown(payout.id, 'sender_stopped', payout.requestId);
    for (const payout of due) await this.jobs.enqueueResolve(payout.id, payout.statusChecks, 0, payout.requestId);
    // A pending payout whose send job was lost (Redis flush), or that waits for a balance answer: sent again (jobId dedupes).
    for (const payout of [...stale, ...waiting]) await this.jobs.enqueueSend(payout.id, payout.requestId);
    for (const reversal of reversalsLost) await this.jobs.enqueueReversalMarkUnknown(reversal.id, reversal.requestId);
    for (const reversal of reversalsDue) await this.jobs.enqueueReversalResolve(reversal.id, reversal.statusChecks, reversal.requestId);
    const summary = {
      markingUnknown: lost.length + stranded.length,
      resolving: due.length,
      resending: stale.length + waiting.length,
      reversalsMarkingUnknown: reversalsLost.length,
      reversalsResolving: reversalsDue.length,
    };
    if (Object.values(summary).some((n) => n > 0)) this.logger.log(`Payout sweep: ${JSON.stringify(summary)}`);
    return summary;
  }

  /** The mark-unknown job: re-checks that the payout is still where the sweep saw it, then marks it unknown. */
  async markUnknown(payoutId: string, reason: StaleReason): Promise<boolean> {
    const payout = await this.payouts.findById(payoutId);
    const { from, note } = STALE_NOTES[reason];
    if (!payout || payout.status !== from) return false;
    // Its changes and jobs are filed under the request that asked for the payout, not under the sweep.
    return withRequestId(payout.requestId, () => this.settlement.markUnknown(payout, note, [from]));
  }

  async markReversalUnknown(reversalId: string): Promise<void> {
    const reversal = await this.reversals.findById(reversalId);
    if (!reversal || (reversal.status !== ReversalStatus.Submitted && reversal.status !== ReversalStatus.Pending)) return;
    const why =
      reversal.status === ReversalStatus.Submitted ? 'No result from M-Pesa in time' : 'The request stopped before Daraja answered';
    await withRequestId(reversal.requestId, () => this.reversalsService.markUnknown(reversal.id, [reversal.status], why));
  }
}
