import { Injectable } from '@nestjs/common';
import { InjectEntityManager } from '@nestjs/typeorm';
import { Brackets, EntityManager, In } from 'typeorm';
import { AuditEvent } from '../audit/audit-event.entity';
import { TransactionLog } from '../audit/transaction-log.entity';
import { queryRows } from '../database/query-rows';
import { Notification } from '../notifications/notification.entity';
import { IdempotencyRecord } from '../payments/idempotency-record.entity';
import { Payment, PersonalDataMasking } from '../payments/payment.entity';
import { Payout, PayoutStatus } from '../payments/payouts/payout.entity';
import { Reversal, ReversalStatus } from '../payments/reversals/reversal.entity';
import { TransactionStatusQuery } from '../treasury/transaction-status-query.entity';

/** Whom a data-protection request is about: a LegalPro client id, a phone's look-up hash, or both (their union). */
export interface DataSubject {
  clientId?: string;
  phoneHash?: string;
}

/** The personal data of one payment as stored, and (in `PaymentMasking`) what replaces it. */
export interface PaymentPersonalData {
  id: string;
  phone_number_encrypted: string;
  customer_name: string | null;
  customer_email_encrypted: string | null;
  request_payload: unknown;
  response_payload: unknown;
  callback_payload: unknown;
  error_logs: unknown;
}

export interface PaymentMasking extends PaymentPersonalData {
  /** null keeps the stored hash (retention); a value replaces it (anonymisation). */
  phone_number_hash: string | null;
}

export interface PayoutPersonalData {
  id: string;
  phone_number_encrypted: string;
  result_payload: unknown;
  error_logs: unknown;
}

export interface PayoutMasking extends PayoutPersonalData {
  phone_number_hash: string | null;
}

export interface LockedPayment extends PaymentPersonalData {
  status: string;
  /** Flagged for a person (e.g. paid after timeout): money may still have to go back to this phone. */
  review_reason: string | null;
  personal_data_masked_by: string | null;
  client_id: string;
  mpesa_receipt_number: string | null;
}

export interface LockedPayout extends PayoutPersonalData {
  status: string;
  review_reason: string | null;
  personal_data_masked_by: string | null;
  client_id: string | null;
}

/** A JSON column's new value for one row. */
export interface JsonRewrite {
  id: string;
  value: unknown;
}

const OPEN_PAYOUT_STATUSES = [PayoutStatus.Pending, PayoutStatus.Sending, PayoutStatus.Submitted, PayoutStatus.Unknown];
const OPEN_REVERSAL_STATUSES = [ReversalStatus.Pending, ReversalStatus.Submitted, ReversalStatus.Unknown];

const PAYMENT_PERSONAL_COLUMNS = `id, phone_number_encrypted, customer_name, customer_email_encrypted, request_payload, response_payload, callback_payload, error_logs`;
const PAYOUT_PERSONAL_COLUMNS = `id, phone_number_encrypted, result_payload, error_logs`;

/**
 * Retention guards on "not masked at all"; anonymisation on "not anonymised yet" (it also drops the look-up hash a
 * retention run keeps). Both leave pending payments and open payouts alone: money could still move on them.
 */
const MASKING_GUARD = `(($2::varchar = 'retention' AND t.personal_data_masked_at IS NULL)
                    OR ($2::varchar = 'anonymisation' AND t.personal_data_masked_by IS DISTINCT FROM 'anonymisation'))`;

