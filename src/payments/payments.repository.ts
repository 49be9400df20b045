import { Injectable } from '@nestjs/common';
import { Database, Tx } from '../database/database';
import { changeWithEffects, join, json, raw, Sql, sql } from '../database/sql';
import { Payment, PersonalDataMasking } from './payment.entity';
import { PAID_STATUSES, PaymentChannel, PaymentStatus, PaymentType, SettledBy, StkPushStatus } from './payment-status';

/** How a pending payment leaves `pending`: the new status and what M-Pesa (or our own give-up) said. */
export interface SettlementChange {
  to: Exclude<PaymentStatus, PaymentStatus.Pending>;
  settledBy: SettledBy;
  resultCode?: string | null;
  resultDesc?: string | null;
  receiptNumber?: string | null;
  transactionDate?: Date | null;
  checkoutRequestId?: string | null;
  merchantRequestId?: string | null;
  callbackPayload?: unknown;
  stkPushStatus?: StkPushStatus;
  errorLog?: string;
}

export type NewPayment = Pick<
  Payment,
  | 'id'
  | 'clientId'
  | 'appointmentId'
  | 'amount'
  | 'paymentType'
  | 'description'
  | 'phoneNumberEncrypted'
  | 'phoneNumberHash'
  | 'accountReference'
  | 'transactionDesc'
  | 'stkPushStatus'
  | 'maxRetries'
  | 'idempotencyKey'
  | 'requestId'
  | 'requestPayload'
  | 'customerName'
  | 'customerEmailEncrypted'
  | 'billId'
>;

/** A payment that arrived complete (C2B, Pull, statement): no push, no pending state. */
export type NewIncomingPayment = Pick<
  Payment,
  | 'id'
  | 'clientId'
  | 'appointmentId'
  | 'billId'
  | 'amount'
  | 'paymentType'
  | 'description'
  | 'phoneNumberEncrypted'
  | 'phoneNumberHash'
  | 'customerName'
  | 'accountReference'
  | 'transactionDesc'
  | 'mpesaReceiptNumber'
  | 'transactionDate'
  | 'settledBy'
  | 'resultDesc'
  | 'requestId'
  | 'callbackPayload'
  | 'completedAt'
>;

/** What identifies one of our pushes in money that arrived without our ids (see incoming-matching.ts). */
export interface IncomingCandidateQuery {
  /** Upper-case, trimmed. */
  reference: string;
  amount: number;
  from: Date;
  to: Date;
}

export interface PaymentListFilter {
  clientId?: string;
  channel?: PaymentChannel;
  billId?: string;
  status?: PaymentStatus;
  paymentType?: PaymentType;
  from?: Date;
  to?: Date;
  /** true: only payments with a review open; false: only those without. */
  needsReview?: boolean;
  page: number;
  limit: number;
  /** Keyset paging: the payments after this one (in the list's order); `page` is then not used. */
  after?: ListPosition;
}

/** Where a list page ends: the last payment's created_at as Postgres prints it (microseconds) and its id. */
export interface ListPosition {
  createdAt: string;
  id: string;
}

/** A payment as the list shows it: without its Daraja payloads and error log, which a page of 100 need not parse. */
export type PaymentSummary = Omit<Payment, 'requestPayload' | 'responsePayload' | 'callbackPayload' | 'errorLogs'>;

const LIST_COLUMNS = raw(
  `id, client_id, channel, bill_id, appointment_id, amount, currency, refunded_amount, status, method, payment_type, description,
   mpesa_transaction_id, checkout_request_id, merchant_request_id, mpesa_receipt_number, transaction_date, phone_number_encrypted,
   phone_number_hash, customer_name, customer_email_encrypted, personal_data_masked_at, personal_data_masked_by, account_reference,
   transaction_desc, stk_push_status, callback_received, result_code, result_desc, settled_by, review_reason, retry_count,
   last_retry_at, max_retries, late_queries, idempotency_key, request_id, initiated_at, completed_at, failed_at, created_at,
   updated_at, version`,
);

export interface PaymentListPage {
  items: PaymentSummary[];
  total: number;
  /** The total is Postgres' estimate: more than LIST_EXACT_TOTAL_UP_TO payments match. */
  totalIsEstimate: boolean;
  /** Where the next page starts; null on the last page. */
  next: ListPosition | null;
}

