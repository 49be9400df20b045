import { Injectable } from '@nestjs/common';
import { Brackets, EntityManager, In } from 'typeorm';
import { AuditEvent } from '../audit/audit-event.entity';
import { TransactionLog } from '../audit/transaction-log.entity';
import { Database, Tx } from '../database/database';
import { raw, sql } from '../database/sql';
import { Notification } from '../notifications/notification.entity';
import { IdempotencyRecord } from '../payments/idempotency/idempotency-record.entity';
import { MpesaReceipt } from '../payments/mpesa-receipt.entity';
import { Payment } from '../payments/payment.entity';
import { PaymentStatus } from '../payments/payment-status';
import { Payout, PayoutStatus } from '../payouts/payout.entity';
import { Reversal, ReversalStatus } from '../payouts/reversals/reversal.entity';
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

export interface PayoutPersonalData {
  id: string;
  phone_number_encrypted: string;
  result_payload: unknown;
  error_logs: unknown;
}

export interface LockedPayment extends PaymentPersonalData {
  status: PaymentStatus;
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

const OPEN_PAYOUT_STATUSES = [PayoutStatus.Pending, PayoutStatus.Sending, PayoutStatus.Submitted, PayoutStatus.Unknown];
const OPEN_REVERSAL_STATUSES = [ReversalStatus.Pending, ReversalStatus.Submitted, ReversalStatus.Unknown];

const PAYMENT_PERSONAL_COLUMNS = raw(
  `id, phone_number_encrypted, customer_name, customer_email_encrypted, request_payload, response_payload, callback_payload, error_logs`,
);
const PAYOUT_PERSONAL_COLUMNS = raw(`id, phone_number_encrypted, result_payload, error_logs`);

/**
 * Every read of the data-protection features, named for what it is for. The writes (masking, scrubbing) go through
 * each table's own repository.
 */
@Injectable()
export class PrivacyRepository {
  constructor(private readonly db: Database) {}

  private get manager(): EntityManager {
    return this.db.manager;
  }

  // ---- retention ----------------------------------------------------------------------------------------------

  /**
   * Settled payments created before `cutoff` whose personal data is still whole; locked, skipping rows others hold.
   * Rows flagged for review wait for their person: a refund to that phone may still be owed.
   */
  lockPaymentsDueForRetention(tx: Tx, cutoff: Date, limit: number): Promise<PaymentPersonalData[]> {
    return this.db.query<PaymentPersonalData>(
      sql`SELECT ${PAYMENT_PERSONAL_COLUMNS} FROM payments
           WHERE personal_data_masked_at IS NULL AND status <> 'pending' AND review_reason IS NULL AND created_at < ${cutoff}
           ORDER BY created_at LIMIT ${limit} FOR UPDATE SKIP LOCKED`,
      tx,
    );
  }

  /** Completed or failed payouts created before `cutoff` whose phone is still whole (never one whose outcome is open). */
  lockPayoutsDueForRetention(tx: Tx, cutoff: Date, limit: number): Promise<PayoutPersonalData[]> {
    return this.db.query<PayoutPersonalData>(
      sql`SELECT ${PAYOUT_PERSONAL_COLUMNS} FROM payouts
           WHERE personal_data_masked_at IS NULL AND status IN ('completed', 'failed') AND review_reason IS NULL AND created_at < ${cutoff}
           ORDER BY created_at LIMIT ${limit} FOR UPDATE SKIP LOCKED`,
      tx,
    );
  }

  // ---- a data subject's records ------------------------------------------------------------------------------

  paymentsOf(subject: DataSubject, manager: EntityManager = this.manager): Promise<Payment[]> {
    return manager.createQueryBuilder(Payment, 'p').where(this.subjectMatch('p', subject)).orderBy('p.createdAt', 'ASC').getMany();
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
  lockPaymentsOf(tx: Tx, subject: DataSubject): Promise<LockedPayment[]> {
    const clientId = subject.clientId ?? null;
    const phoneHash = subject.phoneHash ?? null;
    return this.db.query<LockedPayment>(
      sql`SELECT ${PAYMENT_PERSONAL_COLUMNS}, status, review_reason, personal_data_masked_by, client_id, mpesa_receipt_number FROM payments
           WHERE (${clientId}::varchar IS NOT NULL AND client_id = ${clientId}) OR (${phoneHash}::varchar IS NOT NULL AND phone_number_hash = ${phoneHash})
           ORDER BY created_at FOR UPDATE`,
      tx,
    );
  }

  lockPayoutsOf(tx: Tx, subject: DataSubject, paymentIds: string[]): Promise<LockedPayout[]> {
    const clientId = subject.clientId ?? null;
    const phoneHash = subject.phoneHash ?? null;
    return this.db.query<LockedPayout>(
      sql`SELECT ${PAYOUT_PERSONAL_COLUMNS}, status, review_reason, personal_data_masked_by, client_id FROM payouts
           WHERE (${clientId}::varchar IS NOT NULL AND client_id = ${clientId}) OR (${phoneHash}::varchar IS NOT NULL AND phone_number_hash = ${phoneHash})
              OR payment_id = ANY(${paymentIds}::uuid[])
           ORDER BY created_at FOR UPDATE`,
      tx,
    );
  }

  countOpenReversalsOf(paymentIds: string[], manager: EntityManager = this.manager): Promise<number> {
    if (!paymentIds.length) return Promise.resolve(0);
    return manager.count(Reversal, { where: { paymentId: In(paymentIds), status: In(OPEN_REVERSAL_STATUSES) } });
  }

  isOpenPayoutStatus(status: string): boolean {
    return (OPEN_PAYOUT_STATUSES as string[]).includes(status);
  }

  /**
   * The receipt ledger's rows of these payments. Inside `tx` they are locked until it ends: a channel's sighting
   * arriving meanwhile waits, and its record is added to the scrubbed document rather than lost under it.
   */
  async receiptsOf(paymentIds: string[], tx?: Tx): Promise<MpesaReceipt[]> {
    if (!paymentIds.length) return [];
    const rows = await this.db.query(
      sql`SELECT * FROM mpesa_receipts WHERE payment_id = ANY(${paymentIds}::uuid[]) ORDER BY created_at ${raw(tx ? 'FOR UPDATE' : '')}`,
      tx,
    );
    return rows.map((row) => this.db.toEntity(MpesaReceipt, row));
  }

  reversalsOf(paymentIds: string[], manager: EntityManager = this.manager): Promise<Reversal[]> {
    return paymentIds.length
      ? manager.find(Reversal, { where: { paymentId: In(paymentIds) }, order: { createdAt: 'ASC' } })
      : Promise.resolve([]);
  }

  /** Outbox rows announcing these payments and payouts. */
  notificationsAbout(subjectIds: string[], manager: EntityManager = this.manager): Promise<Notification[]> {
    return subjectIds.length
      ? manager.find(Notification, { where: { subjectId: In(subjectIds) }, order: { createdAt: 'ASC' } })
      : Promise.resolve([]);
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
    return references.length
      ? manager.find(TransactionLog, { where: { reference: In(references) }, order: { id: 'ASC' } })
      : Promise.resolve([]);
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

  private subjectMatch(alias: string, subject: DataSubject): Brackets {
    return new Brackets((qb) => {
      qb.where('1 = 0');
      if (subject.clientId) qb.orWhere(`${alias}.clientId = :clientId`, { clientId: subject.clientId });
      if (subject.phoneHash) qb.orWhere(`${alias}.phoneNumberHash = :phoneHash`, { phoneHash: subject.phoneHash });
    });
  }
}
