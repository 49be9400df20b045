import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { InjectEntityManager } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { EntityManager, In } from 'typeorm';
import { Actor, AuditService, SYSTEM_ACTOR } from '../../audit/audit.service';
import { CallbackUrls } from '../../common/callback-urls';
import { FieldEncryptionService } from '../../common/crypto/field-encryption.service';
import { AppError, ErrorCode, NotFoundError, ValidationError } from '../../common/errors/app-error';
import { redact, redactText } from '../../common/redaction';
import { currentRequestId, withRequestId } from '../../common/request-context';
import { payoutsConfig } from '../../config/configuration';
import { DarajaError, DarajaErrorKind, isDuplicateOriginatorConversationId } from '../../mpesa/daraja-errors';
import { b2cResultDetails, ParsedResult, transactionStatusDetails } from '../../mpesa/daraja-result.parser';
import { DarajaClient } from '../../mpesa/daraja.client';
import { b2cOutcome } from '../../mpesa/daraja-result-codes';
import { maskPhone, normalizeKenyanPhone } from '../../mpesa/phone-number';
import { RefundClientPayload } from '../../notifications/client-notifications';
import { NotificationsService, QueuedNotification } from '../../notifications/notifications.service';
import { BalanceService } from '../../treasury/balance.service';
import { TransactionStatusService } from '../../treasury/transaction-status.service';
import { PaymentJobsProducer } from '../jobs/payment-jobs.producer';
import { Payment } from '../payment.entity';
import { PaymentStatus, REFUNDABLE_STATUSES } from '../payment-status';
import { Reversal, ReversalStatus } from '../reversals/reversal.entity';
import { queryRows } from '../../database/query-rows';
import { PayoutViewDto } from './dto/payout-view.dto';
import { B2cCommandId, Payout, PAYOUT_COMMITTED_STATUSES, PayoutKind, PayoutStatus } from './payout.entity';

export interface RefundRequest {
  amount: number;
  reason: string;
}

export interface DisbursementRequest {
  phoneNumber: string;
  amount: number;
  commandId: B2cCommandId;
  remarks: string;
  occasion?: string;
  clientId?: string;
}

/** Transaction Status answers meaning "this transaction does not exist / did not go through" (reference §8). */
const NOT_PROCESSED_CODES = new Set(['2033']);
const NOT_PROCESSED_STATUSES = /^(failed|cancelled|declined|expired)$/i;
const UNRESOLVED_STATUSES = [PayoutStatus.Sending, PayoutStatus.Submitted, PayoutStatus.Unknown];

/**
 * The phone of a masked row is gone (only `2547****149` is left): nothing can be paid to it. 409, because the
 * request is valid but the record no longer allows it; the message says what to do instead.
 */
function personalDataMaskedError(what: 'payment' | 'payout', by: string | null, at: Date): AppError {
  const why = by === 'anonymisation' ? 'anonymised at the client\'s request' : 'masked by the retention policy';
  return new AppError(
    ErrorCode.CONFLICT,
    `This ${what}'s phone number was ${why} on ${at.toISOString().slice(0, 10)}; no money can be sent to it. Pay the client by disbursement to a number they confirm.`,
    { personalDataMaskedAt: at, personalDataMaskedBy: by },
  );
}

/** `LP` + 18 hex: short and alphanumeric, as Daraja's OriginatorConversationID wants (reference §5.1). */
export function newOriginatorConversationId(): string {
  return `LP${randomBytes(9).toString('hex')}`;
}

/**
 * Money out by B2C: refunds and disbursements. Nothing is ever sent twice on a guess: the OriginatorConversationID
 * is stored before the first send and reused on resends, and an unclear outcome becomes `unknown` until
 * Transaction Status says whether it paid.
 */
@Injectable()
export class PayoutsService {
  private readonly logger = new Logger(PayoutsService.name);

  constructor(
    @InjectEntityManager() private readonly manager: EntityManager,
    @Inject(payoutsConfig.KEY) private readonly settings: ConfigType<typeof payoutsConfig>,
    private readonly daraja: DarajaClient,
    private readonly callbackUrls: CallbackUrls,
    private readonly crypto: FieldEncryptionService,
    private readonly audit: AuditService,
    private readonly notifications: NotificationsService,
    private readonly balances: BalanceService,
    private readonly statusQueries: TransactionStatusService,
    private readonly jobs: PaymentJobsProducer,
  ) {}