/** A list's total is counted exactly up to this many payments; beyond it, it is estimated ("1,000+" for a UI). */
export const LIST_EXACT_TOTAL_UP_TO = 1_000;

function listConditions(filter: PaymentListFilter): Sql {
  const conditions: Sql[] = [raw('TRUE')];
  if (filter.clientId) conditions.push(sql`client_id = ${filter.clientId}`);
  if (filter.channel) conditions.push(sql`channel = ${filter.channel}`);
  if (filter.billId) conditions.push(sql`bill_id = ${filter.billId}::uuid`);
  if (filter.status) conditions.push(sql`status = ${filter.status}`);
  if (filter.paymentType) conditions.push(sql`payment_type = ${filter.paymentType}`);
  if (filter.from) conditions.push(sql`created_at >= ${filter.from}`);
  if (filter.to) conditions.push(sql`created_at <= ${filter.to}`);
  if (filter.needsReview !== undefined) conditions.push(raw(filter.needsReview ? 'review_reason IS NOT NULL' : 'review_reason IS NULL'));
  return join(conditions, ' AND ');
}

/** A payment's personal data as stored, and what replaces it when it is masked (src/privacy). */
export interface PaymentMasking {
  id: string;
  phone_number_encrypted: string;
  /** null keeps the stored hash (retention); a value replaces it (anonymisation). */
  phone_number_hash: string | null;
  customer_name: string | null;
  customer_email_encrypted: string | null;
  request_payload: unknown;
  response_payload: unknown;
  callback_payload: unknown;
  error_logs: unknown;
}

/** Statements written together with a change, in the same statement (see changeWithEffects). */
export type Effects = Record<string, Sql>;

/** A change that applied, with what each effect returned. */
export interface Changed {
  payment: Payment;
  effects: Record<string, unknown[]>;
}

/**
 * Where a keyset page ends: the last row's timestamp as Postgres prints it (microseconds, which a JS Date would cut
 * to milliseconds, skipping or repeating rows) and its id.
 */
export interface SweepPosition {
  initiatedAt: string;
  id: string;
}

/** A pending payment as the sweep sees it: what decides its job, and where its page ends. */
export type SweepCandidate = Pick<
  Payment,
  'id' | 'requestId' | 'checkoutRequestId' | 'stkPushStatus' | 'retryCount' | 'maxRetries' | 'lastRetryAt' | 'initiatedAt'
> & { position: SweepPosition };

interface SweepCandidateRow {
  id: string;
  request_id: string | null;
  checkout_request_id: string | null;
  stk_push_status: StkPushStatus;
  retry_count: number;
  max_retries: number;
  last_retry_at: Date | null;
  initiated_at: Date;
  position_at: string;
}

/** Below every uuid: the start of a keyset walk. */
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

export const ONE_PENDING_PER_PHONE = 'ux_payments_one_pending_per_phone';
export const ONE_PAYMENT_PER_IDEMPOTENCY_KEY = 'ux_payments_client_idempotency';
export const UNIQUE_RECEIPT = 'UQ_payments_mpesa_receipt_number';
export const ONE_PENDING_PER_BILL = 'ux_payments_one_pending_per_bill';

/**
 * The only writer of `payments`. Every state change is a guarded UPDATE; a caller's effects (audit event, outbox
 * rows, log rows, written by their own modules) ride in the same statement, so they commit with it or not at all.
 */
@Injectable()
export class PaymentsRepository {
  constructor(private readonly db: Database) {}

  async findById(id: string, tx?: Tx): Promise<Payment | null> {
    const row = await this.db.one(sql`SELECT * FROM payments WHERE id = ${id}`, tx);
    return row ? this.fromRow(row) : null;
  }

  /**
   * The payment as it was before `effect`, another table's write that the same statement makes (one round trip):
   * e.g. the receipt ledger's record of a callback (MpesaReceiptsRepository.recordForPaymentSql).
   */
  async findByIdWith(id: string, effect: Sql): Promise<Payment | null> {
    const row = await this.db.one(sql`WITH effect AS (${effect}) SELECT * FROM payments WHERE id = ${id}`);
    return row ? this.fromRow(row) : null;
  }

