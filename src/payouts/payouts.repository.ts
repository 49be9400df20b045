import { Injectable } from '@nestjs/common';
import { currentRequestId } from '../common/request-context';
import { Database, Tx } from '../database/database';
import { json, sql } from '../database/sql';
import { PersonalDataMasking } from '../payments/payment.entity';
import { Payout, PAYOUT_COMMITTED_STATUSES, PayoutKind, PayoutStatus } from './payout.entity';

/**
 * The fields a new payout is created with; the rest are its starting state. The id is chosen by the caller: the
 * phone's ciphertext is bound to it (FIELDS.payoutPhone), so it must exist before the row does.
 */
export type NewPayout = Pick<
  Payout,
  'id' | 'kind' | 'paymentId' | 'clientId' | 'amount' | 'commandId' | 'phoneNumberEncrypted' | 'phoneNumberHash' | 'remarks' | 'reason'
> &
  Partial<Pick<Payout, 'occasion' | 'retryOf' | 'idempotencyKey'>> & {
    originatorConversationId: string;
    requestedBy: string;
    requestId: string | null;
  };

export const ONE_RETRY_PER_PAYOUT = 'ux_payouts_one_retry';
export const ONE_PAYOUT_PER_IDEMPOTENCY_KEY = 'ux_payouts_idempotency';

/** How a payout ends: the status and what settled it. */
export interface PayoutEnding {
  settledBy: string;
  transactionId?: string | null;
  resultCode?: string | null;
  resultDesc?: string | null;
  resultPayload?: object;
}

export interface PayoutMasking {
  id: string;
  phone_number_encrypted: string;
  phone_number_hash: string | null;
  result_payload: unknown;
  error_logs: unknown;
}

/**
 * The only writer of `payouts`. Every state change is `UPDATE ... WHERE status = ANY(<the states it may come from>)`:
 * two workers, or a worker and a callback, can never both move the same payout.
 */
@Injectable()
export class PayoutsRepository {
  constructor(private readonly db: Database) {}

  findById(id: string, tx?: Tx): Promise<Payout | null> {
    return (tx ?? this.db.manager).findOneBy(Payout, { id });
  }

  /** An INSERT, never an upsert: a payout id that already exists fails rather than overwriting that payout. */
  async insert(tx: Tx, payout: NewPayout): Promise<Payout> {
    const row = tx.create(Payout, { ...payout, status: PayoutStatus.Pending, requestId: payout.requestId ?? currentRequestId() ?? null });
    // TypeORM fills in what Postgres defaulted (created_at, version...) from the INSERT's RETURNING.
    await tx.insert(Payout, row);
    return row;
  }

  /**
   * What the payment's refunds already take from it: pending, in flight, unknown or paid, and a failed one under review
   * (M-Pesa may yet have paid it).
   */
  async committedRefundTotal(tx: Tx, paymentId: string): Promise<number> {
    const row = await this.db.one<{ sum: string }>(
      sql`SELECT COALESCE(SUM(amount), 0) AS sum FROM payouts
           WHERE payment_id = ${paymentId} AND (status = ANY(${PAYOUT_COMMITTED_STATUSES}) OR review_reason IS NOT NULL)`,
      tx,
    );
    return Number(row?.sum ?? 0);
  }

  findByIdempotencyKey(requestedBy: string, key: string): Promise<Payout | null> {
    return this.db.manager.findOneBy(Payout, { requestedBy, idempotencyKey: key });
  }

  /** The payout that retried this one, if any (a failed payout is retried at most once). */
  findRetryOf(payoutId: string): Promise<Payout | null> {
    return this.db.manager.findOneBy(Payout, { retryOf: payoutId });
  }

  /** A pending payout that cannot be sent yet (no balance answer): shown in its status; the sweep tries it again. */
  async markWaiting(id: string, waitingFor: 'balance', note: string): Promise<void> {
    await this.db.query(
      sql`UPDATE payouts SET waiting_for = ${waitingFor}, error_logs = error_logs || ${json([note])}::jsonb, updated_at = now()
           WHERE id = ${id} AND status = 'pending'`,
    );
  }

