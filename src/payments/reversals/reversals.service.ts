import { Injectable, Logger } from '@nestjs/common';
import { InjectEntityManager } from '@nestjs/typeorm';
import { EntityManager } from 'typeorm';
import { Actor, AuditService, SYSTEM_ACTOR } from '../../audit/audit.service';
import { CallbackUrls } from '../../common/callback-urls';
import { AppError, ErrorCode, NotFoundError } from '../../common/errors/app-error';
import { redact, redactText } from '../../common/redaction';
import { DarajaError, DarajaErrorKind } from '../../mpesa/daraja-errors';
import { ParsedResult } from '../../mpesa/daraja-result.parser';
import { DarajaClient } from '../../mpesa/daraja.client';
import { reversalOutcome } from '../../mpesa/daraja-result-codes';
import { NotificationsService } from '../../notifications/notifications.service';
import { isUniqueViolation } from '../payments.repository';
import { Payment } from '../payment.entity';
import { PaymentStatus } from '../payment-status';
import { Payout, PAYOUT_COMMITTED_STATUSES } from '../payouts/payout.entity';
import { In } from 'typeorm';
import { queryRows } from '../../database/query-rows';
import { Reversal, ReversalStatus } from './reversal.entity';

const ONE_ACTIVE_REVERSAL = 'ux_reversals_one_active_per_payment';

/** Transaction Reversal of a completed C2B payment, by its receipt; the result moves the payment to `reversed`. */
@Injectable()
export class ReversalsService {
  private readonly logger = new Logger(ReversalsService.name);

  constructor(
    @InjectEntityManager() private readonly manager: EntityManager,
    private readonly daraja: DarajaClient,
    private readonly callbackUrls: CallbackUrls,
    private readonly audit: AuditService,
    private readonly notifications: NotificationsService,
  ) {}

  async request(paymentId: string, reason: string, actor: Actor): Promise<Reversal> {
    let reversal: Reversal;
    try {
      reversal = await this.manager.transaction(async (tx) => {
        const payment = await tx.findOne(Payment, { where: { id: paymentId }, lock: { mode: 'pessimistic_write' } });
        if (!payment) throw new NotFoundError('Payment');
        if (payment.status !== PaymentStatus.Completed) {
          throw new AppError(ErrorCode.CONFLICT, `Only a completed payment can be reversed; this one is ${payment.status}`);
        }
        if (!payment.mpesaReceiptNumber) {
          throw new AppError(ErrorCode.CONFLICT, 'This payment has no M-Pesa receipt yet; it cannot be reversed');
        }
        const refunds = await tx.count(Payout, { where: { paymentId, status: In(PAYOUT_COMMITTED_STATUSES) } });
        if (refunds > 0) throw new AppError(ErrorCode.CONFLICT, 'This payment has refunds; it cannot also be reversed');
        const created = await tx.save(
          tx.create(Reversal, { paymentId, amount: payment.amount, reason: redactText(reason), status: ReversalStatus.Pending, requestedBy: actor.id ?? actor.type }),
        );
        await this.audit.record(actor, { action: 'reversal.requested', entityType: 'reversal', entityId: created.id, after: { paymentId, amount: payment.amount } }, tx);
        return created;
      });
    } catch (error) {
      if (isUniqueViolation(error, ONE_ACTIVE_REVERSAL)) {
        throw new AppError(ErrorCode.CONFLICT, 'This payment already has a reversal in progress or done');
      }
      throw error;
    }

    const payment = (await this.manager.findOneBy(Payment, { id: paymentId })) as Payment;
    try {
      const accepted = await this.daraja.transactionReversal(
        {
          transactionId: payment.mpesaReceiptNumber as string,
          amount: reversal.amount,
          remarks: 'Payment reversal',
          ...this.callbackUrls.resultUrls('reversal', reversal.id),
        },
        { reference: reversal.id, requestId: actor.requestId ?? undefined, userId: actor.id ?? undefined },
      );
      await this.manager.update(Reversal, { id: reversal.id, status: ReversalStatus.Pending }, {
        status: ReversalStatus.Submitted,
        originatorConversationId: accepted.OriginatorConversationID,
        conversationId: accepted.ConversationID,
      });
    } catch (error) {
      if (!(error instanceof DarajaError)) throw error;
      const unknown = error.kind === DarajaErrorKind.OutcomeUnknown;
      await this.manager.update(Reversal, { id: reversal.id, status: ReversalStatus.Pending }, {
        status: unknown ? ReversalStatus.Unknown : ReversalStatus.Failed,
        resultCode: error.errorCode,
        resultDesc: redactText(error.message),
        failedAt: unknown ? null : new Date(),
      });
    }
    return this.get(reversal.id);
  }

