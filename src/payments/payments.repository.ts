import { Injectable } from '@nestjs/common';
import { InjectEntityManager } from '@nestjs/typeorm';
import { EntityManager } from 'typeorm';
import { Actor } from '../audit/audit.service';
import { preparedQuery } from '../database/prepared-query';
import { Payment } from './payment.entity';
import { queryRows } from '../database/query-rows';
import { PaymentStatus, PaymentType, SettledBy, StkPushStatus } from './payment-status';
import { currentRequestId } from '../common/request-context';
import { ClientOutboxRow } from '../notifications/client-notifications';
import { QueuedNotification } from '../notifications/notifications.service';

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

export interface SettlementEffects {
  actor: Actor;
  /** The notification's fixed part; the settled fields (status, receipt, result...) are added from the row. */
  notificationPayload: object;
  notificationStatus: 'pending' | 'skipped';
  notificationNote?: string;
  /** The inbound callback's transaction-log row, written only if this settlement applies. */
  transactionLog?: Record<string, unknown>;
  /** The client's email/SMS outbox rows (NotificationsService.clientOutbox); their payload is built from the settled row. */
  clientNotifications?: ClientOutboxRow[];
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
>;

export interface PaymentListFilter {
  clientId?: string;
  status?: PaymentStatus;
  paymentType?: PaymentType;
  from?: Date;
  to?: Date;
  page: number;
  limit: number;
}

const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = error as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = e?.code ?? e?.driverError?.code;
  const name = e?.constraint ?? e?.driverError?.constraint;
  return code === UNIQUE_VIOLATION && (!constraint || name === constraint);
}

export const ONE_PENDING_PER_PHONE = 'ux_payments_one_pending_per_phone';
export const ONE_PAYMENT_PER_IDEMPOTENCY_KEY = 'ux_payments_client_idempotency';
export const UNIQUE_RECEIPT = 'UQ_payments_mpesa_receipt_number';

/** Every query on payments, named for what it is for. State changes are guarded in SQL. */
@Injectable()
export class PaymentsRepository {
  constructor(@InjectEntityManager() private readonly manager: EntityManager) {}

  /** Raw SQL: this read is on the hot path of every callback and status query. */
  async findById(id: string, manager?: EntityManager): Promise<Payment | null> {
    const sql = 'SELECT * FROM payments WHERE id = $1';
    const rows: Record<string, unknown>[] = manager ? await manager.query(sql, [id]) : await preparedQuery(this.manager, 'payments-find-by-id', sql, [id]);
    return rows.length ? this.fromRow(rows[0]) : null;
  }

  findPendingByPhoneHash(phoneHash: string): Promise<Payment | null> {
    return this.manager.findOne(Payment, {
      where: { phoneNumberHash: phoneHash, status: PaymentStatus.Pending },
      order: { initiatedAt: 'DESC' },
    });
  }

  findByIdempotencyKey(clientId: string, key: string): Promise<Payment | null> {
    return this.manager.findOneBy(Payment, { clientId, idempotencyKey: key });
  }

  /** Writes a new pending payment and its `payment.initiated` audit event in one statement. */
  async insertWithAudit(payment: NewPayment, actor: Actor, auditAfter: object): Promise<void> {
    await preparedQuery(
      this.manager,
      'payments-insert-with-audit',
      `WITH inserted AS (
         INSERT INTO payments (id, client_id, appointment_id, amount, payment_type, description, phone_number_encrypted,
                               phone_number_hash, account_reference, transaction_desc, stk_push_status, max_retries,
                               idempotency_key, request_id, request_payload, customer_name, customer_email_encrypted)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $21, $22)
         RETURNING id
       )
       INSERT INTO audit_events (actor_type, actor_id, action, entity_type, entity_id, after, ip_address, request_id)
       SELECT $16, $17, 'payment.initiated', 'payment', inserted.id::text, $18, $19, $20 FROM inserted`,
      [
        payment.id,
        payment.clientId,
        payment.appointmentId,
        payment.amount,
        payment.paymentType,
        payment.description,
        payment.phoneNumberEncrypted,
        payment.phoneNumberHash,
        payment.accountReference,
        payment.transactionDesc,
        payment.stkPushStatus,
        payment.maxRetries,
        payment.idempotencyKey,
        payment.requestId,
        JSON.stringify(payment.requestPayload),
        actor.type,
        actor.id ?? null,
        JSON.stringify(auditAfter),
        actor.ipAddress ?? null,
        actor.requestId ?? null,
        payment.customerName,
        payment.customerEmailEncrypted,
      ],
    );
  }