  /**
   * Refunds part or all of a completed payment to the phone that paid. The payment row is locked while the sum
   * of its refunds is checked, so two refunds racing for the last shillings cannot both pass.
   */
  async requestRefund(paymentId: string, request: RefundRequest, actor: Actor, retryOf: string | null = null): Promise<Payout> {
    const payout = await this.manager.transaction(async (tx) => {
      const payment = await tx.findOne(Payment, { where: { id: paymentId }, lock: { mode: 'pessimistic_write' } });
      if (!payment) throw new NotFoundError('Payment');
      if (payment.personalDataMaskedAt) throw personalDataMaskedError('payment', payment.personalDataMaskedBy, payment.personalDataMaskedAt);
      if (!(REFUNDABLE_STATUSES as readonly PaymentStatus[]).includes(payment.status)) {
        throw new AppError(ErrorCode.CONFLICT, `Only a completed payment can be refunded; this one is ${payment.status}`);
      }
      const reversal = await tx.findOne(Reversal, { where: { paymentId, status: In([ReversalStatus.Pending, ReversalStatus.Submitted, ReversalStatus.Unknown, ReversalStatus.Completed]) } });
      if (reversal) throw new AppError(ErrorCode.CONFLICT, 'This payment has a reversal; it cannot also be refunded');
      const committed = await tx
        .createQueryBuilder(Payout, 'p')
        .select('COALESCE(SUM(p.amount), 0)', 'sum')
        .where('p.paymentId = :paymentId', { paymentId })
        .andWhere('p.status IN (:...statuses)', { statuses: PAYOUT_COMMITTED_STATUSES })
        .getRawOne<{ sum: string }>();
      const refundable = payment.amount - Number(committed?.sum ?? 0);
      if (request.amount > refundable) {
        throw new AppError(ErrorCode.CONFLICT, `A refund of KES ${request.amount} exceeds what is left to refund on this payment (KES ${refundable})`, {
          refundable,
        });
      }
      return this.insert(
        tx,
        {
          kind: PayoutKind.Refund,
          paymentId,
          clientId: payment.clientId,
          amount: request.amount,
          commandId: 'BusinessPayment',
          phoneNumberEncrypted: payment.phoneNumberEncrypted,
          phoneNumberHash: payment.phoneNumberHash,
          remarks: `Refund ${payment.accountReference}`,
          reason: redactText(request.reason),
          retryOf,
        },
        actor,
      );
    });
    await this.jobs.enqueuePayoutSend(payout.id, payout.requestId);
    return payout;
  }

  async requestDisbursement(request: DisbursementRequest, actor: Actor): Promise<Payout> {
    const phone = normalizeKenyanPhone(request.phoneNumber);
    if (!phone) throw new ValidationError('phoneNumber is not a valid Safaricom number');
    const payout = await this.manager.transaction((tx) =>
      this.insert(
        tx,
        {
          kind: PayoutKind.Disbursement,
          paymentId: null,
          clientId: request.clientId ?? null,
          amount: request.amount,
          commandId: request.commandId,
          phoneNumberEncrypted: this.crypto.encrypt(phone),
          phoneNumberHash: this.crypto.lookupHash(phone),
          remarks: redactText(request.remarks),
          occasion: request.occasion ? redactText(request.occasion) : null,
          reason: null,
        },
        actor,
      ),
    );
    await this.jobs.enqueuePayoutSend(payout.id, payout.requestId);
    return payout;
  }

  /** An admin's retry of a failed payout: a new payout with a new OriginatorConversationID (Daraja refuses a reused one). */
  async retry(payoutId: string, actor: Actor): Promise<Payout> {
    const original = await this.get(payoutId);
    if (original.reviewReason) {
      throw new AppError(ErrorCode.CONFLICT, `This payout is flagged for review (${original.reviewReason}); reconcile it before retrying`);
    }
    if (original.status !== PayoutStatus.Failed) {
      throw new AppError(ErrorCode.CONFLICT, `Only a failed payout can be retried; this one is ${original.status}`);
    }
    if (original.personalDataMaskedAt) throw personalDataMaskedError('payout', original.personalDataMaskedBy, original.personalDataMaskedAt);
    if (original.kind === PayoutKind.Refund && original.paymentId) {
      return this.requestRefund(original.paymentId, { amount: original.amount, reason: original.reason ?? 'Retry' }, actor, original.id);
    }
    const payout = await this.manager.transaction((tx) =>
      this.insert(
        tx,
        {
          kind: original.kind,
          paymentId: null,
          clientId: original.clientId,
          amount: original.amount,
          commandId: original.commandId,
          phoneNumberEncrypted: original.phoneNumberEncrypted,
          phoneNumberHash: original.phoneNumberHash,
          remarks: original.remarks,
          occasion: original.occasion,
          reason: original.reason,
          retryOf: original.id,
        },
        actor,
      ),
    );
    await this.jobs.enqueuePayoutSend(payout.id, payout.requestId);
    return payout;
  }