  /** Counts one Transaction Status "not found" answer; returns how many there have been. */
  async countNotFound(id: string): Promise<number> {
    const row = await this.db.one<{ not_found_answers: number }>(
      sql`UPDATE payouts SET not_found_answers = not_found_answers + 1, updated_at = now() WHERE id = ${id} RETURNING not_found_answers`,
    );
    return row?.not_found_answers ?? 0;
  }

  /** A review opened on the payout: `review_reason` shows the oldest open one; the detail goes to its error log. */
  async markUnderReview(tx: Tx, id: string, reason: string, detail: string): Promise<void> {
    await this.db.query(
      sql`UPDATE payouts SET review_reason = COALESCE(review_reason, ${reason}), error_logs = error_logs || ${json([detail])}::jsonb,
                 updated_at = now()
           WHERE id = ${id}`,
      tx,
    );
  }

  /** After a review was resolved: the reason of the oldest review still open, or null when none is. */
  async setReviewMark(tx: Tx, id: string, reason: string | null): Promise<void> {
    await this.db.query(
      sql`UPDATE payouts SET review_reason = ${reason}, updated_at = now() WHERE id = ${id} AND review_reason IS DISTINCT FROM ${reason}`,
      tx,
    );
  }

  /** The payout locked for the rest of `tx` (a person's decision on it). */
  async lock(tx: Tx, id: string): Promise<Payout | null> {
    const row = await this.db.one(sql`SELECT * FROM payouts WHERE id = ${id} FOR UPDATE`, tx);
    return row ? this.db.toEntity(Payout, row) : null;
  }

  async hasCommittedRefunds(tx: Tx, paymentId: string): Promise<boolean> {
    const row = await this.db.one(
      sql`SELECT 1 FROM payouts WHERE payment_id = ${paymentId} AND status = ANY(${PAYOUT_COMMITTED_STATUSES}) LIMIT 1`,
      tx,
    );
    return row !== null;
  }