  /** Maps a raw `payments` row (snake_case, from RETURNING) onto the entity. */
  private fromRow(row: Record<string, unknown>): Payment {
    const payment = new Payment();
    for (const column of this.manager.connection.getMetadata(Payment).columns) {
      if (column.databaseName in row) (payment as unknown as Record<string, unknown>)[column.propertyName] = row[column.databaseName];
    }
    return payment;
  }

  /** Records Daraja's acknowledgement. The callback may have come first and set the id already: keep it. */
  async markPushAccepted(id: string, checkoutRequestId: string, merchantRequestId: string, response: unknown): Promise<boolean> {
    const rows: unknown[] = await preparedQuery(
      this.manager,
      'payments-mark-push-accepted',
      `UPDATE payments
          SET checkout_request_id = $2, merchant_request_id = $3, response_payload = $4,
              stk_push_status = $5, updated_at = now(), version = version + 1
        WHERE id = $1 AND (checkout_request_id IS NULL OR checkout_request_id = $2)
        RETURNING id`,
      [id, checkoutRequestId, merchantRequestId, JSON.stringify(response), StkPushStatus.Accepted],
    );
    return rows.length > 0;
  }

  /** Sets the push status of a still-pending payment and appends to its error log. */
  async markPushStatus(id: string, status: StkPushStatus, errorLog?: string): Promise<void> {
    await queryRows(this.manager, `UPDATE payments
          SET stk_push_status = $2, error_logs = error_logs || $3::jsonb, updated_at = now(), version = version + 1
        WHERE id = $1 AND status = 'pending'`,
      [id, status, JSON.stringify(errorLog ? [errorLog] : [])],
    );
  }

  /** Claims a scheduled retry: only one worker can move it from retry_scheduled to initiating. */
  async claimRetry(id: string): Promise<Payment | null> {
    const rows: { id: string }[] = await queryRows(this.manager, `UPDATE payments
          SET stk_push_status = $2, retry_count = retry_count + 1, last_retry_at = now(), updated_at = now(), version = version + 1
        WHERE id = $1 AND status = 'pending' AND stk_push_status = $3 AND retry_count < max_retries
        RETURNING id`,
      [id, StkPushStatus.Initiating, StkPushStatus.RetryScheduled],
    );
    return rows.length ? this.findById(id) : null;
  }