  /**
   * The send job: check the business balance, claim the payout, call B2C. Returns 'retry' when Daraja certainly
   * did not take the request (the job then backs off and resends with the same OriginatorConversationID).
   */
  async send(payoutId: string, isFinalAttempt: boolean): Promise<'done' | 'retry'> {
    const payout = await this.manager.findOneBy(Payout, { id: payoutId });
    if (!payout || payout.status !== PayoutStatus.Pending) return 'done';

    let funds: { available: number; account: string };
    try {
      funds = await this.balances.payingAccountFunds(SYSTEM_ACTOR);
    } catch (error) {
      if (!isFinalAttempt) return 'retry';
      await this.finish(payout, PayoutStatus.Failed, { settledBy: 'balance_check', resultDesc: `Not sent: ${(error as Error).message}` }, [PayoutStatus.Pending]);
      return 'done';
    }
    if (funds.available < payout.amount) {
      await this.finish(
        payout,
        PayoutStatus.Failed,
        { settledBy: 'balance_check', resultDesc: `Not sent: the ${funds.account} holds KES ${funds.available}, less than the KES ${payout.amount} to pay` },
        [PayoutStatus.Pending],
      );
      return 'done';
    }

    // Claiming moves pending -> sending in SQL: two workers can never both send the same payout.
    const claimed = await this.manager.update(Payout, { id: payout.id, status: PayoutStatus.Pending }, { status: PayoutStatus.Sending });
    if (!claimed.affected) return 'done';
    try {
      const accepted = await this.daraja.b2cPayment(
        {
          originatorConversationId: payout.originatorConversationId,
          commandId: payout.commandId,
          amount: payout.amount,
          phone: this.crypto.decrypt(payout.phoneNumberEncrypted),
          remarks: payout.remarks,
          occasion: payout.occasion ?? undefined,
          ...this.callbackUrls.resultUrls('payout', payout.id),
        },
        { reference: payout.id, requestId: payout.requestId ?? undefined },
      );
      await this.manager.update(Payout, { id: payout.id, status: PayoutStatus.Sending }, {
        status: PayoutStatus.Submitted,
        conversationId: accepted.ConversationID,
        submittedAt: new Date(),
      });
      return 'done';
    } catch (error) {
      if (!(error instanceof DarajaError)) throw error;
      return this.onSendError(payout, error, isFinalAttempt);
    }
  }

  private async onSendError(payout: Payout, error: DarajaError, isFinalAttempt: boolean): Promise<'done' | 'retry'> {
    const note = `${new Date().toISOString()} B2C: ${error.kind}: ${redactText(error.message)}`;
    if (isDuplicateOriginatorConversationId(error)) {
      // Daraja already holds a request with our id: an earlier send did arrive. Find out what it did.
      await this.markUnknown(payout, `${note} (an earlier send reached M-Pesa)`, [PayoutStatus.Sending]);
      return 'done';
    }
    if (error.retryable || error.kind === DarajaErrorKind.InvalidToken) {
      if (isFinalAttempt) {
        await this.finish(payout, PayoutStatus.Failed, { settledBy: 'rejected', resultDesc: `M-Pesa did not accept the payout: ${redactText(error.message)}` }, [PayoutStatus.Sending], note);
        return 'done';
      }
      await queryRows(this.manager, `UPDATE payouts SET status = 'pending', error_logs = error_logs || $2::jsonb, updated_at = now() WHERE id = $1 AND status = 'sending'`,
        [payout.id, JSON.stringify([note])],
      );
      return 'retry';
    }
    if (error.kind === DarajaErrorKind.OutcomeUnknown) {
      await this.markUnknown(payout, note, [PayoutStatus.Sending]);
      return 'done';
    }
    await this.finish(payout, PayoutStatus.Failed, { settledBy: 'rejected', resultCode: error.errorCode, resultDesc: redactText(error.message) }, [PayoutStatus.Sending], note);
    return 'done';
  }

