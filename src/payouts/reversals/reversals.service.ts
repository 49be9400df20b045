import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Actor, AuditEntry, AuditService, SYSTEM_ACTOR } from '../../audit/audit.service';
import { CallbackUrls } from '../../callbacks/callback-urls';
import { AppError, ErrorCode, NotFoundError } from '../../common/errors/app-error';
import { redact, redactText } from '../../common/redaction';
import { currentRequestId } from '../../common/request-context';
import { payoutsConfig } from '../../config/configuration';
import { Database, Tx } from '../../database/database';
import { isUniqueViolation } from '../../database/unique-violation';
import { DarajaError, DarajaOutcome } from '../../mpesa/daraja-errors';
import { ParsedResult, transactionStatusDetails } from '../../mpesa/daraja-result.parser';
import { DarajaClient } from '../../mpesa/daraja.client';
import { reversalOutcome, transactionStatusState } from '../../mpesa/daraja-result-codes';
import { WrittenNotification } from '../../notifications/notifications.repository';
import { NotificationsService } from '../../notifications/notifications.service';
import { PaymentAdjustments } from '../../payments/payment-adjustments.service';
import { PaymentStatus } from '../../payments/payment-status';
import { ReviewResolvers } from '../../reviews/review-resolvers';
import { Review, ReviewEntity, ReviewReason, ReviewResolution } from '../../reviews/review.entity';
import { ReviewsService } from '../../reviews/reviews.service';
import { TransactionStatusService } from '../../treasury/transaction-status.service';
import { PayoutsRepository } from '../payouts.repository';
import { NOT_FOUND_ANSWERS_FOR_FAILED, NOT_FOUND_CODE } from '../payout-results.service';
import { Reversal, ReversalStatus } from './reversal.entity';
import { ONE_ACTIVE_REVERSAL, OPEN_REVERSAL_STATUSES, ReversalsRepository } from './reversals.repository';

/**
 * What Daraja answered, fit to show in `resultDesc`. A proxy's HTML page (classified `unreadable_answer`, its text as
 * the message) is never shown as it is: the API answered it back verbatim before (issue 9 §3), so only its status is.
 */
function answerText(error: DarajaError): string {
  if (error.reason === 'unreadable_answer') return `Daraja answered HTTP ${error.httpStatus ?? '?'} without a readable body`;
  return redactText(error.message);
}

/** What a reversal's result or a person's decision sets. */
interface ReversalEnding {
  to: ReversalStatus.Completed | ReversalStatus.Failed;
  transactionId: string | null;
  resultCode: string | null;
  resultDesc: string;
  payload?: unknown;
  from?: ReversalStatus[];
}

/**
 * Transaction Reversal of a completed C2B payment, by its receipt; a completed reversal moves the payment to
 * `reversed`. The same outcome model as payouts: a refused request fails at once (and says why), an ambiguous one is
 * `unknown` and resolved by its result, by Transaction Status, or by a person.
 */
@Injectable()
export class ReversalsService implements OnModuleInit {
  private readonly logger = new Logger(ReversalsService.name);

  constructor(
    @Inject(payoutsConfig.KEY) private readonly settings: ConfigType<typeof payoutsConfig>,
    private readonly db: Database,
    private readonly reversals: ReversalsRepository,
    private readonly payouts: PayoutsRepository,
    private readonly payments: PaymentAdjustments,
    private readonly daraja: DarajaClient,
    private readonly callbackUrls: CallbackUrls,
    private readonly statusQueries: TransactionStatusService,
    private readonly audit: AuditService,
    private readonly notifications: NotificationsService,
    private readonly reviews: ReviewsService,
    private readonly resolvers: ReviewResolvers,
  ) {}

  onModuleInit(): void {
    this.resolvers.register(ReviewEntity.Reversal, (tx, review, resolution, actor) => this.resolveReview(tx, review, resolution, actor));
  }

