import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Actor, SYSTEM_ACTOR } from '../audit/audit.service';
import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { FIELDS } from '../common/crypto/sealed-field';
import { maskPhone, normalizeKenyanPhone } from '../common/phone-number';
import { redact } from '../common/redaction';
import { payoutsConfig } from '../config/configuration';
import { b2cResultDetails, ParsedResult, transactionStatusDetails } from '../mpesa/daraja-result.parser';
import { b2cOutcome, transactionStatusState } from '../mpesa/daraja-result-codes';
import { ReviewReason } from '../reviews/review.entity';
import { TransactionStatusService } from '../treasury/transaction-status.service';
import { Payout, PAYOUT_OPEN_STATUSES, PayoutStatus } from './payout.entity';
import { PayoutSettlementService } from './payout-settlement.service';
import { PayoutsRepository } from './payouts.repository';

/** Transaction Status's "the transaction does not exist / cannot be found" (docs/daraja.md §8). */
export const NOT_FOUND_CODE = '2033';
/** "Not found" answers that make a payout old enough "not paid" (the first may only mean M-Pesa has not indexed it). */
export const NOT_FOUND_ANSWERS_FOR_FAILED = 2;

/** What M-Pesa says of a payout: its B2C result, its queue timeout, and Transaction Status's answers about it. */
@Injectable()
export class PayoutResultsService {
  constructor(
    @Inject(payoutsConfig.KEY) private readonly settings: ConfigType<typeof payoutsConfig>,
    private readonly payouts: PayoutsRepository,
    private readonly settlement: PayoutSettlementService,
    private readonly statusQueries: TransactionStatusService,
    private readonly crypto: FieldEncryptionService,
  ) {}