  /** The B2C result (ResultURL): definitive either way. */
  async applyResult(payoutId: string, result: ParsedResult, actor: Actor): Promise<'applied' | 'duplicate' | 'flagged'> {
    const payout = await this.manager.findOneBy(Payout, { id: payoutId });
    if (!payout) return 'duplicate';
    if (result.originatorConversationId && result.originatorConversationId !== payout.originatorConversationId) {
      await this.flag(payout, 'result_id_mismatch', `Result for ${result.originatorConversationId} arrived on this payout's URL`, actor);
      return 'flagged';
    }
    if (result.resultCode === '0') {
      const details = b2cResultDetails(result);
      if (details.amount !== undefined && Math.round(details.amount) !== payout.amount) {
        await this.flag(payout, 'result_amount_mismatch', `M-Pesa paid KES ${details.amount}, the payout was KES ${payout.amount}`, actor);
        return 'flagged';
      }
      const applied = await this.finish(
        payout,
        PayoutStatus.Completed,
        { settledBy: 'result_callback', transactionId: details.receipt ?? result.transactionId, resultCode: result.resultCode, resultDesc: result.resultDesc, resultPayload: redact(result.parameters) },
        UNRESOLVED_STATUSES,
        undefined,
        actor,
      );
      if (!applied && payout.status === PayoutStatus.Failed) {
        // We had concluded it did not pay; M-Pesa says it did. A person must reconcile before anyone retries.
        await this.flag(payout, 'paid_after_failed', `M-Pesa reports receipt ${details.receipt ?? result.transactionId} for a payout marked failed`, actor);
        return 'flagged';
      }
      return applied ? 'applied' : 'duplicate';
    }
    if (b2cOutcome(result.resultCode).outcome === 'duplicate') {
      // "Duplicate OriginatorConversationID" says nothing of whether the first request paid: ask Transaction Status.
      const changed = await this.markUnknown(payout, `Result ${result.resultCode}: ${result.resultDesc}`, UNRESOLVED_STATUSES);
      return changed ? 'applied' : 'duplicate';
    }
    const applied = await this.finish(
      payout,
      PayoutStatus.Failed,
      { settledBy: 'result_callback', resultCode: result.resultCode, resultDesc: result.resultDesc },
      UNRESOLVED_STATUSES,
      undefined,
      actor,
    );
    return applied ? 'applied' : 'duplicate';
  }

  /** Whatever arrives on the QueueTimeOutURL is a timeout, whatever its code says: the payout may still have paid. */
  async applyTimeout(payoutId: string, result: ParsedResult | undefined): Promise<'applied' | 'duplicate'> {
    const payout = await this.manager.findOneBy(Payout, { id: payoutId });
    if (!payout) return 'duplicate';
    const changed = await this.markUnknown(payout, `Queue timeout: ${result?.resultDesc ?? 'no description'}`, [PayoutStatus.Sending, PayoutStatus.Submitted]);
    return changed ? 'applied' : 'duplicate';
  }

  /** The resolve job: one Transaction Status query, or hand the payout to a person after too many. */
  async resolve(payoutId: string): Promise<void> {
    const payout = await this.manager.findOneBy(Payout, { id: payoutId });
    if (!payout || payout.status !== PayoutStatus.Unknown || payout.reviewReason) return;
    if (payout.statusChecks >= this.settings.maxStatusChecks) {
      await this.flag(payout, 'unresolved_after_status_checks', `Transaction Status did not settle it after ${payout.statusChecks} queries`, SYSTEM_ACTOR);
      return;
    }
    const counted = await queryRows(this.manager, `UPDATE payouts SET status_checks = status_checks + 1, updated_at = now() WHERE id = $1 AND status = 'unknown' AND status_checks = $2 RETURNING id`,
      [payout.id, payout.statusChecks],
    );
    if (!(counted as unknown[]).length) return;
    await this.statusQueries.query({ originatorConversationId: payout.originatorConversationId, payoutId: payout.id }, SYSTEM_ACTOR);
  }