  /**
   * Stores the reversal, then asks Daraja. Accepted: `submitted`, its result follows. Ambiguous: `unknown`. Refused:
   * `failed`, and the caller gets the refusal (502, or 503 when M-Pesa is only busy), never a success.
   */
  async request(paymentId: string, reason: string, actor: Actor, idempotencyKey?: string): Promise<Reversal> {
    let reversal: Reversal;
    let receipt: string;
    try {
      [reversal, receipt] = await this.db.transaction(async (tx) => {
        const payment = await this.payments.lockForMoneyOut(tx, paymentId);
        if (!payment) throw new NotFoundError('Payment');
        if (payment.status !== PaymentStatus.Completed) {
          throw new AppError(ErrorCode.CONFLICT, `Only a completed payment can be reversed; this one is ${payment.status}`);
        }
        if (!payment.mpesaReceiptNumber)
          throw new AppError(ErrorCode.CONFLICT, 'This payment has no M-Pesa receipt yet; it cannot be reversed');
        if (await this.payouts.hasCommittedRefunds(tx, paymentId)) {
          throw new AppError(ErrorCode.CONFLICT, 'This payment has refunds; it cannot also be reversed');
        }
        const created = await this.reversals.insert(tx, {
          paymentId,
          amount: payment.amount,
          reason: redactText(reason),
          requestedBy: actor.id ?? actor.type,
          requestId: actor.requestId ?? currentRequestId() ?? null,
          idempotencyKey: idempotencyKey ?? null,
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
      if (error.outcome === DarajaOutcome.Unknown) {
        // It may have gone through: its result (on our URL) or a person will tell.
        const why = `M-Pesa's answer was lost: ${answerText(error)}`;
        await this.changeAudited(
          (tx) => this.reversals.markUnsent(reversal.id, ReversalStatus.Unknown, error.errorCode, why, tx),
          { action: 'reversal.unknown', entityType: 'reversal', entityId: reversal.id, metadata: { reason: why } },
          actor,
        );
        this.logger.warn(`Reversal ${reversal.id} may have been sent: ${redactText(error.message)}`);
        return this.get(reversal.id);
      }
      const refusal = redactText(error.message);
      await this.changeAudited(
        (tx) =>
          this.reversals.markUnsent(reversal.id, ReversalStatus.Failed, error.errorCode, `M-Pesa refused the reversal: ${refusal}`, tx),
        {
          action: 'reversal.failed',
          entityType: 'reversal',
          entityId: reversal.id,
          metadata: { reason: 'refused when requested', errorCode: error.errorCode },
        },
        actor,
      );
      const details = { reversalId: reversal.id, status: ReversalStatus.Failed, errorCode: error.errorCode };
      if (error.resendable) {
        throw new AppError(
          ErrorCode.DARAJA_UNAVAILABLE,
          `M-Pesa did not take the reversal (${refusal}); nothing was reversed: try again later`,
          details,
        );
      }
      throw new AppError(ErrorCode.DARAJA_REJECTED, `M-Pesa refused the reversal: ${refusal}`, details);
    }
    return this.get(reversal.id);
  }

  /** The reversal's result (ResultURL). R000001 "already reversed": the money is back with the customer either way. */
  async applyResult(reversalId: string, result: ParsedResult, actor: Actor): Promise<'applied' | 'duplicate'> {
    const reversal = await this.reversals.findById(reversalId);
    if (!reversal) return 'duplicate';
    const success = reversalOutcome(result.resultCode).outcome !== 'failed';
    return (await this.finish(
      reversal,
      {
        to: success ? ReversalStatus.Completed : ReversalStatus.Failed,
        transactionId: result.transactionId ?? null,
        resultCode: result.resultCode,
        resultDesc: result.resultDesc,
        payload: redact(result.parameters),
      },
      actor,
    ))
      ? 'applied'
      : 'duplicate';
  }

  /** A queue timeout leaves the reversal's outcome unknown: its result, Transaction Status or a person settles it. */
  async applyTimeout(reversalId: string, result: ParsedResult | undefined): Promise<'applied' | 'duplicate'> {
    const changed = await this.changeAudited(
      (tx) =>
        this.reversals.markUnknown(
          reversalId,
          [ReversalStatus.Pending, ReversalStatus.Submitted],
          `Queue timeout: ${result?.resultDesc ?? 'no description'}`,
          tx,
        ),
      { action: 'reversal.unknown', entityType: 'reversal', entityId: reversalId, metadata: { reason: 'queue timeout' } },
    );
    return changed ? 'applied' : 'duplicate';
  }

  /** The sweep's: a reversal whose result is overdue, or whose request died mid-way, becomes unknown. */
  async markUnknown(reversalId: string, from: ReversalStatus[], why: string): Promise<void> {
    await this.changeAudited((tx) => this.reversals.markUnknown(reversalId, from, why, tx), {
      action: 'reversal.unknown',
      entityType: 'reversal',
      entityId: reversalId,
      metadata: { reason: why },
    });
  }

  /** A guarded change of a reversal and its audit event, in one transaction; false when the guard did not match. */
  private changeAudited(change: (tx: Tx) => Promise<boolean>, event: AuditEntry, actor: Actor = SYSTEM_ACTOR): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      if (!(await change(tx))) return false;
      await this.audit.record(actor, event, tx);
      return true;
    });
  }

  /**
   * The resolve job: one Transaction Status query by the reversal's OriginatorConversationID; a person when there is
   * none to ask by (the request's answer was lost), or after too many queries or RESULT_WAIT_MAX_MS.
   */
  async resolve(reversalId: string): Promise<void> {
    const reversal = await this.reversals.findById(reversalId);
    if (!reversal || reversal.status !== ReversalStatus.Unknown || reversal.reviewReason) return;
    const tooLong = reversal.createdAt.getTime() < Date.now() - this.settings.resultWaitMaxMs;
    if (!reversal.originatorConversationId || reversal.statusChecks >= this.settings.maxStatusChecks || tooLong) {
      const detail = !reversal.originatorConversationId
        ? 'M-Pesa never acknowledged the request, so Transaction Status has nothing to ask by: check the statement'
        : `Neither its result nor ${reversal.statusChecks} Transaction Status queries said whether it went through`;
      if (reversal.originatorConversationId || tooLong) await this.flag(reversal, ReviewReason.ReversalUnresolved, detail, SYSTEM_ACTOR);
      return;
    }
    if (!(await this.reversals.countStatusCheck(reversal.id, reversal.statusChecks))) return;
    await this.statusQueries.query({ originatorConversationId: reversal.originatorConversationId, reversalId: reversal.id }, SYSTEM_ACTOR);
  }

  /** Transaction Status about a reversal: completed, confirmed not done (final status, or "not found" twice late enough), or still open. */
  async applyStatusResult(reversalId: string, result: ParsedResult, actor: Actor): Promise<'applied' | 'unchanged'> {
    const reversal = await this.reversals.findById(reversalId);
    if (!reversal || !OPEN_REVERSAL_STATUSES.includes(reversal.status)) return 'unchanged';
    const details = transactionStatusDetails(result);
    const state = result.resultCode === '0' ? transactionStatusState(details.status) : 'unknown';
    if (state === 'completed') {
      const done = await this.finish(
        reversal,
        {
          to: ReversalStatus.Completed,
          transactionId: details.receiptNo ?? null,
          resultCode: result.resultCode,
          resultDesc: `Confirmed by Transaction Status: ${details.status}`,
        },
        actor,
      );
      return done ? 'applied' : 'unchanged';
    }
    const notFound =
      result.resultCode === NOT_FOUND_CODE &&
      (await this.reversals.countNotFound(reversal.id)) >= NOT_FOUND_ANSWERS_FOR_FAILED &&
      reversal.createdAt.getTime() < Date.now() - this.settings.notFoundMinAgeMs;
    if (state === 'failed' || notFound) {
      const done = await this.finish(
        reversal,
        {
          to: ReversalStatus.Failed,
          transactionId: null,
          resultCode: result.resultCode,
          resultDesc: `Not done by M-Pesa: ${details.status ?? result.resultDesc}`,
        },
        actor,
      );
      return done ? 'applied' : 'unchanged';
    }
    return 'unchanged';
  }

  async get(id: string): Promise<Reversal> {
    const reversal = await this.reversals.findById(id);
    if (!reversal) throw new NotFoundError('Reversal');
    return reversal;
  }

  findByIdempotencyKey(requestedBy: string, key: string): Promise<Reversal | null> {
    return this.reversals.findByIdempotencyKey(requestedBy, key);
  }

  private async finish(reversal: Reversal, ending: ReversalEnding, actor: Actor): Promise<boolean> {
    const written = await this.db.transaction((tx) => this.write(tx, reversal, ending, actor));
    if (!written) return false;
    this.logger.log(`Reversal ${reversal.id} ${ending.to} (ResultCode ${ending.resultCode ?? '-'})`);
    await this.notifications.dispatch(written);
    return true;
  }

  private async write(tx: Tx, reversal: Reversal, ending: ReversalEnding, actor: Actor): Promise<WrittenNotification[] | null> {
    const done = await this.reversals.finish(tx, reversal.id, ending.to, { ...ending, payload: ending.payload }, ending.from);
    if (!done) return null;
    await this.audit.record(
      actor,
      {
        action: `reversal.${ending.to}`,
        entityType: 'reversal',
        entityId: reversal.id,
        after: { resultCode: ending.resultCode, resultDesc: ending.resultDesc },
      },
      tx,
    );
    if (ending.to === ReversalStatus.Completed) await this.payments.recordReversal(tx, reversal.paymentId, reversal.id, actor);
    return this.notifications.write(tx, [
      this.notifications.webhook(`reversal.${ending.to}`, reversal.id, {
        reversalId: reversal.id,
        paymentId: reversal.paymentId,
        amount: reversal.amount,
        resultCode: ending.resultCode,
        resultDesc: ending.resultDesc,
      }),
    ]);
  }

  private async flag(reversal: Reversal, reason: ReviewReason, detail: string, actor: Actor): Promise<void> {
    const opened = await this.db.transaction(async (tx) => {
      const review = await this.reviews.open(
        tx,
        {
          entityType: ReviewEntity.Reversal,
          entityId: reversal.id,
          reason,
          evidence: { detail, reversalStatus: reversal.status, paymentId: reversal.paymentId },
          fingerprint: reason,
        },
        actor,
      );
      if (review) await this.reversals.markUnderReview(tx, reversal.id, reason);
      return review;
    });
    if (opened) this.logger.warn(`Reversal ${reversal.id} needs review: ${reason} (${detail})`);
    await this.reviews.announce([opened]);
  }

  /** A person's decision: `complete` (the money went back: the payment is reversed), `fail`, or `dismiss`. */
  private async resolveReview(tx: Tx, review: Review, resolution: ReviewResolution, actor: Actor): Promise<WrittenNotification[]> {
    const reversal = await this.reversals.lock(tx, review.entityId);
    if (!reversal) throw new AppError(ErrorCode.NOT_FOUND, 'The reversal of this review no longer exists');
    let written: WrittenNotification[] = [];
    const ending = (to: ReversalEnding['to']): ReversalEnding => ({
      to,
      transactionId: null,
      resultCode: null,
      resultDesc: `Resolved by review ${review.id} (${review.reason})`,
      from: [...OPEN_REVERSAL_STATUSES, ...(to === ReversalStatus.Completed ? [ReversalStatus.Failed] : [])],
    });
    if (resolution === ReviewResolution.Complete && reversal.status !== ReversalStatus.Completed) {
      written = (await this.write(tx, reversal, ending(ReversalStatus.Completed), actor)) ?? [];
    } else if (resolution === ReviewResolution.Fail) {
      if (reversal.status === ReversalStatus.Completed)
        throw new AppError(ErrorCode.CONFLICT, 'This reversal is completed: the money went back');
      if (OPEN_REVERSAL_STATUSES.includes(reversal.status))
        written = (await this.write(tx, reversal, ending(ReversalStatus.Failed), actor)) ?? [];
    }
    await this.reversals.setReviewMark(tx, reversal.id, await this.reviews.oldestOpenReason(tx, reversal.id));
    return written;
  }
}
