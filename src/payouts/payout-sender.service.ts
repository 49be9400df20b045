import { Injectable, Logger } from '@nestjs/common';
import { SYSTEM_ACTOR } from '../audit/audit.service';
import { CallbackUrls } from '../callbacks/callback-urls';
import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { FIELDS } from '../common/crypto/sealed-field';
import { redactText } from '../common/redaction';
import { DarajaError, DarajaOutcome, isDuplicateOriginatorConversationId } from '../mpesa/daraja-errors';
import { DarajaClient } from '../mpesa/daraja.client';
import { BalanceService } from '../treasury/balance.service';
import { Payout, PayoutStatus } from './payout.entity';
import { PayoutSettlementService } from './payout-settlement.service';
import { PayoutsRepository } from './payouts.repository';

/**
 * The send job of a payout: check the business balance, claim the payout, call B2C. Nothing is ever sent twice on a
 * guess: the OriginatorConversationID was stored before the first send and is reused on every resend, and an unclear
 * outcome becomes `unknown` until Transaction Status says whether it paid.
 */
@Injectable()
export class PayoutSenderService {
  private readonly logger = new Logger(PayoutSenderService.name);

  constructor(
    private readonly payouts: PayoutsRepository,
    private readonly settlement: PayoutSettlementService,
    private readonly daraja: DarajaClient,
    private readonly balances: BalanceService,
    private readonly callbackUrls: CallbackUrls,
    private readonly crypto: FieldEncryptionService,
  ) {}

  /** Returns 'retry' when Daraja certainly did not take the request (the job backs off and resends, same id). */
  async send(payoutId: string, isFinalAttempt: boolean): Promise<'done' | 'retry'> {
    const payout = await this.payouts.findById(payoutId);
    if (!payout || payout.status !== PayoutStatus.Pending) return 'done';

    let funds: { available: number; account: string };
    try {
      funds = await this.balances.payingAccountFunds(SYSTEM_ACTOR);
    } catch (error) {
      // No balance answer is not a refusal: the payout waits, shows why (`waitingFor: balance`), and the sweep tries it
      // again every BALANCE_RETRY_INTERVAL_MS: never failed for want of an answer, never sent blind.
      const why = `${new Date().toISOString()} waiting for the business balance: ${redactText((error as Error).message)}`;
      await this.payouts.markWaiting(payout.id, 'balance', why);
      this.logger.warn(`Payout ${payout.id} waits for a balance answer: ${(error as Error).message}`);
      return 'done';
    }
    if (funds.available < payout.amount) {
      await this.settlement.finish(
        payout,
        PayoutStatus.Failed,
        {
          settledBy: 'balance_check',
          resultDesc: `Not sent: the ${funds.account} holds KES ${funds.available}, less than the KES ${payout.amount} to pay`,
        },
        [PayoutStatus.Pending],
      );
      return 'done';
    }

    // Claiming moves pending -> sending in SQL: two workers can never both send the same payout.
    if (!(await this.payouts.claimForSending(payout.id))) return 'done';
    try {
      const accepted = await this.daraja.b2cPayment(
        {
          originatorConversationId: payout.originatorConversationId,
          commandId: payout.commandId,
          amount: payout.amount,
          phone: this.crypto.decrypt(payout.phoneNumberEncrypted, FIELDS.payoutPhone(payout.id)),
          remarks: payout.remarks,
          occasion: payout.occasion ?? undefined,
          ...this.callbackUrls.resultUrls('payout', payout.id),
        },
        { reference: payout.id, requestId: payout.requestId ?? undefined },
      );
      await this.payouts.markSubmitted(payout.id, accepted.ConversationID);
      return 'done';
    } catch (error) {
      if (!(error instanceof DarajaError)) throw error;
      return this.onSendError(payout, error, isFinalAttempt);
    }
  }

  /** The outcome model (src/mpesa/daraja-errors.ts): only what certainly was not processed is resent. */
  private async onSendError(payout: Payout, error: DarajaError, isFinalAttempt: boolean): Promise<'done' | 'retry'> {
    const note = `${new Date().toISOString()} B2C: ${error.outcome}${error.reason ? ` (${error.reason})` : ''}: ${redactText(error.message)}`;
    if (isDuplicateOriginatorConversationId(error)) {
      // Daraja already holds a request with our id: an earlier send did arrive. Find out what it did.
      await this.settlement.markUnknown(payout, `${note} (an earlier send reached M-Pesa)`, [PayoutStatus.Sending]);
      return 'done';
    }
    if (error.resendable) {
      if (isFinalAttempt) {
        await this.settlement.finish(
          payout,
          PayoutStatus.Failed,
          { settledBy: 'rejected', resultDesc: `M-Pesa did not accept the payout: ${redactText(error.message)}` },
          [PayoutStatus.Sending],
          note,
        );
        return 'done';
      }
      await this.payouts.returnToPending(payout.id, note);
      return 'retry';
    }
    // A timeout, a dropped connection, any other 5xx, even on the last attempt: it may have paid. Transaction Status
    // says whether it did; it is never resent, and it keeps counting against the payment's refundable amount.
    if (error.outcome === DarajaOutcome.Unknown) {
      await this.settlement.markUnknown(payout, note, [PayoutStatus.Sending]);
      return 'done';
    }
    await this.settlement.finish(
      payout,
      PayoutStatus.Failed,
      { settledBy: 'rejected', resultCode: error.errorCode, resultDesc: redactText(error.message) },
      [PayoutStatus.Sending],
      note,
    );
    return 'done';
  }
}