  /** A Transaction Status result for a payout: paid means completed; confirmed not processed means failed. */
  async applyStatusResult(payoutId: string, result: ParsedResult, actor: Actor): Promise<'applied' | 'unchanged'> {
    const payout = await this.manager.findOneBy(Payout, { id: payoutId });
    if (!payout || !UNRESOLVED_STATUSES.includes(payout.status)) return 'unchanged';
    const details = transactionStatusDetails(result);
    if (result.resultCode === '0' && details.status && /^completed$/i.test(details.status)) {
      if (details.amount !== undefined && Math.round(details.amount) !== payout.amount) {
        await this.flag(payout, 'status_amount_mismatch', `Transaction Status shows KES ${details.amount}, the payout was KES ${payout.amount}`, actor);
        return 'applied';
      }
      const applied = await this.finish(
        payout,
        PayoutStatus.Completed,
        { settledBy: 'transaction_status', transactionId: details.receiptNo ?? null, resultCode: result.resultCode, resultDesc: `Confirmed by Transaction Status: ${details.status}` },
        UNRESOLVED_STATUSES,
        undefined,
        actor,
      );
      return applied ? 'applied' : 'unchanged';
    }
    if (NOT_PROCESSED_CODES.has(result.resultCode) || (details.status && NOT_PROCESSED_STATUSES.test(details.status))) {
      // Confirmed not paid: failed, and nothing is resent automatically (an admin may retry with a new id).
      const applied = await this.finish(
        payout,
        PayoutStatus.Failed,
        { settledBy: 'transaction_status', resultCode: result.resultCode, resultDesc: `Not processed by M-Pesa: ${details.status ?? result.resultDesc}` },
        UNRESOLVED_STATUSES,
        undefined,
        actor,
      );
      return applied ? 'applied' : 'unchanged';
    }
    return 'unchanged';
  }

  /** Sweep: results that never came, and unknowns due for another Transaction Status query. */
  async sweep(): Promise<{ lost: number; resolving: number }> {
    const lostBefore = new Date(Date.now() - this.settings.resultWaitMs);
    const lost: Payout[] = await this.manager
      .createQueryBuilder(Payout, 'p')
      .where('p.status = :status', { status: PayoutStatus.Submitted })
      .andWhere('p.submittedAt < :lostBefore', { lostBefore })
      .take(200)
      .getMany();
    // Each payout's changes and jobs are filed under the request that asked for it, not under the sweep.
    for (const payout of lost) await withRequestId(payout.requestId, () => this.markUnknown(payout, 'No result from M-Pesa in time', [PayoutStatus.Submitted]));

    // A worker that died between claiming a payout and hearing back from Daraja: it may or may not have sent it.
    const stranded: Payout[] = await this.manager
      .createQueryBuilder(Payout, 'p')
      .where('p.status = :status', { status: PayoutStatus.Sending })
      .andWhere('p.updatedAt < :lostBefore', { lostBefore })
      .take(200)
      .getMany();
    for (const payout of stranded) {
      await withRequestId(payout.requestId, () => this.markUnknown(payout, 'The sending worker stopped before Daraja answered', [PayoutStatus.Sending]));
    }

    const dueBefore = new Date(Date.now() - this.settings.statusCheckIntervalMs);
    const due: Payout[] = await this.manager
      .createQueryBuilder(Payout, 'p')
      .where('p.status = :status', { status: PayoutStatus.Unknown })
      .andWhere('p.reviewReason IS NULL')
      .andWhere('p.updatedAt < :dueBefore', { dueBefore })
      .take(200)
      .getMany();
    for (const payout of due) await this.jobs.enqueuePayoutResolve(payout.id, payout.statusChecks, 0, payout.requestId);

    // A pending payout whose send job was lost (Redis flush) is queued again; jobId dedupes.
    const stale: Payout[] = await this.manager
      .createQueryBuilder(Payout, 'p')
      .where('p.status = :status', { status: PayoutStatus.Pending })
      .andWhere('p.updatedAt < :dueBefore', { dueBefore })
      .take(200)
      .getMany();
    for (const payout of stale) await this.jobs.enqueuePayoutSend(payout.id, payout.requestId);
    return { lost: lost.length + stranded.length, resolving: due.length };
  }

  async get(id: string): Promise<Payout> {
    const payout = await this.manager.findOneBy(Payout, { id });
    if (!payout) throw new NotFoundError('Payout');
    return payout;
  }