  findPendingByPhoneHash(phoneHash: string): Promise<Payment | null> {
    return this.db.manager.findOne(Payment, {
      where: { phoneNumberHash: phoneHash, status: PaymentStatus.Pending },
      order: { initiatedAt: 'DESC' },
    });
  }

  /** The push of a bill that is still pending (one at a time: ux_payments_one_pending_per_bill). */
  findPendingForBill(billId: string): Promise<Payment | null> {
    return this.db.manager.findOne(Payment, { where: { billId, status: PaymentStatus.Pending }, order: { initiatedAt: 'DESC' } });
  }

  async findByReceipt(receipt: string, tx?: Tx): Promise<Payment | null> {
    const row = await this.db.one(sql`SELECT * FROM payments WHERE mpesa_receipt_number = ${receipt}`, tx);
    return row ? this.fromRow(row) : null;
  }

  /**
   * Our STK pushes that money received without our ids may be (served by ix_payments_stk_reference): the same
   * reference and amount, started in the window, and still open to that evidence: pending, expired, or completed
   * by a status query that brought no receipt. Under review or not: the caller decides what a review means.
   */
  async findIncomingCandidates(query: IncomingCandidateQuery, tx?: Tx): Promise<Payment[]> {
    const rows = await this.db.query(
      sql`SELECT * FROM payments
           WHERE channel = 'stk' AND upper(account_reference) = ${query.reference} AND amount = ${query.amount}
             AND initiated_at BETWEEN ${query.from} AND ${query.to}
             AND (status IN ('pending', 'expired') OR (status = 'completed' AND mpesa_receipt_number IS NULL))
           ORDER BY initiated_at, id
           LIMIT 20`,
      tx,
    );
    return rows.map((row) => this.fromRow(row));
  }

  /** Whether one of our pushes since `since` carried this AccountReference (upper-case): C2B validation accepts it. */
  async hasPushWithReference(reference: string, since: Date): Promise<boolean> {
    const row = await this.db.one(
      sql`SELECT 1 AS found FROM payments
           WHERE channel = 'stk' AND upper(account_reference) = ${reference} AND initiated_at >= ${since}
             AND status IN ('pending', 'expired', 'completed')
           LIMIT 1`,
    );
    return row !== null;
  }

  findByIdempotencyKey(clientId: string, key: string): Promise<Payment | null> {
    return this.db.manager.findOneBy(Payment, { clientId, idempotencyKey: key });
  }

  /** Writes a new pending payment, and its effects (its `payment.initiated` audit event) in the same statement. */
  async insert(payment: NewPayment, effects: Effects): Promise<void> {
    await this.db.query(
      changeWithEffects(
        sql`INSERT INTO payments (id, client_id, appointment_id, amount, payment_type, description, phone_number_encrypted,
                                  phone_number_hash, account_reference, transaction_desc, stk_push_status, max_retries,
                                  idempotency_key, request_id, request_payload, customer_name, customer_email_encrypted, bill_id)
            VALUES (${payment.id}, ${payment.clientId}, ${payment.appointmentId}, ${payment.amount}, ${payment.paymentType},
                    ${payment.description}, ${payment.phoneNumberEncrypted}, ${payment.phoneNumberHash}, ${payment.accountReference},
                    ${payment.transactionDesc}, ${payment.stkPushStatus}, ${payment.maxRetries}, ${payment.idempotencyKey},
                    ${payment.requestId}, ${json(payment.requestPayload)}, ${payment.customerName}, ${payment.customerEmailEncrypted},
                    ${payment.billId})
            RETURNING id`,
        effects,
      ),
    );
  }

