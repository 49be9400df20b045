import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Actor, AuditService } from '../../audit/audit.service';
import { AppError, ErrorCode, NotFoundError } from '../../common/errors/app-error';
import { Tx } from '../../database/database';
import { WrittenNotification } from '../../notifications/notifications.repository';
import { IncomingPayments } from '../../payments/incoming-payments.service';
import { ReviewResolvers } from '../../reviews/review-resolvers';
import { Review, ReviewEntity, ReviewResolution } from '../../reviews/review.entity';
import { reconciliationConfig } from '../reconciliation.config';
import { splitParty } from './mpesa-lines';
import { ItemKind } from './reconcile';
import { decisionsFor } from './reconciliation.service';
import { Item, ReportsRepository } from './reports.repository';

/**
 * What a person's decision on a reconciliation difference does (registered with the review queue):
 * - `complete` on money in that M-Pesa shows and we do not (`missing_here`, direction in): the payment is recorded
 *   through IncomingPayments, source `statement` (or `pull` for a daily Pull report), like a C2B confirmation;
 * - `dismiss`: the difference is closed as explained, nothing else changes;
 * - anything else is refused (409) with what to do instead: a reconciliation never changes a payment's or payout's
 *   state by itself, since M-Pesa's own record of it (its status, Transaction Status) is the place to decide that.
 */
@Injectable()
export class ReconciliationItemResolver implements OnModuleInit {
  constructor(
    @Inject(reconciliationConfig.KEY) private readonly settings: ConfigType<typeof reconciliationConfig>,
    private readonly resolvers: ReviewResolvers,
    private readonly reports: ReportsRepository,
    private readonly incoming: IncomingPayments,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    this.resolvers.register(ReviewEntity.ReconciliationItem, (tx, review, resolution, actor) =>
      this.resolve(tx, review, resolution, actor),
    );
  }

  private async resolve(tx: Tx, review: Review, resolution: ReviewResolution, actor: Actor): Promise<WrittenNotification[]> {
    const item = await this.reports.lockItem(tx, review.entityId);
    if (!item) throw new NotFoundError('Reconciliation item');
    const recordable = item.kind === ItemKind.MissingHere && item.direction === 'in';
    let detail: Record<string, unknown>;
    if (resolution === ReviewResolution.Dismiss) detail = {};
    else if (resolution === ReviewResolution.Complete && recordable) detail = await this.record(item, actor);
    else throw new AppError(ErrorCode.CONFLICT, decisionsFor(item)[resolution]);

    const outcome = resolution === ReviewResolution.Dismiss ? 'dismissed' : 'recorded';
    await this.reports.resolveByReview(tx, review.id, outcome, { reviewId: review.id, ...detail });
    await this.audit.record(
      actor,
      {
        action: 'reconciliation.item_resolved',
        entityType: 'reconciliation_item',
        entityId: item.id,
        metadata: { reportId: item.reportId, kind: item.kind, receipt: item.receipt, resolution, ...detail },
      },
      tx,
    );
    return [];
  }

  /** Records the money M-Pesa shows; IncomingPayments decides whether it is a new payment, an STK payment's, or known. */
  private async record(item: Item, actor: Actor): Promise<Record<string, unknown>> {
    const report = await this.reports.findReport(item.reportId);
    if (!item.receipt || item.amount === null || !item.occurredAt) {
      throw new AppError(ErrorCode.CONFLICT, 'This line has no receipt, amount or time to record a payment from');
    }
    const { msisdn, name } = splitParty(item.party);
    const result = await this.incoming.ingest(
      {
        receipt: item.receipt,
        amount: item.amount,
        occurredAt: item.occurredAt,
        accountReference: item.accountReference,
        msisdn,
        payerName: name,
        shortCode: report?.shortCode ?? this.settings.paymentsShortCode,
        transactionType: item.transactionType,
        payload: item.raw ?? {},
      },
      report?.kind === 'pull_daily' ? 'pull' : 'statement',
      actor,
    );
    return { outcome: result.outcome, paymentId: result.paymentId, reviewIds: result.reviewIds };
  }
}