  async applyResult(reversalId: string, result: ParsedResult, actor: Actor): Promise<'applied' | 'duplicate'> {
    const reversal = await this.manager.findOneBy(Reversal, { id: reversalId });
    if (!reversal) return 'duplicate';
    // R000001 "already reversed": the money is back with the customer either way, so the payment is reversed.
    const success = reversalOutcome(result.resultCode).outcome !== 'failed';
    const notificationIds: string[] = [];
    const applied = await this.manager.transaction(async (tx) => {
      const rows: unknown[] = await queryRows(tx, `UPDATE reversals SET status = $3::varchar, transaction_id = $4, result_code = $5, result_desc = $6, result_payload = $7,
                completed_at = CASE WHEN $3::varchar = 'completed' THEN now() END,
                failed_at = CASE WHEN $3::varchar = 'failed' THEN now() END, updated_at = now()
          WHERE id = $1 AND status = ANY($2) RETURNING id`,
        [
          reversalId,
          [ReversalStatus.Pending, ReversalStatus.Submitted, ReversalStatus.Unknown],
          success ? ReversalStatus.Completed : ReversalStatus.Failed,
          result.transactionId ?? null,
          result.resultCode,
          result.resultDesc,
          JSON.stringify(redact(result.parameters)),
        ],
      );
      if (!rows.length) return false;
      await this.audit.record(actor, { action: `reversal.${success ? 'completed' : 'failed'}`, entityType: 'reversal', entityId: reversalId, after: { resultCode: result.resultCode, resultDesc: result.resultDesc } }, tx);
      if (success) {
        const moved: unknown[] = await queryRows(tx, `UPDATE payments SET status = 'reversed', updated_at = now(), version = version + 1 WHERE id = $1 AND status = 'completed' RETURNING id`,
          [reversal.paymentId],
        );
        if (moved.length) {
          await this.audit.record(actor, { action: 'payment.reversed', entityType: 'payment', entityId: reversal.paymentId, before: { status: PaymentStatus.Completed }, after: { status: PaymentStatus.Reversed, reversalId } }, tx);
        }
      }
      const id = await this.notifications.createInTransaction(tx, {
        event: `reversal.${success ? 'completed' : 'failed'}`,
        subjectId: reversalId,
        payload: { reversalId, paymentId: reversal.paymentId, amount: reversal.amount, resultCode: result.resultCode, resultDesc: result.resultDesc },
      });
      if (id) notificationIds.push(id);
      return true;
    });
    await this.notifications.dispatch(notificationIds);
    return applied ? 'applied' : 'duplicate';
  }

  /** A queue timeout leaves the reversal's outcome unknown: a person checks it with Transaction Status. */
  async applyTimeout(reversalId: string, result: ParsedResult | undefined): Promise<'applied' | 'duplicate'> {
    const update = await this.manager.update(Reversal, { id: reversalId, status: In([ReversalStatus.Pending, ReversalStatus.Submitted]) }, {
      status: ReversalStatus.Unknown,
      resultDesc: `Queue timeout: ${result?.resultDesc ?? 'no description'}`,
    });
    if (update.affected) {
      await this.audit.record(SYSTEM_ACTOR, { action: 'reversal.unknown', entityType: 'reversal', entityId: reversalId, metadata: { reason: 'queue timeout' } });
    }
    return update.affected ? 'applied' : 'duplicate';
  }

  async get(id: string): Promise<Reversal> {
    const reversal = await this.manager.findOneBy(Reversal, { id });
    if (!reversal) throw new NotFoundError('Reversal');
    return reversal;
  }

  forPayment(paymentId: string): Promise<Reversal[]> {
    return this.manager.find(Reversal, { where: { paymentId }, order: { createdAt: 'ASC' } });
  }
}
