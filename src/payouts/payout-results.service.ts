import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Actor, SYSTEM_ACTOR } from '../audit/audit.service';
import { redact } from '../common/redaction';
import { payoutsConfig } from '../config/configuration';
import { b2cResultDetails, ParsedResult, transactionStatusDetails } from '../mpesa/daraja-result.parser';
import { b2cOutcome } from '../mpesa/daraja-result-codes';
import { TransactionStatusService } from '../treasury/transaction-status.service';
import { PayoutStatus } from './payout.entity';
import { PayoutSettlementService } from './payout-settlement.service';
import { PayoutsRepository } from './payouts.repository';

/** Transaction Status answers meaning "this transaction does not exist / did not go through" (docs/daraja.md §8). */
const NOT_PROCESSED_CODES = new Set(['2033']);
const NOT_PROCESSED_STATUSES = /^(failed|cancelled|declined|expired)$/i;
/** States in which a payout's outcome is still open: a result may settle it. */
export const UNRESOLVED_STATUSES = [PayoutStatus.Sending, PayoutStatus.Submitted, PayoutStatus.Unknown];

/** What M-Pesa says of a payout: its B2C result, its queue timeout, and Transaction Status's answers about it. */
@Injectable()
export class PayoutResultsService {
  constructor(
    @Inject(payoutsConfig.KEY) private readonly settings: ConfigType<typeof payoutsConfig>,
    private readonly payouts: PayoutsRepository,
    private readonly settlement: PayoutSettlementService,
    private readonly statusQueries: TransactionStatusService,
  ) {}

  /** The B2C result (ResultURL): definitive either way. */
  async applyResult(payoutId: string, result: ParsedResult, actor: Actor): Promise<'applied' | 'duplicate' | 'flagged'> {
    const payout = await this.payouts.findById(payoutId);
    if (!payout) return 'duplicate';
    if (result.originatorConversationId && result.originatorConversationId !== payout.originatorConversationId) {
      await this.settlement.flag(
        payout,
        'result_id_mismatch',
        `Result for ${result.originatorConversationId} arrived on this payout's URL`,
        actor,
      );
      return 'flagged';
    }
    if (result.resultCode === '0') {
      const details = b2cResultDetails(result);
      if (details.amount !== undefined && Math.round(details.amount) !== payout.amount) {
        await this.settlement.flag(
          payout,
          'result_amount_mismatch',
          `M-Pesa paid KES ${details.amount}, the payout was KES ${payout.amount}`,
          actor,
        );
        return 'flagged';
      }
      const receipt = details.receipt ?? result.transactionId;
      const applied = await this.settlement.finish(
        payout,
        PayoutStatus.Completed,
        {
          settledBy: 'result_callback',
          transactionId: receipt,
          resultCode: result.resultCode,
          resultDesc: result.resultDesc,
          resultPayload: redact(result.parameters),
        },
        UNRESOLVED_STATUSES,
        undefined,
        actor,
      );
      if (!applied && payout.status === PayoutStatus.Failed) {
        // We had concluded it did not pay; M-Pesa says it did. A person must reconcile before anyone retries.
        await this.settlement.flag(payout, 'paid_after_failed', `M-Pesa reports receipt ${receipt} for a payout marked failed`, actor);
        return 'flagged';
      }
      return applied ? 'applied' : 'duplicate';
    }
    if (b2cOutcome(result.resultCode).outcome === 'duplicate') {
      // "Duplicate OriginatorConversationID" says nothing of whether the first request paid: ask Transaction Status.
      const changed = await this.settlement.markUnknown(payout, `Result ${result.resultCode}: ${result.resultDesc}`, UNRESOLVED_STATUSES);
      return changed ? 'applied' : 'duplicate';
    }
    const applied = await this.settlement.finish(
      payout,
      PayoutStatus.Failed,
      { settledBy: 'result_callback', resultCode: result.resultCode, resultDesc: result.resultDesc },
      UNRESOLVED_STATUSES,
      undefined,
      actor,
    );
    return applied ? 'applied' : 'duplicate';
  }

  /** Whatever arrives on the QueueTimeOutURL is a timeout, whatever its code says: the payout may still have paid. */
  async applyTimeout(payoutId: string, result: ParsedResult | undefined): Promise<'applied' | 'duplicate'> {
    const payout = await this.payouts.findById(payoutId);
    if (!payout) return 'duplicate';
    const changed = await this.settlement.markUnknown(payout, `Queue timeout: ${result?.resultDesc ?? 'no description'}`, [
      PayoutStatus.Sending,
      PayoutStatus.Submitted,
    ]);
    return changed ? 'applied' : 'duplicate';
  }

  /** The resolve job: one Transaction Status query, or hand the payout to a person after too many. */
  async resolve(payoutId: string): Promise<void> {
    const payout = await this.payouts.findById(payoutId);
    if (!payout || payout.status !== PayoutStatus.Unknown || payout.reviewReason) return;
    if (payout.statusChecks >= this.settings.maxStatusChecks) {
      await this.settlement.flag(
        payout,
        'unresolved_after_status_checks',
        `Transaction Status did not settle it after ${payout.statusChecks} queries`,
        SYSTEM_ACTOR,
      );
      return;
    }
    if (!(await this.payouts.countStatusCheck(payout.id, payout.statusChecks))) return;
    await this.statusQueries.query({ originatorConversationId: payout.originatorConversationId, payoutId: payout.id }, SYSTEM_ACTOR);
  }

  /** A Transaction Status result for a payout: paid means completed; confirmed not processed means failed. */
  async applyStatusResult(payoutId: string, result: ParsedResult, actor: Actor): Promise<'applied' | 'unchanged'> {
    const payout = await this.payouts.findById(payoutId);
    if (!payout || !UNRESOLVED_STATUSES.includes(payout.status)) return 'unchanged';
    const details = transactionStatusDetails(result);
    if (result.resultCode === '0' && details.status && /^completed$/i.test(details.status)) {
      if (details.amount !== undefined && Math.round(details.amount) !== payout.amount) {
        await this.settlement.flag(
          payout,
          'status_amount_mismatch',
          `Transaction Status shows KES ${details.amount}, the payout was KES ${payout.amount}`,
          actor,
        );
        return 'applied';
      }
      const applied = await this.settlement.finish(
        payout,
        PayoutStatus.Completed,
        {
          settledBy: 'transaction_status',
          transactionId: details.receiptNo ?? null,
          resultCode: result.resultCode,
          resultDesc: `Confirmed by Transaction Status: ${details.status}`,
        },
        UNRESOLVED_STATUSES,
        undefined,
        actor,
      );
      return applied ? 'applied' : 'unchanged';
    }
    if (NOT_PROCESSED_CODES.has(result.resultCode) || (details.status && NOT_PROCESSED_STATUSES.test(details.status))) {
      // Confirmed not paid: failed, and nothing is resent automatically (an admin may retry with a new id).
      const applied = await this.settlement.finish(
        payout,
        PayoutStatus.Failed,
        {
          settledBy: 'transaction_status',
          resultCode: result.resultCode,
          resultDesc: `Not processed by M-Pesa: ${details.status ?? result.resultDesc}`,
        },
        UNRESOLVED_STATUSES,
        undefined,
        actor,
      );
      return applied ? 'applied' : 'unchanged';
    }
    return 'unchanged';
  }
}