  /**
   * Moves a payment out of `pending`, exactly once, and in the same statement (so atomically, in one round trip)
   * writes its audit event, its outbox notification and, for callbacks, the transaction-log row. Returns null
   * when another path settled the payment first; then nothing at all was written.
   */
  async settle(
    id: string,
    change: SettlementChange,
    effects: SettlementEffects,
  ): Promise<{ payment: Payment; notificationId: string; clientNotifications: QueuedNotification[] } | null> {
    const rows: Record<string, unknown>[] = await preparedQuery(
      this.manager,
      'payments-settle',
      `WITH updated AS (
         UPDATE payments
            SET status = $2::varchar,
                settled_by = $3,
                result_code = COALESCE($4, result_code),
                result_desc = COALESCE($5, result_desc),
                mpesa_receipt_number = COALESCE($6, mpesa_receipt_number),
                mpesa_transaction_id = COALESCE($6, mpesa_transaction_id),
                transaction_date = COALESCE($7, transaction_date),
                checkout_request_id = COALESCE(checkout_request_id, $8),
                merchant_request_id = COALESCE(merchant_request_id, $9),
                callback_received = callback_received OR $10::jsonb IS NOT NULL,
                callback_payload = COALESCE($10::jsonb, callback_payload),
                stk_push_status = COALESCE($11, stk_push_status),
                error_logs = error_logs || $12::jsonb,
                completed_at = CASE WHEN $2::varchar = 'completed' THEN now() END,
                failed_at = CASE WHEN $2::varchar <> 'completed' THEN now() END,
                updated_at = now(),
                version = version + 1
          WHERE id = $1 AND status = 'pending'
          RETURNING *
       ), audit AS (
         INSERT INTO audit_events (actor_type, actor_id, action, entity_type, entity_id, before, after, ip_address, request_id)
         SELECT $13, $14, 'payment.' || u.status, 'payment', u.id::text, '{"status":"pending"}'::jsonb,
                jsonb_build_object('status', u.status, 'settledBy', u.settled_by, 'resultCode', u.result_code,
                                   'resultDesc', u.result_desc, 'mpesaReceiptNumber', u.mpesa_receipt_number),
                $15, $16
           FROM updated u
       ), notification AS (
         INSERT INTO notifications (channel, event, subject_id, payload, status, last_error)
         SELECT 'webhook', 'payment.' || u.status, u.id::text,
                $17::jsonb || jsonb_build_object('status', u.status, 'mpesaReceiptNumber', u.mpesa_receipt_number,
                  'resultCode', u.result_code, 'resultDesc', u.result_desc, 'settledBy', u.settled_by,
                  'completedAt', u.completed_at, 'failedAt', u.failed_at),
                $18, $19
           FROM updated u
         RETURNING id
       ), log AS (
         INSERT INTO transaction_logs (transaction_id, reference, transaction_type, endpoint, request_data, status_code,
                                       duration, outcome, ip_address, user_agent, request_id)
         SELECT l.transaction_id, l.reference, l.transaction_type, l.endpoint, l.request_data, l.status_code,
                l.duration, l.outcome, l.ip_address, l.user_agent, l.request_id
           FROM updated, jsonb_to_record($20::jsonb) AS l(transaction_id varchar, reference varchar, transaction_type varchar,
                endpoint varchar, request_data jsonb, status_code int, duration int, outcome varchar, ip_address varchar,
                user_agent varchar, request_id varchar)
          WHERE $20::jsonb IS NOT NULL
       ), client_notifications AS (
         -- The client's email/SMS: facts of the settled row only; the recipient is decrypted when the job delivers.
         INSERT INTO notifications (channel, event, subject_id, payload, status, last_error)
         SELECT c.channel, c.event, u.id::text,
                jsonb_build_object('paymentId', u.id, 'amount', u.amount, 'currency', u.currency, 'reference', u.account_reference,
                  'receipt', u.mpesa_receipt_number, 'status', u.status, 'resultCode', u.result_code,
                  'paidAt', COALESCE(u.transaction_date, u.completed_at), 'failedAt', u.failed_at),
                c.status, c.last_error
           FROM updated u, jsonb_to_recordset($21::jsonb) AS c(channel varchar, event varchar, status varchar, last_error text)
         RETURNING id, channel, status
       )
       SELECT updated.*, (SELECT id FROM notification) AS notification_id,
              (SELECT COALESCE(jsonb_agg(jsonb_build_object('id', id, 'channel', channel)) FILTER (WHERE status = 'pending'), '[]'::jsonb)
                 FROM client_notifications) AS client_notifications
         FROM updated`,
      [
        id,
        change.to,
        change.settledBy,
        change.resultCode ?? null,
        change.resultDesc ?? null,
        change.receiptNumber ?? null,
        change.transactionDate ?? null,
        change.checkoutRequestId ?? null,
        change.merchantRequestId ?? null,
        change.callbackPayload === undefined ? null : JSON.stringify(change.callbackPayload),
        change.stkPushStatus ?? null,
        JSON.stringify(change.errorLog ? [change.errorLog] : []),
        effects.actor.type,
        effects.actor.id ?? null,
        effects.actor.ipAddress ?? null,
        // A worker settling it (SYSTEM_ACTOR) files the event under the payment's request id, which its job carries.
        effects.actor.requestId ?? currentRequestId() ?? null,
        JSON.stringify(effects.notificationPayload),
        effects.notificationStatus,
        effects.notificationNote ?? null,
        effects.transactionLog ? JSON.stringify(effects.transactionLog) : null,
        JSON.stringify(effects.clientNotifications ?? []),
      ],
    );
    if (rows.length === 0) return null;
    return {
      payment: this.fromRow(rows[0]),
      notificationId: String(rows[0].notification_id),
      clientNotifications: rows[0].client_notifications as QueuedNotification[],
    };
  }

