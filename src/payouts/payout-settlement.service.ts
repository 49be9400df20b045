import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Actor, AuditService, SYSTEM_ACTOR } from '../audit/audit.service';
import { AppError, ErrorCode } from '../common/errors/app-error';
import { payoutsConfig } from '../config/configuration';
import { Database, Tx } from '../database/database';
import { isUniqueViolation } from '../database/unique-violation';
import { WrittenNotification } from '../notifications/notifications.repository';
import { NotificationsService } from '../notifications/notifications.service';
import { PaymentAdjustments } from '../payments/payment-adjustments.service';
import { ReviewResolvers } from '../reviews/review-resolvers';
import { Review, ReviewEntity, ReviewReason, ReviewResolution } from '../reviews/review.entity';
import { OpenedReview, ReviewsService } from '../reviews/reviews.service';
import { PayoutJobsProducer } from './jobs/payout-jobs.producer';
import { payoutWebhookPayload, refundClientPayload } from './payout-events';
import { Payout, PAYOUT_OPEN_STATUSES, PayoutKind, PayoutStatus } from './payout.entity';
import { PayoutEnding, PayoutsRepository } from './payouts.repository';

/** What a review of a payout records: enough for a person to decide, and for `complete` to apply. */
export interface PayoutEvidence {
  detail: string;
  receipt?: string | null;
  amount?: number | null;
  receiver?: string | null;
  resultCode?: string | null;
  resultDesc?: string | null;
  source: 'result' | 'transaction_status' | 'sweep';
  payload?: unknown;
}

/**
 * Every change of a payout's state after it was requested: each is a guarded UPDATE written with its audit event,
 * its outbox rows and (for a paid refund) the payment's new refunded amount, in one transaction; jobs are queued
 * after. What cannot be decided automatically opens a review; a person's decision on it is applied here too.
 */
@Injectable()
export class PayoutSettlementService implements OnModuleInit {
  private readonly logger = new Logger(PayoutSettlementService.name);

  constructor(
    @Inject(payoutsConfig.KEY) private readonly settings: ConfigType<typeof payoutsConfig>,
    private readonly db: Database,
    private readonly payouts: PayoutsRepository,
    private readonly payments: PaymentAdjustments,
    private readonly audit: AuditService,
    private readonly notifications: NotificationsService,
    private readonly reviews: ReviewsService,
    private readonly resolvers: ReviewResolvers,
    private readonly jobs: PayoutJobsProducer,
  ) {}

  onModuleInit(): void {
    this.resolvers.register(ReviewEntity.Payout, (tx, review, resolution, actor) => this.resolveReview(tx, review, resolution, actor));
  }

  /**
   * Ends a payout (guarded by the states it may end from) with its audit event and notifications; a paid refund also
   * moves its payment to partially_refunded or refunded, in the same transaction.
   */
  async finish(
    payout: Payout,
    to: PayoutStatus.Completed | PayoutStatus.Failed,
    ending: PayoutEnding,
    from: PayoutStatus[],
    note?: string,
    actor: Actor = SYSTEM_ACTOR,
  ): Promise<boolean> {
    let written: WrittenNotification[] | null = null;
    try {
      written = await this.db.transaction((tx) => this.write(tx, payout, to, ending, from, note, actor));
    } catch (error) {
      // The receipt already belongs to another payout: the same money cannot have paid two of them.
      if (to === PayoutStatus.Completed && isUniqueViolation(error)) {
        await this.flag(
          payout,
          ReviewReason.DuplicateReceipt,
          { source: 'result', detail: `Receipt ${ending.transactionId} already belongs to another payout`, receipt: ending.transactionId },
          actor,
        );
        return false;
      }
      throw error;
    }
    if (!written) return false;
    this.logger.log(
      `Payout ${payout.id} (${payout.kind}) ${to} (settled by ${ending.settledBy}${ending.resultCode ? `, ResultCode ${ending.resultCode}` : ''})`,
    );
    await this.notifications.dispatch(written);
    return true;
  }

  /** The outcome is not known: the payout becomes `unknown` and Transaction Status is asked (after a short delay). */
  async markUnknown(payout: Payout, note: string, from: PayoutStatus[]): Promise<boolean> {
    const changed = await this.db.transaction(async (tx) => {
      if (!(await this.payouts.markUnknown(tx, payout.id, from, note))) return false;
      await this.audit.record(
        SYSTEM_ACTOR,
        {
          action: 'payout.unknown',
          entityType: 'payout',
          entityId: payout.id,
          before: { status: payout.status },
          after: { status: PayoutStatus.Unknown },
          metadata: { note },
        },
        tx,
      );
      return true;
    });
    if (!changed) return false;
    try {
      await this.jobs.enqueueResolve(payout.id, payout.statusChecks, this.settings.firstStatusCheckDelayMs, payout.requestId);
    } catch (error) {
      // Committed: the sweep asks Transaction Status about every unknown payout in time anyway.
      this.logger.warn(`Payout ${payout.id} is unknown; its status check could not be queued now (${String(error)}): the sweep will ask`);
    }
    return true;
  }

