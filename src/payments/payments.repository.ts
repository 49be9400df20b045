import { Injectable } from '@nestjs/common';
import { InjectEntityManager } from '@nestjs/typeorm';
import { EntityManager } from 'typeorm';
import { Payment } from './payment.entity';
import { PaymentStatus, PaymentType, SettledBy, StkPushStatus } from './payment-status';

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

  findById(id: string, manager: EntityManager = this.manager): Promise<Payment | null> {
    return manager.findOneBy(Payment, { id });
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

  async insert(payment: Partial<Payment>, manager: EntityManager): Promise<void> {
    await manager.insert(Payment, payment);
  }

  /** Records Daraja's acknowledgement. The callback may have come first and set the id already: keep it. */
  async markPushAccepted(id: string, checkoutRequestId: string, merchantRequestId: string, response: unknown): Promise<boolean> {
    const rows: unknown[] = await this.manager.query(
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
    await this.manager.query(
      `UPDATE payments
          SET stk_push_status = $2, error_logs = error_logs || $3::jsonb, updated_at = now(), version = version + 1
        WHERE id = $1 AND status = 'pending'`,
      [id, status, JSON.stringify(errorLog ? [errorLog] : [])],
    );
  }

  /** Claims a scheduled retry: only one worker can move it from retry_scheduled to initiating. */
  async claimRetry(id: string): Promise<Payment | null> {
    const rows: { id: string }[] = await this.manager.query(
      `UPDATE payments
          SET stk_push_status = $2, retry_count = retry_count + 1, last_retry_at = now(), updated_at = now(), version = version + 1
        WHERE id = $1 AND status = 'pending' AND stk_push_status = $3 AND retry_count < max_retries
        RETURNING id`,
      [id, StkPushStatus.Initiating, StkPushStatus.RetryScheduled],
    );
    return rows.length ? this.findById(id) : null;
  }

  /** Moves a payment out of `pending`, exactly once: returns false when another path got there first. */
  async settle(id: string, change: SettlementChange, manager: EntityManager): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `UPDATE payments
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
        RETURNING id`,
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
      ],
    );
    return rows.length > 0;
  }

  /** Marks a payment for a person to look at; a flagged payment is left alone by the sweep. */
  async flagForReview(id: string, reason: string, callbackPayload: unknown, errorLog: string, manager: EntityManager): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `UPDATE payments
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