  /** Adds the receipt a late callback carries to a payment that a status query completed without one. */
  async recordReceipt(id: string, receipt: string, transactionDate: Date | null, callbackPayload: unknown, manager: EntityManager): Promise<boolean> {
    const rows: unknown[] = await queryRows(manager, `UPDATE payments
          SET mpesa_receipt_number = $2, mpesa_transaction_id = $2, transaction_date = COALESCE($3, transaction_date),
              callback_received = true, callback_payload = $4::jsonb, updated_at = now(), version = version + 1
        WHERE id = $1 AND status = 'completed' AND mpesa_receipt_number IS NULL
        RETURNING id`,
      [id, receipt, transactionDate, JSON.stringify(callbackPayload)],
    );
    return rows.length > 0;
  }

  /** Marks a payment for a person to look at; a flagged payment is left alone by the sweep. */
  async flagForReview(id: string, reason: string, callbackPayload: unknown, errorLog: string, manager: EntityManager): Promise<boolean> {
    const rows: unknown[] = await queryRows(manager, `UPDATE payments
          SET review_reason = $2, callback_received = true, callback_payload = COALESCE($3::jsonb, callback_payload),
              error_logs = error_logs || $4::jsonb, updated_at = now(), version = version + 1
        WHERE id = $1 AND review_reason IS NULL
        RETURNING id`,
      [id, reason, callbackPayload === undefined ? null : JSON.stringify(callbackPayload), JSON.stringify([errorLog])],
    );
    return rows.length > 0;
  }

  /** The sweep's query (served by the partial index on pending payments). */
  findPendingOlderThan(cutoff: Date, limit: number): Promise<Payment[]> {
    return this.manager
      .createQueryBuilder(Payment, 'p')
      .where(`p.status = 'pending'`)
      .andWhere('p.initiatedAt < :cutoff', { cutoff })
      .andWhere('p.reviewReason IS NULL')
      .orderBy('p.initiatedAt', 'ASC')
      .limit(limit)
      .getMany();
  }

  async list(filter: PaymentListFilter): Promise<[Payment[], number]> {
    const qb = this.manager.createQueryBuilder(Payment, 'p');
    if (filter.clientId) qb.andWhere('p.clientId = :clientId', { clientId: filter.clientId });
    if (filter.status) qb.andWhere('p.status = :status', { status: filter.status });
    if (filter.paymentType) qb.andWhere('p.paymentType = :paymentType', { paymentType: filter.paymentType });
    if (filter.from) qb.andWhere('p.createdAt >= :from', { from: filter.from });
    if (filter.to) qb.andWhere('p.createdAt <= :to', { to: filter.to });
    return qb
      .orderBy('p.createdAt', 'DESC')
      .addOrderBy('p.id', 'DESC')
      .skip((filter.page - 1) * filter.limit)
      .take(filter.limit)
      .getManyAndCount();
  }
}
