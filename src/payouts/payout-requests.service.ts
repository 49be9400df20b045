import { Injectable, Logger } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { Actor, AuditService } from '../audit/audit.service';
import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { FIELDS } from '../common/crypto/sealed-field';
import { AppError, ErrorCode, NotFoundError, ValidationError } from '../common/errors/app-error';
import { normalizeKenyanPhone } from '../common/phone-number';
import { redactText } from '../common/redaction';
import { currentRequestId } from '../common/request-context';
import { Database, Tx } from '../database/database';
import { isUniqueViolation } from '../database/unique-violation';
import { PaymentAdjustments } from '../payments/payment-adjustments.service';
import { PaymentStatus, REFUNDABLE_STATUSES } from '../payments/payment-status';
import { PayoutJobsProducer } from './jobs/payout-jobs.producer';
import { B2cCommandId, Payout, PayoutKind, PayoutStatus } from './payout.entity';
import { NewPayout, ONE_RETRY_PER_PAYOUT, PayoutsRepository } from './payouts.repository';
import { ReversalStatus } from './reversals/reversal.entity';
import { ReversalsRepository } from './reversals/reversals.repository';

export interface RefundRequest {
  amount: number;
  reason: string;
}

/** How a request for money out was made: its Idempotency-Key, stored with the payout it creates. */
export interface RequestOptions {
  idempotencyKey?: string;
}

export interface DisbursementRequest {
  phoneNumber: string;
  amount: number;
  commandId: B2cCommandId;
  remarks: string;
  occasion?: string;
  clientId?: string;
}

/** `LP` + 18 hex: short and alphanumeric, as Daraja's OriginatorConversationID wants (docs/daraja.md §5.1). */
export function newOriginatorConversationId(): string {
  return `LP${randomBytes(9).toString('hex')}`;
}

/**
 * The phone of a masked row is gone (only `2547****149` is left): nothing can be paid to it. 409, because the
 * request is valid but the record no longer allows it; the message says what to do instead.
 */
export function personalDataMaskedError(what: 'payment' | 'payout', by: string | null, at: Date): AppError {
  const why = by === 'anonymisation' ? "anonymised at the client's request" : 'masked by the retention policy';
  return new AppError(
    ErrorCode.CONFLICT,
    `This ${what}'s phone number was ${why} on ${at.toISOString().slice(0, 10)}; no money can be sent to it. Pay the client by disbursement to a number they confirm.`,
    { personalDataMaskedAt: at, personalDataMaskedBy: by },
  );
}

/**
 * Asking for money out: refunds of a payment, disbursements, retries of a failed payout. Each stores the payout
 * (with the OriginatorConversationID every send of it will use) and its audit event, then queues the send job.
 */
@Injectable()
export class PayoutRequestsService {
  private readonly logger = new Logger(PayoutRequestsService.name);

  constructor(
    private readonly db: Database,
    private readonly payouts: PayoutsRepository,
    private readonly reversals: ReversalsRepository,
    private readonly payments: PaymentAdjustments,
    private readonly crypto: FieldEncryptionService,
    private readonly audit: AuditService,
    private readonly jobs: PayoutJobsProducer,
  ) {}

  /**
   * Refunds part or all of a completed payment to the phone that paid. The payment row is locked while the sum
   * of its refunds is checked, so two refunds racing for the last shillings cannot both pass.
   */
  async requestRefund(
    paymentId: string,
    request: RefundRequest,
    actor: Actor,
    options: RequestOptions & { retryOf?: string } = {},
  ): Promise<Payout> {
    const payout = await this.db.transaction(async (tx) => {
      const payment = await this.payments.lockForMoneyOut(tx, paymentId);
      if (!payment) throw new NotFoundError('Payment');
      if (payment.personalDataMaskedAt)
        throw personalDataMaskedError('payment', payment.personalDataMaskedBy, payment.personalDataMaskedAt);
      if (!(REFUNDABLE_STATUSES as readonly PaymentStatus[]).includes(payment.status)) {
        throw new AppError(ErrorCode.CONFLICT, `Only a completed payment can be refunded; this one is ${payment.status}`);
      }
      const reversal = await this.reversals.findBlocking(tx, paymentId);
      if (reversal) {
        // Say why (issue 9 §3): a reversal whose outcome is open may yet move the whole payment back.
        const why =
          reversal.status === ReversalStatus.Completed
            ? 'This payment was reversed; it cannot also be refunded'
            : `This payment has a reversal (${reversal.id}) whose outcome is not known yet (${reversal.status}${reversal.reviewReason ? `, in review: ${reversal.reviewReason}` : ''}); it cannot be refunded until that reversal is resolved`;
        throw new AppError(ErrorCode.CONFLICT, why, { reversalId: reversal.id, reversalStatus: reversal.status });
      }
      const refundable = payment.amount - (await this.payouts.committedRefundTotal(tx, paymentId));
      if (request.amount > refundable) {
        throw new AppError(
          ErrorCode.CONFLICT,
          `A refund of KES ${request.amount} exceeds what is left to refund on this payment (KES ${refundable})`,
          {
            refundable,
          },
        );
      }
      const id = randomUUID();
      return this.insert(
        tx,
        {
          id,
          kind: PayoutKind.Refund,
          paymentId,
          clientId: payment.clientId,
          amount: request.amount,
          commandId: 'BusinessPayment',
          // Sealed again for the payout's own row: a ciphertext opens only where it was written.
          phoneNumberEncrypted: this.crypto.encrypt(
            this.crypto.decrypt(payment.phoneNumberEncrypted, FIELDS.paymentPhone(payment.id)),
            FIELDS.payoutPhone(id),
          ),
          phoneNumberHash: payment.phoneNumberHash,
          remarks: `Refund ${payment.accountReference}`,
          reason: redactText(request.reason),
          retryOf: options.retryOf ?? null,
          idempotencyKey: options.idempotencyKey ?? null,
        },
        actor,
      );
    });
    await this.enqueue(payout);
    return payout;
  }

