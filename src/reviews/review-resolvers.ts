import { Injectable } from '@nestjs/common';
import { Actor } from '../audit/audit.service';
import { AppError, ErrorCode } from '../common/errors/app-error';
import { Tx } from '../database/database';
import { WrittenNotification } from '../notifications/notifications.repository';
import { Review, ReviewEntity, ReviewResolution } from './review.entity';

/**
 * Applies a person's decision to the record a review is about, in the review's transaction, and returns the outbox
 * rows it wrote (the record's own webhook). Each module registers the resolver of its records: reviews imports
 * neither payments nor payouts, and only their own repositories write their tables.
 */
export type ReviewResolver = (tx: Tx, review: Review, resolution: ReviewResolution, actor: Actor) => Promise<WrittenNotification[]>;

@Injectable()
export class ReviewResolvers {
  private readonly resolvers = new Map<ReviewEntity, ReviewResolver>();

  register(entityType: ReviewEntity, resolver: ReviewResolver): void {
    this.resolvers.set(entityType, resolver);
  }

  resolverFor(entityType: ReviewEntity): ReviewResolver {
    const resolver = this.resolvers.get(entityType);
    if (!resolver) throw new AppError(ErrorCode.INTERNAL, `No module resolves reviews of ${entityType} records`);
    return resolver;
  }
}