  /**
   * Writes a payment that arrived complete (channel `c2b`), with its effects (audit event, webhook row) in the same
   * statement. The receipt's unique constraint refuses a second payment for the same money.
   */
  async insertIncoming(tx: Tx, payment: NewIncomingPayment, effects: Effects): Promise<Changed> {
    const changed = await this.change(
      sql`INSERT INTO payments (id, client_id, appointment_id, bill_id, amount, payment_type, description, phone_number_encrypted,
                                phone_number_hash, customer_name, account_reference, transaction_desc, channel, status, settled_by,
                                result_code, result_desc, mpesa_receipt_number, mpesa_transaction_id, transaction_date,
                                stk_push_status, max_retries, request_id, callback_payload, initiated_at, completed_at)
          VALUES (${payment.id}, ${payment.clientId}, ${payment.appointmentId}, ${payment.billId}, ${payment.amount}, ${payment.paymentType},
                  ${payment.description}, ${payment.phoneNumberEncrypted}, ${payment.phoneNumberHash}, ${payment.customerName},
                  ${payment.accountReference}, ${payment.transactionDesc}, ${PaymentChannel.C2b}, ${PaymentStatus.Completed},
                  ${payment.settledBy}, '0', ${payment.resultDesc}, ${payment.mpesaReceiptNumber}, ${payment.mpesaReceiptNumber},
                  ${payment.transactionDate}, ${StkPushStatus.NotApplicable}, 0, ${payment.requestId},
                  ${json(payment.callbackPayload)}::jsonb, ${payment.completedAt}, ${payment.completedAt})
          RETURNING *`,
      effects,
      tx,
    );
    if (!changed) throw new Error(`Payment ${payment.id} was not written`);
    return changed;
  }

  /** Records Daraja's acknowledgement. The callback may have come first and set the id already: keep it. */
  async markPushAccepted(
    id: string,
    checkoutRequestId: string,
    merchantRequestId: string,
    response: unknown,
    effects: { callLog?: Sql } = {},
  ): Promise<boolean> {
    // The push's own transaction-log row, when given, is written by the same statement (one round trip per push less).
    const rows = await this.db.query(
      sql`${effects.callLog ? sql`WITH call_log AS (${effects.callLog}) ` : sql``}UPDATE payments
             SET checkout_request_id = ${checkoutRequestId}, merchant_request_id = ${merchantRequestId}, response_payload = ${json(response)},
                 stk_push_status = ${StkPushStatus.Accepted}, updated_at = now(), version = version + 1
           WHERE id = ${id} AND (checkout_request_id IS NULL OR checkout_request_id = ${checkoutRequestId})
           RETURNING id`,
    );
    return rows.length > 0;
  }

  /** Sets the push status of a still-pending payment and appends to its error log. */
  async markPushStatus(id: string, status: StkPushStatus, errorLog?: string): Promise<void> {
    await this.db.query(
      sql`UPDATE payments
             SET stk_push_status = ${status}, error_logs = error_logs || ${json(errorLog ? [errorLog] : [])}::jsonb,
                 updated_at = now(), version = version + 1
           WHERE id = ${id} AND status = 'pending'`,
    );
  }

  /** Claims a scheduled retry: only one worker can move it from retry_scheduled to initiating. */
  async claimRetry(id: string): Promise<Payment | null> {
    const row = await this.db.one(
      sql`UPDATE payments
             SET stk_push_status = ${StkPushStatus.Initiating}, retry_count = retry_count + 1, last_retry_at = now(),
                 updated_at = now(), version = version + 1
           WHERE id = ${id} AND status = 'pending' AND stk_push_status = ${StkPushStatus.RetryScheduled} AND retry_count < max_retries
           RETURNING *`,
    );
    return row ? this.fromRow(row) : null;
  }

  /**
   * Moves a payment from one of `from` (usually `pending`), exactly once, to the state `settled` describes (see
   * `settledState`), with its effects in the same statement. Null when another path moved it first: then nothing at
   * all was written.
   */
  /**
   * A payment under review is settled only by the person resolving it (`byReview`): evidence that arrives meanwhile
   * joins the review instead.
   */
  async settle(
    settled: Payment,
    change: SettlementChange,
    effects: Effects,
    from: PaymentStatus[],
    options: { tx?: Tx; byReview?: boolean } = {},
  ): Promise<Changed | null> {
    return this.change(
      sql`UPDATE payments
             SET status = ${settled.status}, settled_by = ${settled.settledBy}, result_code = ${settled.resultCode},
                 result_desc = ${settled.resultDesc}, mpesa_receipt_number = ${settled.mpesaReceiptNumber},
                 mpesa_transaction_id = COALESCE(${settled.mpesaReceiptNumber}, mpesa_transaction_id),
                 transaction_date = ${settled.transactionDate},
                 checkout_request_id = COALESCE(checkout_request_id, ${change.checkoutRequestId ?? null}),
                 merchant_request_id = COALESCE(merchant_request_id, ${change.merchantRequestId ?? null}),
                 callback_received = callback_received OR ${change.callbackPayload !== undefined},
                 callback_payload = COALESCE(${change.callbackPayload === undefined ? null : json(change.callbackPayload)}::jsonb, callback_payload),
                 stk_push_status = COALESCE(${change.stkPushStatus ?? null}, stk_push_status),
                 error_logs = error_logs || ${json(change.errorLog ? [change.errorLog] : [])}::jsonb,
                 completed_at = ${settled.completedAt}, failed_at = ${settled.failedAt},
                 updated_at = now(), version = version + 1
           WHERE id = ${settled.id} AND status = ANY(${from}) AND (${options.byReview === true}::boolean OR review_reason IS NULL)
           RETURNING *`,
      effects,
      options.tx,
    );
  }

