import { Injectable } from '@nestjs/common';
import { Actor, AuditService, SYSTEM_ACTOR } from '../../audit/audit.service';
import { CallbackUrls } from '../../callbacks/callback-urls';
import { AppError, ErrorCode, NotFoundError } from '../../common/errors/app-error';
import { redact, redactText } from '../../common/redaction';
import { Database } from '../../database/database';
import { isUniqueViolation } from '../../database/unique-violation';
import { DarajaError, DarajaErrorKind } from '../../mpesa/daraja-errors';
import { ParsedResult } from '../../mpesa/daraja-result.parser';
import { DarajaClient } from '../../mpesa/daraja.client';
import { reversalOutcome } from '../../mpesa/daraja-result-codes';
import { WrittenNotification } from '../../notifications/notifications.repository';
import { NotificationsService } from '../../notifications/notifications.service';
import { PaymentAdjustments } from '../../payments/payment-adjustments.service';
import { PaymentStatus } from '../../payments/payment-status';
import { PayoutsRepository } from '../payouts.repository';
import { Reversal, ReversalStatus } from './reversal.entity';
import { ONE_ACTIVE_REVERSAL, ReversalsRepository } from './reversals.repository';

/** Transaction Reversal of a completed C2B payment, by its receipt; the result moves the payment to `reversed`. */
@Injectable()
export class ReversalsService {
  constructor(
    private readonly db: Database,
    private readonly reversals: ReversalsRepository,
    private readonly payouts: PayoutsRepository,
    private readonly payments: PaymentAdjustments,
    private readonly daraja: DarajaClient,
    private readonly callbackUrls: CallbackUrls,
    private readonly audit: AuditService,
    private readonly notifications: NotificationsService,
  ) {}

  async request(paymentId: string, reason: string, actor: Actor): Promise<Reversal> {
    let reversal: Reversal;
    let receipt: string;
    try {
      [reversal, receipt] = await this.db.transaction(async (tx) => {
        const payment = await this.payments.lockForMoneyOut(tx, paymentId);
        if (!payment) throw new NotFoundError('Payment');
        if (payment.status !== PaymentStatus.Completed) {
          throw new AppError(ErrorCode.CONFLICT, `Only a completed payment can be reversed; this one is ${payment.status}`);
        }
        if (!payment.mpesaReceiptNumber) {
          throw new AppError(ErrorCode.CONFLICT, 'This payment has no M-Pesa receipt yet; it cannot be reversed');
        }
        if (await this.payouts.hasCommittedRefunds(tx, paymentId))
          throw new AppError(ErrorCode.CONFLICT, 'This payment has refunds; it cannot also be reversed');
        const created = await this.reversals.insert(tx, {
          paymentId,
          amount: payment.amount,
          reason: redactText(reason),
          requestedBy: actor.id ?? actor.type,
        });
        await this.audit.record(
          actor,
          { action: 'reversal.requested', entityType: 'reversal', entityId: created.id, after: { paymentId, amount: payment.amount } },
          tx,
        );
        return [created, payment.mpesaReceiptNumber] as const;
      });
    } catch (error) {
      if (isUniqueViolation(error, ONE_ACTIVE_REVERSAL)) {
        throw new AppError(ErrorCode.CONFLICT, 'This payment already has a reversal in progress or done');
      }
      throw error;
    }

    try {
      const accepted = await this.daraja.transactionReversal(
        {
          transactionId: receipt,
          amount: reversal.amount,
          remarks: 'Payment reversal',
          ...this.callbackUrls.resultUrls('reversal', reversal.id),
        },
        { reference: reversal.id, requestId: actor.requestId ?? undefined, userId: actor.id ?? undefined },
      );
      await this.reversals.markSubmitted(reversal.id, accepted.OriginatorConversationID, accepted.ConversationID);
    } catch (error) {
      if (!(error instanceof DarajaError)) throw error;
      const unknown = error.kind === DarajaErrorKind.OutcomeUnknown;
      await this.reversals.markUnsent(
        reversal.id,
        unknown ? ReversalStatus.Unknown : ReversalStatus.Failed,
        error.errorCode,
        redactText(error.message),
      );
    }
    return this.get(reversal.id);
  }

  async applyResult(reversalId: string, result: ParsedResult, actor: Actor): Promise<'applied' | 'duplicate'> {
    const reversal = await this.reversals.findById(reversalId);
    if (!reversal) return 'duplicate';
    // R000001 "already reversed": the money is back with the customer either way, so the payment is reversed.
    const success = reversalOutcome(result.resultCode).outcome !== 'failed';
    const to = success ? ReversalStatus.Completed : ReversalStatus.Failed;
    const written: WrittenNotification[] = [];
    const applied = await this.db.transaction(async (tx) => {
      const finished = await this.reversals.finish(tx, reversalId, to, {
        transactionId: result.transactionId ?? null,
        resultCode: result.resultCode,
        resultDesc: result.resultDesc,
        payload: redact(result.parameters),
      });
      if (!finished) return false;
      await this.audit.record(
        actor,
        {
          action: `reversal.${to}`,
          entityType: 'reversal',
          entityId: reversalId,
          after: { resultCode: result.resultCode, resultDesc: result.resultDesc },
        },
        tx,
      );
      if (success) await this.payments.recordReversal(tx, reversal.paymentId, reversalId, actor);
      written.push(
        ...(await this.notifications.write(tx, [
          this.notifications.webhook(`reversal.${to}`, reversalId, {
            reversalId,
            paymentId: reversal.paymentId,
            amount: reversal.amount,
            resultCode: result.resultCode,
            resultDesc: result.resultDesc,
          }),
        ])),
      );
      return true;
    });
    await this.notifications.dispatch(written);
    return applied ? 'applied' : 'duplicate';
  }

  /** A queue timeout leaves the reversal's outcome unknown: a person checks it with Transaction Status. */
  async applyTimeout(reversalId: string, result: ParsedResult | undefined): Promise<'applied' | 'duplicate'> {
    const changed = await this.reversals.markTimedOut(reversalId, `Queue timeout: ${result?.resultDesc ?? 'no description'}`);
    if (changed) {
      await this.audit.record(SYSTEM_ACTOR, {
        action: 'reversal.unknown',
        entityType: 'reversal',
        entityId: reversalId,
        metadata: { reason: 'queue timeout' },
      });
    }
    return changed ? 'applied' : 'duplicate';
  }

  async get(id: string): Promise<Reversal> {
    const reversal = await this.reversals.findById(id);
    if (!reversal) throw new NotFoundError('Reversal');
    return reversal;
  }
}
