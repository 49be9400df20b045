import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { withRequestId } from '../common/request-context';
import { payoutsConfig } from '../config/configuration';
import { PayoutJobsProducer } from './jobs/payout-jobs.producer';
import { PAYOUT_SWEEP_BATCH_SIZE, StaleReason } from './jobs/payout-jobs';
import { PayoutStatus } from './payout.entity';
import { PayoutSettlementService } from './payout-settlement.service';
import { PayoutsRepository } from './payouts.repository';

export interface PayoutSweepSummary {
  markingUnknown: number;
  resolving: number;
  resending: number;
}

const STALE_NOTES: Record<StaleReason, { from: PayoutStatus; note: string }> = {
  result_lost: { from: PayoutStatus.Submitted, note: 'No result from M-Pesa in time' },
  // A worker that died between claiming a payout and hearing back from Daraja: it may or may not have sent it.
  sender_stopped: { from: PayoutStatus.Sending, note: 'The sending worker stopped before Daraja answered' },
};

/**
 * Finds, in Postgres, the payouts that need something (a result that never came, a sender that died, an unknown due
 * for another Transaction Status query, a send job lost with Redis) and enqueues one job per payout; each job re-reads
 * its payout and re-checks its state, so one bad row never stops the others.
 */
@Injectable()
export class PayoutSweepService {
  private readonly logger = new Logger(PayoutSweepService.name);

  constructor(
    @Inject(payoutsConfig.KEY) private readonly settings: ConfigType<typeof payoutsConfig>,
    private readonly payouts: PayoutsRepository,
    private readonly settlement: PayoutSettlementService,
    private readonly jobs: PayoutJobsProducer,
  ) {}

  async sweep(): Promise<PayoutSweepSummary> {
    const lostBefore = new Date(Date.now() - this.settings.resultWaitMs);
    const dueBefore = new Date(Date.now() - this.settings.statusCheckIntervalMs);
    const limit = PAYOUT_SWEEP_BATCH_SIZE;
    const [lost, stranded, due, stale] = await Promise.all([
      this.payouts.findStale(PayoutStatus.Submitted, 'submitted_at', lostBefore, limit),
      this.payouts.findStale(PayoutStatus.Sending, 'updated_at', lostBefore, limit),
      this.payouts.findStale(PayoutStatus.Unknown, 'updated_at', dueBefore, limit, { unflaggedOnly: true }),
      this.payouts.findStale(PayoutStatus.Pending, 'updated_at', dueBefore, limit),
    ]);
    for (const payout of lost) await this.jobs.enqueueMarkUnknown(payout.id, 'result_lost', payout.requestId);
    for (const payout of stranded) await this.jobs.enqueueMarkUnknown(payout.id, 'sender_stopped', payout.requestId);
    for (const payout of due) await this.jobs.enqueueResolve(payout.id, payout.statusChecks, 0, payout.requestId);
    // A pending payout whose send job was lost (Redis flush) is queued again; jobId dedupes.
    for (const payout of stale) await this.jobs.enqueueSend(payout.id, payout.requestId);
    const summary = { markingUnknown: lost.length + stranded.length, resolving: due.length, resending: stale.length };
    if (summary.markingUnknown || summary.resolving || summary.resending) this.logger.log(`Payout sweep: ${JSON.stringify(summary)}`);
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
}
