import { Injectable } from '@nestjs/common';
import { currentRequestId } from '../common/request-context';
import { Database, Tx } from '../database/database';
import { json, sql } from '../database/sql';
import { Review, ReviewEntity, ReviewReason, ReviewResolution, ReviewStatus } from './review.entity';

export interface NewReview {
  entityType: ReviewEntity;
  entityId: string;
  reason: ReviewReason;
  evidence: Record<string, unknown>;
  fingerprint: string;
  openedBy: string | null;
}

export interface ReviewFilter {
  status?: ReviewStatus;
  entityType?: ReviewEntity;
  reason?: ReviewReason;
  entityId?: string;
  page: number;
  limit: number;
}

/** The only writer of `reviews`. */
@Injectable()
export class ReviewsRepository {
  constructor(private readonly db: Database) {}

  /** Opens a review, unless the same evidence already opened one (then null: nothing written). */
  async open(tx: Tx, review: NewReview): Promise<Review | null> {
    const row = await this.db.one(
      sql`INSERT INTO reviews (entity_type, entity_id, reason, evidence, fingerprint, opened_by, request_id)
          VALUES (${review.entityType}, ${review.entityId}, ${review.reason}, ${json(review.evidence)}::jsonb,
                  ${review.fingerprint.slice(0, 128)}, ${review.openedBy}, ${currentRequestId() ?? null})
          ON CONFLICT (entity_type, entity_id, reason, fingerprint) DO NOTHING
          RETURNING *`,
      tx,
    );
    return row ? this.fromRow(row) : null;
  }

  /** The review, locked until `tx` ends: two people resolving it at once are decided one after the other. */
  async lock(tx: Tx, id: string): Promise<Review | null> {
    const row = await this.db.one(sql`SELECT * FROM reviews WHERE id = ${id} FOR UPDATE`, tx);
    return row ? this.fromRow(row) : null;
  }

  async resolve(tx: Tx, id: string, resolution: ReviewResolution, note: string | null, resolvedBy: string): Promise<Review | null> {
    const row = await this.db.one(
      sql`UPDATE reviews SET status = 'resolved', resolution = ${resolution}, note = ${note}, resolved_by = ${resolvedBy}, resolved_at = now()
           WHERE id = ${id} AND status = 'open' RETURNING *`,
      tx,
    );
    return row ? this.fromRow(row) : null;
  }

  findById(id: string): Promise<Review | null> {
    return this.db.manager.findOneBy(Review, { id });
  }

  /** The reviews of these records, oldest first. */
  forEntities(entityIds: string[]): Promise<Review[]> {
    if (!entityIds.length) return Promise.resolve([]);
    return this.db.manager
      .createQueryBuilder(Review, 'r')
      .where('r.entityId IN (:...entityIds)', { entityIds })
      .orderBy('r.openedAt', 'ASC')
      .addOrderBy('r.id', 'ASC')
      .getMany();
  }

  /** The reason of the oldest review still open on the record, or null: what its `review_reason` column shows. */
  async oldestOpenReason(tx: Tx, entityId: string): Promise<ReviewReason | null> {
    const row = await this.db.one<{ reason: ReviewReason }>(
      sql`SELECT reason FROM reviews WHERE entity_id = ${entityId} AND status = 'open' ORDER BY opened_at, id LIMIT 1`,
      tx,
    );
    return row?.reason ?? null;
  }

  list(filter: ReviewFilter): Promise<[Review[], number]> {
    const qb = this.db.manager.createQueryBuilder(Review, 'r');
    if (filter.status) qb.andWhere('r.status = :status', { status: filter.status });
    if (filter.entityType) qb.andWhere('r.entityType = :entityType', { entityType: filter.entityType });
    if (filter.reason) qb.andWhere('r.reason = :reason', { reason: filter.reason });
    if (filter.entityId) qb.andWhere('r.entityId = :entityId', { entityId: filter.entityId });
    return qb
      .orderBy('r.openedAt', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .skip((filter.page - 1) * filter.limit)
      .take(filter.limit)
      .getManyAndCount();
  }

  private fromRow(row: Record<string, unknown>): Review {
    return this.db.toEntity(Review, row);
  }
}