  /** Puts the evidence before a person; the payout's status changes only when they decide. */
  async flag(payout: Payout, reason: ReviewReason, evidence: PayoutEvidence, actor: Actor): Promise<void> {
    const opened = await this.db.transaction((tx) => this.openReview(tx, payout, reason, evidence, actor));
    await this.reviews.announce([opened]);
  }

  private async openReview(
    tx: Tx,
    payout: Payout,
    reason: ReviewReason,
    evidence: PayoutEvidence,
    actor: Actor,
  ): Promise<OpenedReview | null> {
    const fingerprint = evidence.receipt ?? `${evidence.source}:${evidence.resultCode ?? '-'}:${reason}`;
    const opened = await this.reviews.open(
      tx,
      { entityType: ReviewEntity.Payout, entityId: payout.id, reason, evidence: { ...evidence, payoutStatus: payout.status }, fingerprint },
      actor,
    );
    if (!opened) return null;
    await this.payouts.markUnderReview(tx, payout.id, reason, `${new Date().toISOString()} review ${opened.review.id}: ${evidence.detail}`);
    await this.audit.record(
      actor,
      {
        action: 'payout.needs_review',
        entityType: 'payout',
        entityId: payout.id,
        metadata: { reason, detail: evidence.detail, reviewId: opened.review.id },
      },
      tx,
    );
    this.logger.warn(`Payout ${payout.id} needs review: ${reason} (${evidence.detail})`);
    return opened;
  }

  /**
   * A person's decision on a payout's review: `complete` makes it completed with the receipt the evidence recorded
   * (a refund then counts on its payment), `fail` makes an open payout failed (it may then be retried), `dismiss`
   * changes nothing.
   */
  private async resolveReview(tx: Tx, review: Review, resolution: ReviewResolution, actor: Actor): Promise<WrittenNotification[]> {
    const payout = await this.payouts.lock(tx, review.entityId);
    if (!payout) throw new AppError(ErrorCode.NOT_FOUND, 'The payout of this review no longer exists');
    const evidence = review.evidence as { receipt?: string | null };
    let written: WrittenNotification[] = [];
    const ending = (settledBy: string): PayoutEnding => ({ settledBy, resultDesc: `Resolved by review ${review.id} (${review.reason})` });
    if (resolution === ReviewResolution.Complete && payout.status !== PayoutStatus.Completed) {
      written =
        (await this.write(
          tx,
          payout,
          PayoutStatus.Completed,
          { ...ending('review'), transactionId: evidence.receipt ?? null },
          [...PAYOUT_OPEN_STATUSES, PayoutStatus.Failed],
          undefined,
          actor,
        )) ?? [];
    } else if (resolution === ReviewResolution.Fail) {
      if (payout.status === PayoutStatus.Completed) {
        throw new AppError(ErrorCode.CONFLICT, 'This payout is completed: M-Pesa paid it; it cannot be failed');
      }
      if ((PAYOUT_OPEN_STATUSES as PayoutStatus[]).includes(payout.status)) {
        written = (await this.write(tx, payout, PayoutStatus.Failed, ending('review'), PAYOUT_OPEN_STATUSES, undefined, actor)) ?? [];
      }
    }
    await this.payouts.setReviewMark(tx, payout.id, await this.reviews.oldestOpenReason(tx, payout.id));
    return written;
  }

  /** The ending's writes in `tx`; the outbox rows to dispatch after commit, or null when the guard did not match. */
  private async write(
    tx: Tx,
    payout: Payout,
    to: PayoutStatus.Completed | PayoutStatus.Failed,
    ending: PayoutEnding,
    from: PayoutStatus[],
    note: string | undefined,
    actor: Actor,
  ): Promise<WrittenNotification[] | null> {
    if (!(await this.payouts.finish(tx, payout.id, from, to, ending, note))) return null;
    await this.audit.record(
      actor,
      {
        action: `payout.${to}`,
        entityType: 'payout',
        entityId: payout.id,
        before: { status: payout.status },
        after: { status: to, ...ending, resultPayload: undefined },
      },
      tx,
    );
    const paidRefund = to === PayoutStatus.Completed && payout.kind === PayoutKind.Refund && payout.paymentId;
    if (paidRefund) await this.payments.recordRefund(tx, payout.paymentId as string, payout.amount, payout.id, actor);
    const receipt = ending.transactionId ?? null;
    const outbox = [
      this.notifications.webhook(
        `${payout.kind}.${to}`,
        payout.id,
        payoutWebhookPayload(payout, { status: to, mpesaReceiptNumber: receipt, resultDesc: ending.resultDesc ?? null }),
      ),
    ];
    if (paidRefund) {
      const payment = await this.payments.find(payout.paymentId as string, tx);
      outbox.push(
        ...this.notifications.forClient(
          'refund.sent',
          payout.id,
          refundClientPayload(payout, receipt, payment?.accountReference ?? null, new Date()),
          Boolean(payment?.customerEmailEncrypted),
        ),
      );
    }
    return this.notifications.write(tx, outbox);
  }
}