  /** Claims a pending payout for sending: only one worker moves it to `sending`. */
  async claimForSending(id: string): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE payouts SET status = 'sending', waiting_for = NULL, updated_at = now(), version = version + 1
           WHERE id = ${id} AND status = 'pending' RETURNING id`,
    );
    return rows.length > 0;
  }

  /** Daraja accepted the B2C request. */
  async markSubmitted(id: string, conversationId: string): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE payouts SET status = 'submitted', conversation_id = ${conversationId}, submitted_at = now(), updated_at = now(), version = version + 1
           WHERE id = ${id} AND status = 'sending' RETURNING id`,
    );
    return rows.length > 0;
  }

  /** Daraja certainly did not take it: back to pending for the next attempt (same OriginatorConversationID). */
  async returnToPending(id: string, note: string): Promise<void> {
    await this.db.query(
      sql`UPDATE payouts SET status = 'pending', error_logs = error_logs || ${json([note])}::jsonb, updated_at = now(), version = version + 1
           WHERE id = ${id} AND status = 'sending'`,
    );
  }

  /** The outcome is not known (timeout, lost result, ambiguous answer): Transaction Status will settle it. */
  async markUnknown(tx: Tx, id: string, from: PayoutStatus[], note: string): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE payouts SET status = 'unknown', error_logs = error_logs || ${json([note])}::jsonb, updated_at = now(), version = version + 1
           WHERE id = ${id} AND status = ANY(${from}) RETURNING id`,
      tx,
    );
    return rows.length > 0;
  }

  /** Ends a payout, guarded by the states it may end from. */
  async finish(
    tx: Tx,
    id: string,
    from: PayoutStatus[],
    to: PayoutStatus.Completed | PayoutStatus.Failed,
    ending: PayoutEnding,
    note?: string,
  ): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE payouts
             SET status = ${to}::varchar, settled_by = ${ending.settledBy}, transaction_id = COALESCE(${ending.transactionId ?? null}, transaction_id),
                 result_code = COALESCE(${ending.resultCode ?? null}, result_code), result_desc = COALESCE(${ending.resultDesc ?? null}, result_desc),
                 result_payload = COALESCE(${ending.resultPayload ? json(ending.resultPayload) : null}::jsonb, result_payload),
                 error_logs = error_logs || ${json(note ? [note] : [])}::jsonb,
                 completed_at = CASE WHEN ${to}::varchar = 'completed' THEN now() END,
                 failed_at = CASE WHEN ${to}::varchar = 'failed' THEN now() END,
                 updated_at = now(), version = version + 1
           WHERE id = ${id} AND status = ANY(${from}) RETURNING id`,
      tx,
    );
    return rows.length > 0;
  }

  /** Counts one more Transaction Status query, guarded by the count read: two workers never both ask. */
  async countStatusCheck(id: string, checksSoFar: number): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE payouts SET status_checks = status_checks + 1, updated_at = now()
           WHERE id = ${id} AND status = 'unknown' AND status_checks = ${checksSoFar} RETURNING id`,
    );
    return rows.length > 0;
  }

  /** Marks a payout for a person; a flagged payout is left alone by the resolver. */
  async flagForReview(tx: Tx, id: string, reason: string, detail: string): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE payouts SET review_reason = ${reason}, error_logs = error_logs || ${json([detail])}::jsonb, updated_at = now()
           WHERE id = ${id} AND review_reason IS NULL RETURNING id`,
      tx,
    );
    return rows.length > 0;
  }

  /** Masks the personal data of ended payouts (see PaymentsRepository.maskPersonalData); returns the ids it changed. */
  async maskPersonalData(tx: Tx, rows: PayoutMasking[], by: PersonalDataMasking): Promise<string[]> {
    if (!rows.length) return [];
    const changed = await this.db.query<{ id: string }>(
      sql`UPDATE payouts t
             SET phone_number_encrypted = v.phone_number_encrypted,
                 phone_number_hash = COALESCE(v.phone_number_hash, t.phone_number_hash),
                 result_payload = NULLIF(v.result_payload, 'null'::jsonb),
                 error_logs = COALESCE(NULLIF(v.error_logs, 'null'::jsonb), t.error_logs),
                 personal_data_masked_at = now(), personal_data_masked_by = ${by}::varchar,
                 updated_at = now(), version = t.version + 1
            FROM jsonb_to_recordset(${json(rows)}::jsonb) AS v(id uuid, phone_number_encrypted text, phone_number_hash text, result_payload jsonb, error_logs jsonb)
           WHERE t.id = v.id AND t.status IN ('completed', 'failed')
             AND ((${by}::varchar = 'retention' AND t.personal_data_masked_at IS NULL)
               OR (${by}::varchar = 'anonymisation' AND t.personal_data_masked_by IS DISTINCT FROM 'anonymisation'))
           RETURNING t.id`,
      tx,
    );
    return changed.map((r) => r.id);
  }

  /** Payouts in `status` not touched since `before` (the sweep's questions: lost results, stranded sends, stale jobs). */
  findStale(
    status: PayoutStatus,
    column: 'submitted_at' | 'updated_at',
    before: Date,
    limit: number,
    options: { unflaggedOnly?: boolean; waitingFor?: 'balance' | null } = {},
  ): Promise<Payout[]> {
    const qb = this.db.manager
      .createQueryBuilder(Payout, 'p')
      .where('p.status = :status', { status })
      .andWhere(`p.${column === 'submitted_at' ? 'submittedAt' : 'updatedAt'} < :before`, { before });
    if (options.unflaggedOnly) qb.andWhere('p.reviewReason IS NULL');
    if (options.waitingFor === null) qb.andWhere('p.waitingFor IS NULL');
    else if (options.waitingFor) qb.andWhere('p.waitingFor = :waitingFor', { waitingFor: options.waitingFor });
    // Oldest first, so a backlog larger than one batch is worked through in order.
    return qb
      .orderBy(`p.${column === 'submitted_at' ? 'submittedAt' : 'updatedAt'}`, 'ASC')
      .addOrderBy('p.id', 'ASC')
      .take(limit)
      .getMany();
  }

  list(kind: PayoutKind, page: number, limit: number): Promise<[Payout[], number]> {
    return this.db.manager.findAndCount(Payout, {
      where: { kind },
      order: { createdAt: 'DESC', id: 'DESC' },
      skip: (page - 1) * limit,
      take: limit,
    });
  }

  refundsOf(paymentId: string): Promise<Payout[]> {
    return this.db.manager.find(Payout, { where: { paymentId }, order: { createdAt: 'ASC' } });
  }
}