  async list(kind: PayoutKind, page: number, limit: number): Promise<[Payout[], number]> {
    return this.manager.findAndCount(Payout, { where: { kind }, order: { createdAt: 'DESC', id: 'DESC' }, skip: (page - 1) * limit, take: limit });
  }

  refundsOf(paymentId: string): Promise<Payout[]> {
    return this.manager.find(Payout, { where: { paymentId }, order: { createdAt: 'ASC' } });
  }

  view(p: Payout): PayoutViewDto {
    return {
      id: p.id,
      kind: p.kind,
      paymentId: p.paymentId,
      clientId: p.clientId,
      status: p.status,
      amount: p.amount,
      currency: p.currency,
      phoneNumber: maskPhone(this.crypto.decrypt(p.phoneNumberEncrypted)),
      commandId: p.commandId,
      remarks: p.remarks,
      occasion: p.occasion,
      reason: p.reason,
      originatorConversationId: p.originatorConversationId,
      conversationId: p.conversationId,
      mpesaReceiptNumber: p.transactionId,
      resultCode: p.resultCode,
      resultDesc: p.resultDesc,
      settledBy: p.settledBy,
      statusChecks: p.statusChecks,
      needsReview: p.reviewReason !== null,
      reviewReason: p.reviewReason,
      retryOf: p.retryOf,
      requestedBy: p.requestedBy,
      createdAt: p.createdAt,
      submittedAt: p.submittedAt,
      completedAt: p.completedAt,
      failedAt: p.failedAt,
    };
  }

  private async insert(tx: EntityManager, fields: Partial<Payout>, actor: Actor): Promise<Payout> {
    const payout = await tx.save(
      tx.create(Payout, {
        ...fields,
        status: PayoutStatus.Pending,
        originatorConversationId: newOriginatorConversationId(),
        requestedBy: actor.id ?? actor.type,
        requestId: actor.requestId ?? currentRequestId() ?? null,
      }),
    );
    await this.audit.record(
      actor,
      { action: `${payout.kind}.requested`, entityType: 'payout', entityId: payout.id, after: { status: payout.status, amount: payout.amount, paymentId: payout.paymentId, originatorConversationId: payout.originatorConversationId } },
      tx,
    );
    return payout;
  }

  private async markUnknown(payout: Payout, note: string, from: PayoutStatus[]): Promise<boolean> {
    const changed = await this.manager.transaction(async (tx) => {
      const rows: unknown[] = await queryRows(tx, `UPDATE payouts SET status = 'unknown', error_logs = error_logs || $3::jsonb, updated_at = now(), version = version + 1
          WHERE id = $1 AND status = ANY($2) RETURNING id`,
        [payout.id, from, JSON.stringify([note])],
      );
      if (!rows.length) return false;
      await this.audit.record(SYSTEM_ACTOR, { action: 'payout.unknown', entityType: 'payout', entityId: payout.id, before: { status: payout.status }, after: { status: PayoutStatus.Unknown }, metadata: { note } }, tx);
      return true;
    });
    if (changed) await this.jobs.enqueuePayoutResolve(payout.id, payout.statusChecks, this.settings.firstStatusCheckDelayMs, payout.requestId);
    return changed;
  }

