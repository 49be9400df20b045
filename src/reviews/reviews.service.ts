import { Injectable, Logger } from '@nestjs/common';
import { Actor, AuditService } from '../audit/audit.service';
import { AppError, ErrorCode, NotFoundError } from '../common/errors/app-error';
import { redact } from '../common/redaction';
import { Database, Tx } from '../database/database';
import { WrittenNotification } from '../notifications/notifications.repository';
import { NotificationsService } from '../notifications/notifications.service';
import { ReviewResolvers } from './review-resolvers';
import { Review, ReviewEntity, ReviewReason, ReviewResolution, ReviewStatus } from './review.entity';
import { ReviewViewDto } from './dto/review.dto';
import { ReviewFilter, ReviewsRepository } from './reviews.repository';

/** An anomaly to put before a person. */
export interface ReviewRequest {
  entityType: ReviewEntity;
  entityId: string;
  reason: ReviewReason;
  /** What was seen: receipts, amounts, the masked phone, the payload as received (redacted here). */
  evidence: Record<string, unknown>;
  /** What identifies this evidence (a receipt, a CheckoutRequestID): the same evidence never opens a second review. */
  fingerprint: string;
}

/** A review opened inside a caller's transaction: dispatch its notifications once that transaction committed. */
export interface OpenedReview {
  review: Review;
  notifications: WrittenNotification[];
}

/**
 * The review queue: what a person must decide. Opening a review writes its audit event and a signed `review.opened`
 * webhook with it; resolving one applies the decision to its record (through that record's module) and announces
 * `review.resolved`. Several reviews may be open on one record; the same evidence opens one.
 */
@Injectable()
export class ReviewsService {
  private readonly logger = new Logger(ReviewsService.name);

  constructor(
    private readonly db: Database,
    private readonly reviews: ReviewsRepository,
    private readonly resolvers: ReviewResolvers,
    private readonly audit: AuditService,
    private readonly notifications: NotificationsService,
  ) {}

  /** Opens a review in the caller's transaction; null when this evidence already opened one (nothing written). */
  async open(tx: Tx, request: ReviewRequest, actor: Actor): Promise<OpenedReview | null> {
    const review = await this.reviews.open(tx, { ...request, evidence: redact(request.evidence), openedBy: actor.id ?? actor.type });
    if (!review) return null;
    const facts = { reviewId: review.id, entityType: review.entityType, entityId: review.entityId, reason: review.reason };
    await this.audit.record(
      actor,
      { action: 'review.opened', entityType: review.entityType, entityId: review.entityId, metadata: facts },
      tx,
    );
    const notifications = await this.notifications.write(tx, [this.notifications.webhook('review.opened', review.id, facts)]);
    this.logger.warn(`Review ${review.id} opened: ${review.reason} on ${review.entityType} ${review.entityId}`);
    return { review, notifications };
  }

  /** Queues the notifications of reviews opened in a transaction that has committed. */
  async announce(opened: Array<OpenedReview | null>): Promise<void> {
    await this.notifications.dispatch(opened.flatMap((o) => o?.notifications ?? []));
  }

  /** A person's decision: applied to the record, audited, announced. A resolved review cannot be resolved again. */
  async resolve(id: string, resolution: ReviewResolution, note: string | null, actor: Actor): Promise<Review> {
    const written: WrittenNotification[] = [];
    const resolved = await this.db.transaction(async (tx) => {
      const review = await this.reviews.lock(tx, id);
      if (!review) throw new NotFoundError('Review');
      if (review.status !== ReviewStatus.Open) {
        throw new AppError(
          ErrorCode.CONFLICT,
          `This review was already resolved (${review.resolution}) on ${review.resolvedAt?.toISOString()}`,
        );
      }
      const done = await this.reviews.resolve(tx, id, resolution, note, actor.id ?? actor.type);
      if (!done) throw new AppError(ErrorCode.CONFLICT, 'This review was already resolved');
      written.push(...(await this.resolvers.resolverFor(review.entityType)(tx, done, resolution, actor)));
      const facts = { reviewId: id, entityType: review.entityType, entityId: review.entityId, reason: review.reason, resolution };
      await this.audit.record(
        actor,
        { action: 'review.resolved', entityType: review.entityType, entityId: review.entityId, metadata: { ...facts, note } },
        tx,
      );
      written.push(...(await this.notifications.write(tx, [this.notifications.webhook('review.resolved', id, facts)])));
      return done;
    });
    await this.notifications.dispatch(written);
    this.logger.log(`Review ${id} resolved by ${actor.id ?? actor.type}: ${resolution}`);
    return resolved;
  }

  async get(id: string): Promise<Review> {
    const review = await this.reviews.findById(id);
    if (!review) throw new NotFoundError('Review');
    return review;
  }

  list(filter: ReviewFilter): Promise<[Review[], number]> {
    return this.reviews.list(filter);
  }

  /** The reviews of a record (or several), oldest first: shown in its status. */
  forEntities(entityIds: string[]): Promise<Review[]> {
    return this.reviews.forEntities(entityIds);
  }

  /** The reason of the oldest review still open on a record, or null (for its `review_reason` column). */
  oldestOpenReason(tx: Tx, entityId: string): Promise<ReviewReason | null> {
    return this.reviews.oldestOpenReason(tx, entityId);
  }
}

/** A review as the API shows it. */
/**
 * A review as the API shows it. A client sees that its payment is being looked at and how that ended, not the evidence
 * (other people's masked numbers, payloads) nor the admin's note.
 */
export function reviewView(r: Review, audience: 'admin' | 'client' = 'admin'): ReviewViewDto {
  if (audience === 'client') {
    return {
      id: r.id,
      entityType: r.entityType,
      entityId: r.entityId,
      reason: r.reason,
      status: r.status,
      openedAt: r.openedAt,
      resolvedAt: r.resolvedAt,
      resolution: r.resolution,
    };
  }
  return {
    id: r.id,
    entityType: r.entityType,
    entityId: r.entityId,
    reason: r.reason,
    status: r.status,
    evidence: r.evidence,
    openedAt: r.openedAt,
    resolvedAt: r.resolvedAt,
    resolution: r.resolution,
    note: r.note,
  };
}