  async requestDisbursement(request: DisbursementRequest, actor: Actor, options: RequestOptions = {}): Promise<Payout> {
    const phone = normalizeKenyanPhone(request.phoneNumber);
    if (!phone) throw new ValidationError('phoneNumber is not a valid Safaricom number');
    const id = randomUUID();
    const payout = await this.db.transaction((tx) =>
      this.insert(
        tx,
        {
          id,
          kind: PayoutKind.Disbursement,
          paymentId: null,
          clientId: request.clientId ?? null,
          amount: request.amount,
          commandId: request.commandId,
          phoneNumberEncrypted: this.crypto.encrypt(phone, FIELDS.payoutPhone(id)),
          phoneNumberHash: this.crypto.lookupHash(phone),
          remarks: redactText(request.remarks),
          occasion: request.occasion ? redactText(request.occasion) : null,
          reason: null,
          idempotencyKey: options.idempotencyKey ?? null,
        },
        actor,
      ),
    );
    await this.enqueue(payout);
    return payout;
  }

  /**
   * An admin's retry of a failed payout: a new payout with a new OriginatorConversationID (Daraja refuses a reused
   * one). A failed payout is retried at most once: a second retry is refused, naming the first.
   */
  async retry(payoutId: string, actor: Actor, options: RequestOptions = {}): Promise<Payout> {
    const original = await this.payouts.findById(payoutId);
    if (!original) throw new NotFoundError('Payout');
    await this.assertNotRetried(original.id);
    if (original.reviewReason) {
      throw new AppError(ErrorCode.CONFLICT, `This payout is flagged for review (${original.reviewReason}); reconcile it before retrying`);
    }
    if (original.status !== PayoutStatus.Failed) {
      throw new AppError(ErrorCode.CONFLICT, `Only a failed payout can be retried; this one is ${original.status}`);
    }
    if (original.personalDataMaskedAt)
      throw personalDataMaskedError('payout', original.personalDataMaskedBy, original.personalDataMaskedAt);
    try {
      if (original.kind === PayoutKind.Refund && original.paymentId) {
        return await this.requestRefund(original.paymentId, { amount: original.amount, reason: original.reason ?? 'Retry' }, actor, {
          ...options,
          retryOf: original.id,
        });
      }
      return await this.retryDisbursement(original, actor, options);
    } catch (error) {
      // Two retries racing: the unique index lets one through.
      if (isUniqueViolation(error, ONE_RETRY_PER_PAYOUT)) await this.assertNotRetried(original.id);
      throw error;
    }
  }

  private async retryDisbursement(original: Payout, actor: Actor, options: RequestOptions): Promise<Payout> {
    const id = randomUUID();
    const payout = await this.db.transaction((tx) =>
      this.insert(
        tx,
        {
          id,
          kind: original.kind,
          paymentId: null,
          clientId: original.clientId,
          amount: original.amount,
          commandId: original.commandId,
          phoneNumberEncrypted: this.crypto.encrypt(
            this.crypto.decrypt(original.phoneNumberEncrypted, FIELDS.payoutPhone(original.id)),
            FIELDS.payoutPhone(id),
          ),
          phoneNumberHash: original.phoneNumberHash,
          remarks: original.remarks,
          occasion: original.occasion,
          reason: original.reason,
          retryOf: original.id,
          idempotencyKey: options.idempotencyKey ?? null,
        },
        actor,
      ),
    );
    await this.enqueue(payout);
    return payout;
  }

  private async assertNotRetried(payoutId: string): Promise<void> {
    const retry = await this.payouts.findRetryOf(payoutId);
    if (retry) {
      throw new AppError(
        ErrorCode.CONFLICT,
        `This payout was already retried by payout ${retry.id} (${retry.status}); retry that one if it failed`,
        {
          retriedBy: retry.id,
          retryStatus: retry.status,
        },
      );
    }
  }

  /** The payout is committed: if its job cannot be queued now (Redis down), the sweep sends it; the answer stands. */
  private async enqueue(payout: Payout): Promise<void> {
    try {
      await this.jobs.enqueueSend(payout.id, payout.requestId);
    } catch (error) {
      this.logger.warn(`Payout ${payout.id} is stored but its send job could not be queued (${String(error)}); the sweep will send it`);
    }
  }

  private async insert(
    tx: Tx,
    fields: Omit<NewPayout, 'originatorConversationId' | 'requestedBy' | 'requestId'>,
    actor: Actor,
  ): Promise<Payout> {
    const payout = await this.payouts.insert(tx, {
      ...fields,
      originatorConversationId: newOriginatorConversationId(),
      requestedBy: actor.id ?? actor.type,
      requestId: actor.requestId ?? currentRequestId() ?? null,
    });
    await this.audit.record(
      actor,
      {
        action: `${payout.kind}.requested`,
        entityType: 'payout',
        entityId: payout.id,
        after: {
          status: payout.status,
          amount: payout.amount,
          paymentId: payout.paymentId,
          originatorConversationId: payout.originatorConversationId,
        },
      },
      tx,
    );
    return payout;
  }
}