  /** Adds the receipt a late callback carries to a payment that a status query completed without one. */
  async recordReceipt(tx: Tx, id: string, receipt: string, transactionDate: Date | null, callbackPayload: unknown): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE payments
             SET mpesa_receipt_number = ${receipt}, mpesa_transaction_id = ${receipt}, transaction_date = COALESCE(${transactionDate}, transaction_date),
                 callback_received = true, callback_payload = ${json(callbackPayload)}::jsonb, updated_at = now(), version = version + 1
           WHERE id = ${id} AND status = 'completed' AND mpesa_receipt_number IS NULL
           RETURNING id`,
      tx,
    );
    return rows.length > 0;
  }

  /** A review opened on the payment: its `review_reason` shows the oldest open one; the detail goes to its error log. */
  async markUnderReview(tx: Tx, id: string, reason: string, detail: string): Promise<void> {
    await this.db.query(
      sql`UPDATE payments
             SET review_reason = COALESCE(review_reason, ${reason}), error_logs = error_logs || ${json([detail])}::jsonb,
                 updated_at = now(), version = version + 1
           WHERE id = ${id}`,
      tx,
    );
  }

  /** After a review was resolved: the reason of the oldest review still open, or null when none is. */
  async setReviewMark(tx: Tx, id: string, reason: string | null): Promise<void> {
    await this.db.query(
      sql`UPDATE payments SET review_reason = ${reason}, updated_at = now(), version = version + 1
           WHERE id = ${id} AND review_reason IS DISTINCT FROM ${reason}`,
      tx,
    );
  }

  /** Daraja refused to be asked about this CheckoutRequestID: the sweep stops asking. */
  async markQueryRefused(id: string, note: string): Promise<void> {
    await this.db.query(
      sql`UPDATE payments
             SET stk_push_status = ${StkPushStatus.QueryRefused}, error_logs = error_logs || ${json([note])}::jsonb,
                 updated_at = now(), version = version + 1
           WHERE id = ${id} AND status IN ('pending', 'expired')`,
    );
  }

  /** One more of an expired payment's late questions was answered (inconclusively, or it would not be expired). */
  async recordLateQuery(id: string, asked: number): Promise<void> {
    await this.db.query(
      sql`UPDATE payments SET late_queries = ${asked + 1}, updated_at = now(), version = version + 1
           WHERE id = ${id} AND status = 'expired' AND late_queries = ${asked}`,
    );
  }

  /** The payment locked for the rest of `tx`: refunds and reversals of it are decided one at a time. */
  async lockForMoneyOut(tx: Tx, id: string): Promise<Payment | null> {
    const row = await this.db.one(sql`SELECT * FROM payments WHERE id = ${id} FOR UPDATE`, tx);
    return row ? this.fromRow(row) : null;
  }

  /** A completed refund: adds it to the refunded amount and moves the payment to partially_refunded or refunded. */
  async applyRefund(tx: Tx, id: string, amount: number): Promise<{ status: PaymentStatus; refundedAmount: number } | null> {
    const row = await this.db.one<{ status: PaymentStatus; refunded_amount: number }>(
      sql`UPDATE payments
             SET refunded_amount = refunded_amount + ${amount},
                 status = CASE WHEN refunded_amount + ${amount} >= amount THEN 'refunded' ELSE 'partially_refunded' END,
                 updated_at = now(), version = version + 1
           WHERE id = ${id} AND status IN ('completed', 'partially_refunded')
           RETURNING status, refunded_amount`,
      tx,
    );
    return row ? { status: row.status, refundedAmount: row.refunded_amount } : null;
  }

  /** A completed reversal: the money went back to the customer. */
  async markReversed(tx: Tx, id: string): Promise<boolean> {
    const rows = await this.db.query(
      sql`UPDATE payments SET status = 'reversed', updated_at = now(), version = version + 1
           WHERE id = ${id} AND status = 'completed' RETURNING id`,
      tx,
    );
    return rows.length > 0;
  }

  /**
   * Masks the personal data of settled payments (one guarded UPDATE for the batch); returns the ids it changed.
   * Retention masks what is still whole; anonymisation also what retention masked (it drops the look-up hash too).
   * Financial columns are never touched.
   */
  async maskPersonalData(tx: Tx, rows: PaymentMasking[], by: PersonalDataMasking): Promise<string[]> {
    if (!rows.length) return [];
    const changed = await this.db.query<{ id: string }>(
      sql`UPDATE payments t
             SET phone_number_encrypted = v.phone_number_encrypted,
                 phone_number_hash = COALESCE(v.phone_number_hash, t.phone_number_hash),
                 customer_name = v.customer_name,
                 customer_email_encrypted = v.customer_email_encrypted,
                 request_payload = NULLIF(v.request_payload, 'null'::jsonb),
                 response_payload = NULLIF(v.response_payload, 'null'::jsonb),
                 callback_payload = NULLIF(v.callback_payload, 'null'::jsonb),
                 error_logs = COALESCE(NULLIF(v.error_logs, 'null'::jsonb), t.error_logs),
                 personal_data_masked_at = now(), personal_data_masked_by = ${by}::varchar,
                 updated_at = now(), version = t.version + 1
            FROM jsonb_to_recordset(${json(rows)}::jsonb) AS v(id uuid, phone_number_encrypted text, phone_number_hash text, customer_name text,
                 customer_email_encrypted text, request_payload jsonb, response_payload jsonb, callback_payload jsonb, error_logs jsonb)
           WHERE t.id = v.id AND t.status <> 'pending'
             AND ((${by}::varchar = 'retention' AND t.personal_data_masked_at IS NULL)
               OR (${by}::varchar = 'anonymisation' AND t.personal_data_masked_by IS DISTINCT FROM 'anonymisation'))
           RETURNING t.id`,
      tx,
    );
    return changed.map((r) => r.id);
  }

  /**
   * One page of the sweep: pending payments initiated before `cutoff`, oldest first, after `after` (keyset paging
   * over ix_payments_pending_initiated_id, so each page costs the same however deep the sweep is). A payment under
   * review waits for the person deciding it: it is neither asked about nor expired. Only the columns that decide
   * which job a payment gets are read, not its payloads.
   */
  async findPendingOlderThan(cutoff: Date, limit: number, after?: SweepPosition): Promise<SweepCandidate[]> {
    const rows = await this.db.query<SweepCandidateRow>(
      sql`SELECT id, request_id, checkout_request_id, stk_push_status, retry_count, max_retries, last_retry_at, initiated_at,
                 initiated_at::text AS position_at
            FROM payments
           WHERE status = 'pending' AND review_reason IS NULL AND initiated_at < ${cutoff}
             AND (initiated_at, id) > (${after?.initiatedAt ?? '-infinity'}::timestamptz, ${after?.id ?? ZERO_UUID}::uuid)
           ORDER BY initiated_at, id
           LIMIT ${limit}`,
    );
    return rows.map((r) => ({
      id: r.id,
      requestId: r.request_id,
      checkoutRequestId: r.checkout_request_id,
      stkPushStatus: r.stk_push_status,
      retryCount: r.retry_count,
      maxRetries: r.max_retries,
      lastRetryAt: r.last_retry_at,
      initiatedAt: r.initiated_at,
      position: { initiatedAt: r.position_at, id: r.id },
    }));
  }

  /**
   * Expired payments due for their next late question: the n-th is asked `delaysMs[n]` after the expiry (served by
   * ix_payments_expired_failed_at). Counting answers, rather than matching time windows, survives a missed sweep.
   */
  findExpiredDueForLateQuery(now: Date, delaysMs: number[], limit: number): Promise<Payment[]> {
    if (!delaysMs.length) return Promise.resolve([]);
    // `"p"."late_queries"` by its SQL name: TypeORM does not rewrite `p.lateQueries` inside `[...]`, and Postgres then
    // refused the whole sweep query ("column p.latequeries does not exist"), so no expired payment was ever asked again.
    return this.db.manager
      .createQueryBuilder(Payment, 'p')
      .where(`p.status = 'expired'`)
      .andWhere('p.checkoutRequestId IS NOT NULL')
      .andWhere('p.reviewReason IS NULL')
      .andWhere(`p.stkPushStatus <> :refused`, { refused: StkPushStatus.QueryRefused })
      .andWhere('p.lateQueries < :count', { count: delaysMs.length })
      .andWhere(
        `p.failedAt < CAST(:now AS timestamptz) - make_interval(secs => (CAST(:delays AS int[]))["p"."late_queries" + 1] / 1000.0)`,
        {
          now,
          delays: delaysMs,
        },
      )
      .orderBy('p.failedAt', 'ASC')
      .limit(limit)
      .getMany();
  }

  /** The client's other paid payments for the same appointment (a possible double payment). */
  findOtherPaidForAppointment(payment: Payment): Promise<Payment[]> {
    if (!payment.appointmentId) return Promise.resolve([]);
    return this.db.manager
      .createQueryBuilder(Payment, 'p')
      .where('p.clientId = :clientId AND p.appointmentId = :appointmentId', {
        clientId: payment.clientId,
        appointmentId: payment.appointmentId,
      })
      .andWhere('p.id <> :id', { id: payment.id })
      .andWhere('p.status IN (:...paid)', { paid: PAID_STATUSES })
      .getMany();
  }

  /**
   * One page of payments, newest first (created_at, id), and how many match. Served by the (filter, created_at, id)
   * indexes of PaymentListIndexes1797600000000 without reading what precedes the page: with `after`, by keyset; with
   * `page`, by OFFSET (fine for the first pages, costs what it skips for deep ones). The total is counted exactly
   * up to LIST_EXACT_TOTAL_UP_TO; beyond that a count would read every match, so Postgres' estimate is given instead.
   */
  async list(filter: PaymentListFilter): Promise<PaymentListPage> {
    const where = listConditions(filter);
    const keyset = filter.after ? sql` AND (created_at, id) < (${filter.after.createdAt}::timestamptz, ${filter.after.id}::uuid)` : raw('');
    const offset = filter.after ? 0 : (filter.page - 1) * filter.limit;
    const [rows, counted] = await Promise.all([
      // One row more than the page says whether another page follows.
      this.db.query(
        sql`SELECT ${LIST_COLUMNS}, created_at::text AS position_at FROM payments WHERE ${where}${keyset}
             ORDER BY created_at DESC, id DESC LIMIT ${filter.limit + 1} OFFSET ${offset}`,
      ),
      this.db.one<{ n: number }>(
        sql`SELECT count(*)::int AS n FROM (SELECT 1 FROM payments WHERE ${where} LIMIT ${LIST_EXACT_TOTAL_UP_TO + 1}) AS bounded`,
      ),
    ]);
    const items = rows.slice(0, filter.limit);
    const last = rows.length > filter.limit ? items[items.length - 1] : undefined;
    const next = last ? { createdAt: String(last.position_at), id: String(last.id) } : null;
    const exact = counted?.n ?? 0;
    if (exact <= LIST_EXACT_TOTAL_UP_TO) return { items: items.map((r) => this.fromRow(r)), total: exact, totalIsEstimate: false, next };
    const [plan] = await this.db.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(
      sql`EXPLAIN (FORMAT JSON) SELECT 1 FROM payments WHERE ${where}`,
    );
    const estimate = Math.round(plan['QUERY PLAN'][0].Plan['Plan Rows']);
    return { items: items.map((r) => this.fromRow(r)), total: Math.max(estimate, exact), totalIsEstimate: true, next };
  }

  private async change(update: Sql, effects: Effects, tx?: Tx): Promise<Changed | null> {
    const row = await this.db.one(changeWithEffects(update, effects), tx);
    if (!row) return null;
    const effectRows: Record<string, unknown[]> = {};
    for (const name of Object.keys(effects)) effectRows[name] = row[name] as unknown[];
    return { payment: this.fromRow(row), effects: effectRows };
  }

  private fromRow(row: Record<string, unknown>): Payment {
    return this.db.toEntity(Payment, row);
  }
}