  /**
   * Ends a payout (guarded by its current status) with its audit event and notification; a completed refund also
   * moves its payment to partially_refunded or refunded, in the same transaction.
   */
  private async finish(
    payout: Payout,
    to: PayoutStatus.Completed | PayoutStatus.Failed,
    fields: { settledBy: string; transactionId?: string | null; resultCode?: string | null; resultDesc?: string | null; resultPayload?: object },
    from: PayoutStatus[],
    note?: string,
    actor: Actor = SYSTEM_ACTOR,
  ): Promise<boolean> {
    const notificationIds: string[] = [];
    const clientNotifications: QueuedNotification[] = [];
    const applied = await this.manager.transaction(async (tx) => {
      const rows: unknown[] = await queryRows(tx, `UPDATE payouts
            SET status = $3::varchar, settled_by = $4, transaction_id = COALESCE($5, transaction_id), result_code = COALESCE($6, result_code),
                result_desc = COALESCE($7, result_desc), result_payload = COALESCE($8::jsonb, result_payload),
                error_logs = error_logs || $9::jsonb,
                completed_at = CASE WHEN $3::varchar = 'completed' THEN now() END,
                failed_at = CASE WHEN $3::varchar = 'failed' THEN now() END,
                updated_at = now(), version = version + 1
          WHERE id = $1 AND status = ANY($2) RETURNING id`,
        [
          payout.id,
          from,
          to,
          fields.settledBy,
          fields.transactionId ?? null,
          fields.resultCode ?? null,
          fields.resultDesc ?? null,
          fields.resultPayload ? JSON.stringify(fields.resultPayload) : null,
          JSON.stringify(note ? [note] : []),
        ],
      );
      if (!rows.length) return false;
      await this.audit.record(
        actor,
        { action: `payout.${to}`, entityType: 'payout', entityId: payout.id, before: { status: payout.status }, after: { status: to, ...fields, resultPayload: undefined } },
        tx,
      );
      if (to === PayoutStatus.Completed && payout.kind === PayoutKind.Refund && payout.paymentId) {
        const [payment] = (await queryRows(tx, `UPDATE payments
              SET refunded_amount = refunded_amount + $2,
                  status = CASE WHEN refunded_amount + $2 >= amount THEN 'refunded' ELSE 'partially_refunded' END,
                  updated_at = now(), version = version + 1
            WHERE id = $1 AND status IN ('completed', 'partially_refunded')
            RETURNING status, refunded_amount`,
          [payout.paymentId, payout.amount],
        )) as { status: string; refunded_amount: number }[];
        if (payment) {
          await this.audit.record(
            actor,
            { action: `payment.${payment.status}`, entityType: 'payment', entityId: payout.paymentId, after: { status: payment.status, refundedAmount: payment.refunded_amount, payoutId: payout.id } },
            tx,
          );
        }
      }
      const id = await this.notifications.createInTransaction(tx, {
        event: `${payout.kind}.${to}`,
        subjectId: payout.id,
        payload: { payoutId: payout.id, kind: payout.kind, paymentId: payout.paymentId, clientId: payout.clientId, status: to, amount: payout.amount, mpesaReceiptNumber: fields.transactionId ?? null, resultDesc: fields.resultDesc ?? null },
      });
      if (id) notificationIds.push(id);
      if (to === PayoutStatus.Completed && payout.kind === PayoutKind.Refund) {
        clientNotifications.push(...(await this.refundSentToClient(tx, payout, fields.transactionId ?? null)));
      }
      return true;
    });
    if (applied) this.logger.log(`Payout ${payout.id} (${payout.kind}) ${to} (settled by ${fields.settledBy}${fields.resultCode ? `, ResultCode ${fields.resultCode}` : ''})`);
    await this.notifications.dispatch(notificationIds);
    await this.notifications.dispatch(clientNotifications);
    return applied;
  }

  /** The client's "refund sent" email/SMS rows, in the refund's completing transaction. */
  private async refundSentToClient(tx: EntityManager, payout: Payout, receipt: string | null): Promise<QueuedNotification[]> {
    const [payment] = payout.paymentId
      ? ((await tx.query(`SELECT account_reference, customer_email_encrypted IS NOT NULL AS has_email FROM payments WHERE id = $1`, [payout.paymentId])) as {
          account_reference: string;
          has_email: boolean;
        }[])
      : [];
    const payload: RefundClientPayload = {
      payoutId: payout.id,
      paymentId: payout.paymentId,
      amount: payout.amount,
      currency: payout.currency,
      receipt,
      reference: payment?.account_reference ?? null,
      sentAt: new Date().toISOString(),
    };
    return this.notifications.createClientInTransaction(tx, { event: 'refund.sent', subjectId: payout.id, payload, hasEmail: Boolean(payment?.has_email) });
  }

  private async flag(payout: Payout, reason: string, detail: string, actor: Actor): Promise<void> {
    await this.manager.transaction(async (tx) => {
      const rows: unknown[] = await queryRows(tx, `UPDATE payouts SET review_reason = $2, error_logs = error_logs || $3::jsonb, updated_at = now() WHERE id = $1 AND review_reason IS NULL RETURNING id`,
        [payout.id, reason, JSON.stringify([detail])],
      );
      if (!rows.length) return;
      await this.audit.record(actor, { action: 'payout.needs_review', entityType: 'payout', entityId: payout.id, metadata: { reason, detail } }, tx);
    });
    this.logger.warn(`Payout ${payout.id} needs review: ${reason}`);
  }
}