/** Every query of the data-protection features, named for what it is for. */
@Injectable()
export class PrivacyRepository {
  constructor(@InjectEntityManager() private readonly manager: EntityManager) {}

  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.manager.transaction(work);
  }

  // ---- retention ----------------------------------------------------------------------------------------------

  /**
   * Settled payments created before `cutoff` whose personal data is still whole; locked, skipping rows others hold.
   * Rows flagged for review wait for their person: a refund to that phone may still be owed.
   */
  lockPaymentsDueForRetention(tx: EntityManager, cutoff: Date, limit: number): Promise<PaymentPersonalData[]> {
    return queryRows<PaymentPersonalData>(
      tx,
      `SELECT ${PAYMENT_PERSONAL_COLUMNS} FROM payments
        WHERE personal_data_masked_at IS NULL AND status <> 'pending' AND review_reason IS NULL AND created_at < $1
        ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [cutoff, limit],
    );
  }

  /** Completed or failed payouts created before `cutoff` whose phone is still whole (never one whose outcome is open). */
  lockPayoutsDueForRetention(tx: EntityManager, cutoff: Date, limit: number): Promise<PayoutPersonalData[]> {
    return queryRows<PayoutPersonalData>(
      tx,
      `SELECT ${PAYOUT_PERSONAL_COLUMNS} FROM payouts
        WHERE personal_data_masked_at IS NULL AND status IN ('completed', 'failed') AND review_reason IS NULL AND created_at < $1
        ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [cutoff, limit],
    );
  }

  // ---- masking (both retention and anonymisation) ------------------------------------------------------------

  /** One guarded UPDATE for the whole batch; returns the ids it changed. Financial columns are not touched. */
  async maskPayments(tx: EntityManager, rows: PaymentMasking[], by: PersonalDataMasking): Promise<string[]> {
    if (!rows.length) return [];
    const changed = await queryRows<{ id: string }>(
      tx,
      `UPDATE payments t
          SET phone_number_encrypted = v.phone_number_encrypted,
              phone_number_hash = COALESCE(v.phone_number_hash, t.phone_number_hash),
              customer_name = v.customer_name,
              customer_email_encrypted = v.customer_email_encrypted,
              request_payload = NULLIF(v.request_payload, 'null'::jsonb),
              response_payload = NULLIF(v.response_payload, 'null'::jsonb),
              callback_payload = NULLIF(v.callback_payload, 'null'::jsonb),
              error_logs = COALESCE(NULLIF(v.error_logs, 'null'::jsonb), t.error_logs),
              personal_data_masked_at = now(), personal_data_masked_by = $2::varchar,
              updated_at = now(), version = t.version + 1
         FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, phone_number_encrypted text, phone_number_hash text, customer_name text,
              customer_email_encrypted text, request_payload jsonb, response_payload jsonb, callback_payload jsonb, error_logs jsonb)
        WHERE t.id = v.id AND t.status <> 'pending' AND ${MASKING_GUARD}
        RETURNING t.id`,
      [JSON.stringify(rows), by],
    );
    return changed.map((r) => r.id);
  }

  async maskPayouts(tx: EntityManager, rows: PayoutMasking[], by: PersonalDataMasking): Promise<string[]> {
    if (!rows.length) return [];
    const changed = await queryRows<{ id: string }>(
      tx,
      `UPDATE payouts t
          SET phone_number_encrypted = v.phone_number_encrypted,
              phone_number_hash = COALESCE(v.phone_number_hash, t.phone_number_hash),
              result_payload = NULLIF(v.result_payload, 'null'::jsonb),
              error_logs = COALESCE(NULLIF(v.error_logs, 'null'::jsonb), t.error_logs),
              personal_data_masked_at = now(), personal_data_masked_by = $2::varchar,
              updated_at = now(), version = t.version + 1
         FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, phone_number_encrypted text, phone_number_hash text, result_payload jsonb, error_logs jsonb)
        WHERE t.id = v.id AND t.status IN ('completed', 'failed') AND ${MASKING_GUARD}
        RETURNING t.id`,
      [JSON.stringify(rows), by],
    );
    return changed.map((r) => r.id);
  }

  // ---- a data subject's records ------------------------------------------------------------------------------

  paymentsOf(subject: DataSubject, manager: EntityManager = this.manager): Promise<Payment[]> {
    return manager
      .createQueryBuilder(Payment, 'p')
      .where(this.subjectMatch('p', subject))
      .orderBy('p.createdAt', 'ASC')
      .getMany();
  }

  payoutsOf(subject: DataSubject, paymentIds: string[], manager: EntityManager = this.manager): Promise<Payout[]> {
    return manager
      .createQueryBuilder(Payout, 'o')
      .where(
        new Brackets((qb) => {
          qb.where(this.subjectMatch('o', subject));
          if (paymentIds.length) qb.orWhere('o.paymentId IN (:...paymentIds)', { paymentIds });
        }),
      )
      .orderBy('o.createdAt', 'ASC')
      .getMany();
  }

  /** The subject's payments (locked) with their personal data, for anonymisation. */
  lockPaymentsOf(tx: EntityManager, subject: DataSubject): Promise<LockedPayment[]> {
    return queryRows(
      tx,
      `SELECT ${PAYMENT_PERSONAL_COLUMNS}, status, review_reason, personal_data_masked_by, client_id, mpesa_receipt_number FROM payments
        WHERE ($1::varchar IS NOT NULL AND client_id = $1) OR ($2::varchar IS NOT NULL AND phone_number_hash = $2)
        ORDER BY created_at FOR UPDATE`,
      [subject.clientId ?? null, subject.phoneHash ?? null],
    );
  }

  lockPayoutsOf(tx: EntityManager, subject: DataSubject, paymentIds: string[]): Promise<LockedPayout[]> {
    return queryRows(
      tx,
      `SELECT ${PAYOUT_PERSONAL_COLUMNS}, status, review_reason, personal_data_masked_by, client_id FROM payouts
        WHERE ($1::varchar IS NOT NULL AND client_id = $1) OR ($2::varchar IS NOT NULL AND phone_number_hash = $2) OR payment_id = ANY($3::uuid[])
        ORDER BY created_at FOR UPDATE`,
      [subject.clientId ?? null, subject.phoneHash ?? null, paymentIds],
    );
  }

  countOpenReversalsOf(paymentIds: string[], manager: EntityManager = this.manager): Promise<number> {
    if (!paymentIds.length) return Promise.resolve(0);
    return manager.count(Reversal, { where: { paymentId: In(paymentIds), status: In(OPEN_REVERSAL_STATUSES) } });
  }

  isOpenPayoutStatus(status: string): boolean {
    return (OPEN_PAYOUT_STATUSES as string[]).includes(status);
  }

  reversalsOf(paymentIds: string[], manager: EntityManager = this.manager): Promise<Reversal[]> {
    return paymentIds.length ? manager.find(Reversal, { where: { paymentId: In(paymentIds) }, order: { createdAt: 'ASC' } }) : Promise.resolve([]);
  }

  /** Outbox rows announcing these payments and payouts. */
  notificationsAbout(subjectIds: string[], manager: EntityManager = this.manager): Promise<Notification[]> {
    return subjectIds.length ? manager.find(Notification, { where: { subjectId: In(subjectIds) }, order: { createdAt: 'ASC' } }) : Promise.resolve([]);
  }

  /** Audit events about these records, and the data-protection events about this client. */
  auditEventsAbout(entityIds: string[], clientId?: string): Promise<AuditEvent[]> {
    const qb = this.manager.createQueryBuilder(AuditEvent, 'a').where('1 = 0');
    if (entityIds.length) qb.orWhere('a.entityId IN (:...entityIds)', { entityIds });
    if (clientId) qb.orWhere(`(a.entityType = 'client' AND a.entityId = :clientId)`, { clientId });
    return qb.orderBy('a.id', 'ASC').getMany();
  }

  /** Daraja calls and callbacks whose reference is one of these records. */
  transactionLogsAbout(references: string[], manager: EntityManager = this.manager): Promise<TransactionLog[]> {
    return references.length ? manager.find(TransactionLog, { where: { reference: In(references) }, order: { id: 'ASC' } }) : Promise.resolve([]);
  }

  /** Transaction Status queries made to settle these payouts or asked about these receipts. */
  statusQueriesAbout(payoutIds: string[], receipts: string[], manager: EntityManager = this.manager): Promise<TransactionStatusQuery[]> {
    if (!payoutIds.length && !receipts.length) return Promise.resolve([]);
    const qb = manager.createQueryBuilder(TransactionStatusQuery, 'q').where('1 = 0');
    if (payoutIds.length) qb.orWhere('q.payoutId IN (:...payoutIds)', { payoutIds });
    if (receipts.length) qb.orWhere('q.transactionId IN (:...receipts)', { receipts });
    return qb.orderBy('q.createdAt', 'ASC').getMany();
  }

  /** Stored Idempotency-Key answers that describe these payments. */
  idempotencyRecordsAbout(clientIds: string[], paymentIds: string[], manager: EntityManager = this.manager): Promise<IdempotencyRecord[]> {
    if (!clientIds.length || !paymentIds.length) return Promise.resolve([]);
    return manager
      .createQueryBuilder(IdempotencyRecord, 'r')
      .where('r.clientId IN (:...clientIds)', { clientIds })
      .andWhere(`r.response_body -> 'data' ->> 'paymentId' IN (:...paymentIds)`, { paymentIds })
      .getMany();
  }

  // ---- scrubbing the documents around them (only rows whose content changes are written) ---------------------

  async rewriteNotificationPayloads(tx: EntityManager, rows: JsonRewrite[]): Promise<number> {
    return this.rewriteJson(tx, 'notifications', 'payload', 'uuid', rows);
  }

  /**
   * Client emails and SMS not yet sent about these records: never sent now, since the address and number they would
   * go to are gone (webhooks to LegalPro still go, with their payload scrubbed).
   */
  async skipPendingClientMessagesAbout(tx: EntityManager, subjectIds: string[]): Promise<number> {
    if (!subjectIds.length) return 0;
    const rows = await queryRows(
      tx,
      `UPDATE notifications SET status = 'skipped', last_error = 'personal data anonymised', updated_at = now()
        WHERE subject_id = ANY($1::text[]) AND channel IN ('email', 'sms') AND status = 'pending'
        RETURNING id`,
      [subjectIds],
    );
    return rows.length;
  }

  async rewriteReversalResults(tx: EntityManager, rows: JsonRewrite[]): Promise<number> {
    return this.rewriteJson(tx, 'reversals', 'result_payload', 'uuid', rows);
  }

  async rewriteStatusQueryResults(tx: EntityManager, rows: JsonRewrite[]): Promise<number> {
    return this.rewriteJson(tx, 'transaction_status_queries', 'result', 'uuid', rows);
  }

  async rewriteTransactionLogs(tx: EntityManager, rows: { id: string; request: unknown; response: unknown }[]): Promise<number> {
    if (!rows.length) return 0;
    const changed = await queryRows(
      tx,
      `UPDATE transaction_logs t SET request_data = NULLIF(v.request, 'null'::jsonb), response_data = NULLIF(v.response, 'null'::jsonb)
         FROM jsonb_to_recordset($1::jsonb) AS v(id bigint, request jsonb, response jsonb)
        WHERE t.id = v.id AND (t.request_data IS DISTINCT FROM NULLIF(v.request, 'null'::jsonb) OR t.response_data IS DISTINCT FROM NULLIF(v.response, 'null'::jsonb))
        RETURNING t.id`,
      [JSON.stringify(rows)],
    );
    return changed.length;
  }

  async rewriteIdempotencyBodies(tx: EntityManager, rows: { clientId: string; key: string; value: unknown }[]): Promise<number> {
    if (!rows.length) return 0;
    const changed = await queryRows(
      tx,
      `UPDATE idempotency_records t SET response_body = NULLIF(v.value, 'null'::jsonb)
         FROM jsonb_to_recordset($1::jsonb) AS v("clientId" varchar, key varchar, value jsonb)
        WHERE t.client_id = v."clientId" AND t.key = v.key AND t.response_body IS DISTINCT FROM NULLIF(v.value, 'null'::jsonb)
        RETURNING t.key`,
      [JSON.stringify(rows)],
    );
    return changed.length;
  }

  private async rewriteJson(tx: EntityManager, table: string, column: string, idType: 'uuid', rows: JsonRewrite[]): Promise<number> {
    if (!rows.length) return 0;
    // Table and column names come from the named methods above, never from input.
    const changed = await queryRows(
      tx,
      `UPDATE ${table} t SET ${column} = NULLIF(v.value, 'null'::jsonb)
         FROM jsonb_to_recordset($1::jsonb) AS v(id ${idType}, value jsonb)
        WHERE t.id = v.id AND t.${column} IS DISTINCT FROM NULLIF(v.value, 'null'::jsonb)
        RETURNING t.id`,
      [JSON.stringify(rows)],
    );
    return changed.length;
  }

  private subjectMatch(alias: string, subject: DataSubject): Brackets {
    return new Brackets((qb) => {
      qb.where('1 = 0');
      if (subject.clientId) qb.orWhere(`${alias}.clientId = :clientId`, { clientId: subject.clientId });
      if (subject.phoneHash) qb.orWhere(`${alias}.phoneNumberHash = :phoneHash`, { phoneHash: subject.phoneHash });
    });
  }
}