  /**
   * The B2C result (ResultURL): definitive either way, accepted in every state whose outcome is still open (pending
   * between resends included). A success that contradicts what we concluded, or that paid another amount or another
   * phone, is kept in a review rather than applied.
   */
  async applyResult(payoutId: string, result: ParsedResult, actor: Actor): Promise<'applied' | 'duplicate' | 'flagged'> {
    const payout = await this.payouts.findById(payoutId);
    if (!payout) return 'duplicate';
    const payload = redact(result.parameters);
    if (result.originatorConversationId && result.originatorConversationId !== payout.originatorConversationId) {
      await this.settlement.flag(
        payout,
        ReviewReason.IdMismatch,
        {
          source: 'result',
          detail: `Result for ${result.originatorConversationId} arrived on this payout's URL`,
          resultCode: result.resultCode,
          resultDesc: result.resultDesc,
          payload,
        },
        actor,
      );
      return 'flagged';
    }
    if (result.resultCode === '0') {
      const details = b2cResultDetails(result);
      const receipt = details.receipt ?? result.transactionId ?? null;
      const evidence = {
        source: 'result' as const,
        receipt,
        amount: details.amount ?? null,
        resultCode: result.resultCode,
        resultDesc: result.resultDesc,
        payload,
      };
      if (payout.status === PayoutStatus.Completed) {
        if (!receipt || receipt === payout.transactionId) return 'duplicate';
        await this.settlement.flag(
          payout,
          ReviewReason.ContradictingResult,
          { ...evidence, detail: `A second receipt ${receipt} for a payout paid with ${payout.transactionId}` },
          actor,
        );
        return 'flagged';
      }
      if (payout.status === PayoutStatus.Failed) {
        // We had concluded it did not pay; M-Pesa says it did. A person must reconcile before anyone retries.
        await this.settlement.flag(
          payout,
          ReviewReason.ContradictingResult,
          { ...evidence, detail: `M-Pesa reports receipt ${receipt} for a payout marked failed` },
          actor,
        );
        return 'flagged';
      }
      if (details.amount !== undefined && Math.round(details.amount) !== payout.amount) {
        await this.settlement.flag(
          payout,
          ReviewReason.AmountMismatch,
          { ...evidence, detail: `M-Pesa paid KES ${details.amount}, the payout was KES ${payout.amount}` },
          actor,
        );
        return 'flagged';
      }
      const receiver = this.otherReceiver(payout, details.receiverMsisdn);
      if (receiver) {
        await this.settlement.flag(
          payout,
          ReviewReason.ReceiverMismatch,
          { ...evidence, receiver, detail: `M-Pesa paid ${receiver}, not the payout's phone` },
          actor,
        );
        return 'flagged';
      }
      const applied = await this.settlement.finish(
        payout,
        PayoutStatus.Completed,
        {
          settledBy: 'result_callback',
          transactionId: receipt,
          resultCode: result.resultCode,
          resultDesc: result.resultDesc,
          resultPayload: payload,
        },
        PAYOUT_OPEN_STATUSES,
        undefined,
        actor,
      );
      return applied ? 'applied' : 'duplicate';
    }
    if (b2cOutcome(result.resultCode).outcome === 'duplicate') {
      // "Duplicate OriginatorConversationID" says nothing of whether the first request paid: ask Transaction Status.
      const changed = await this.settlement.markUnknown(payout, `Result ${result.resultCode}: ${result.resultDesc}`, PAYOUT_OPEN_STATUSES);
      return changed ? 'applied' : 'duplicate';
    }
    const applied = await this.settlement.finish(
      payout,
      PayoutStatus.Failed,
      { settledBy: 'result_callback', resultCode: result.resultCode, resultDesc: result.resultDesc },
      PAYOUT_OPEN_STATUSES,
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
        ReviewReason.PayoutUnresolved,
        { source: 'transaction_status', detail: `Transaction Status did not settle it after ${payout.statusChecks} queries` },
        SYSTEM_ACTOR,
      );
      return;
    }
    if (!(await this.payouts.countStatusCheck(payout.id, payout.statusChecks))) return;
    await this.statusQueries.query({ originatorConversationId: payout.originatorConversationId, payoutId: payout.id }, SYSTEM_ACTOR);
  }

  /**
   * A Transaction Status result for a payout: paid means completed; confirmed not paid (a final not-paid status, or
   * "not found" twice for a payout old enough to be found) means failed; anything else leaves it for the next query.
   */
  async applyStatusResult(payoutId: string, result: ParsedResult, actor: Actor): Promise<'applied' | 'unchanged'> {
    const payout = await this.payouts.findById(payoutId);
    if (!payout) return 'unchanged';
    const details = transactionStatusDetails(result);
    const state = result.resultCode === '0' ? transactionStatusState(details.status) : 'unknown';
    const evidence = {
      source: 'transaction_status' as const,
      receipt: details.receiptNo ?? null,
      amount: details.amount ?? null,
      resultCode: result.resultCode,
    };
    if (payout.status === PayoutStatus.Failed && state === 'completed') {
      // Evidence of money for a payout we concluded had not paid: never dropped.
      await this.settlement.flag(
        payout,
        ReviewReason.ContradictingResult,
        { ...evidence, detail: `Transaction Status reports ${details.status} for a payout marked failed` },
        actor,
      );
      return 'applied';
    }
    if (!(PAYOUT_OPEN_STATUSES as PayoutStatus[]).includes(payout.status)) return 'unchanged';
    if (state === 'completed') {
      if (details.amount !== undefined && Math.round(details.amount) !== payout.amount) {
        await this.settlement.flag(
          payout,
          ReviewReason.AmountMismatch,
          { ...evidence, detail: `Transaction Status shows KES ${details.amount}, the payout was KES ${payout.amount}` },
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
        PAYOUT_OPEN_STATUSES,
        undefined,
        actor,
      );
      return applied ? 'applied' : 'unchanged';
    }
    if (state === 'failed' || (result.resultCode === NOT_FOUND_CODE && (await this.notFoundLongEnough(payout)))) {
      // Confirmed not paid: failed, and nothing is resent automatically (an admin may retry, once, with a new id).
      const applied = await this.settlement.finish(
        payout,
        PayoutStatus.Failed,
        {
          settledBy: 'transaction_status',
          resultCode: result.resultCode,
          resultDesc: `Not processed by M-Pesa: ${details.status ?? result.resultDesc}`,
        },
        PAYOUT_OPEN_STATUSES,
        undefined,
        actor,
      );
      return applied ? 'applied' : 'unchanged';
    }
    return 'unchanged';
  }

  /**
   * "Not found" right after a send may only mean M-Pesa has not indexed the request yet: it counts as "not paid" only
   * for a payout older than PAYOUT_NOT_FOUND_MIN_AGE_MS, and only on its second such answer.
   */
  private async notFoundLongEnough(payout: Payout): Promise<boolean> {
    const answers = await this.payouts.countNotFound(payout.id);
    return answers >= NOT_FOUND_ANSWERS_FOR_FAILED && payout.createdAt.getTime() < Date.now() - this.settings.notFoundMinAgeMs;
  }

  /** The receiver M-Pesa names, masked, when it is not the payout's phone; undefined when it is (or cannot tell). */
  private otherReceiver(payout: Payout, receiverMsisdn: string | undefined): string | undefined {
    if (!receiverMsisdn) return undefined;
    const phone = normalizeKenyanPhone(receiverMsisdn);
    if (phone) return this.crypto.lookupHash(phone) === payout.phoneNumberHash ? undefined : maskPhone(phone);
    // A masked number (`2547****149`): compare what it shows.
    const ours = maskPhone(this.crypto.decrypt(payout.phoneNumberEncrypted, FIELDS.payoutPhone(payout.id)));
    return /^\d{4}\*+\d{3}$/.test(receiverMsisdn) && receiverMsisdn.replace(/\*+/, '****') !== ours ? receiverMsisdn : undefined;
  }
}
