import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Actor, AuditService, SYSTEM_ACTOR } from '../audit/audit.service';
import { AuthUser } from '../auth/auth-user';
import { CallbackUrls } from '../callbacks/callback-urls';
import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { FIELDS } from '../common/crypto/sealed-field';
import { AppError, ErrorCode } from '../common/errors/app-error';
import { maskPhone, normalizeKenyanPhone } from '../common/phone-number';
import { redact, redactText } from '../common/redaction';
import { IF_CHANGED } from '../database/sql';
import { isUniqueViolation } from '../database/unique-violation';
import { DarajaError, DarajaOutcome } from '../mpesa/daraja-errors';
import { ACCOUNT_REFERENCE_MAX, DarajaClient, sanitizeDarajaText, TRANSACTION_DESC_MAX } from '../mpesa/daraja.client';
import { StkPushResponse } from '../mpesa/daraja.types';
import { PhoneRateLimiter } from '../rate-limit/phone-rate-limiter';
import { InitiateStkPushDto } from './dto/initiate-stk-push.dto';
import { PaymentJobsProducer } from './jobs/payment-jobs.producer';
import { STK_MAX_RETRIES } from './jobs/payment-jobs';
import { Payment } from './payment.entity';
import { PaymentSettlementService } from './payment-settlement.service';
import { PaymentStatus, PaymentType, SettledBy, StkPushStatus } from './payment-status';
import { NewPayment, ONE_PENDING_PER_PHONE, PaymentsRepository } from './payments.repository';

export interface RequestContext {
  requestId?: string;
  ipAddress?: string;
  idempotencyKey?: string;
}

/** How a push ended for the caller, once its payment row exists. The controller turns it into the HTTP answer. */
export type PushOutcome =
  /** Daraja accepted the push: the prompt is on its way to the phone. */
  | { kind: 'accepted'; paymentId: string; response: StkPushResponse }
  /** Daraja certainly did not take it (busy, unavailable): a job resends it. */
  | { kind: 'queued_for_retry'; paymentId: string }
  /**
   * Sent, but M-Pesa's answer was lost or ambiguous (`unknown`): the callback, a status query or our give-up settles
   * it; never resent.
   */
  | { kind: 'sent_unconfirmed'; paymentId: string; payment: Payment | null }
  /** Daraja refused it for good: the payment is failed. */
  | { kind: 'rejected'; paymentId: string; error: DarajaError };

type SendResult = { kind: 'accepted'; response: StkPushResponse } | { kind: 'retry' | 'unknown' | 'rejected'; error: DarajaError };

const TYPE_LABELS: Record<PaymentType, string> = {
  [PaymentType.ConsultationFee]: 'Consultation',
  [PaymentType.AppointmentFee]: 'Appointment',
  [PaymentType.CaseFilingFee]: 'Case filing',
  [PaymentType.Other]: 'LegalPro fee',
};

/** Starts STK pushes and resends the ones Daraja did not accept; never resends one whose outcome is unknown. */
@Injectable()
export class StkPushService {
  private readonly logger = new Logger(StkPushService.name);

  constructor(
    private readonly payments: PaymentsRepository,
    private readonly settlement: PaymentSettlementService,
    private readonly daraja: DarajaClient,
    private readonly crypto: FieldEncryptionService,
    private readonly callbackUrls: CallbackUrls,
    private readonly jobs: PaymentJobsProducer,
    private readonly audit: AuditService,
    private readonly phoneLimiter: PhoneRateLimiter,
  ) {}

  /** Writes the payment before Daraja is called, then pushes. Throws only while nothing has been stored. */
  async initiate(user: AuthUser, dto: InitiateStkPushDto, ctx: RequestContext): Promise<PushOutcome> {
    const phone = normalizeKenyanPhone(dto.phoneNumber);
    if (!phone) throw new AppError(ErrorCode.VALIDATION, 'phoneNumber is not a valid Safaricom number');
    const id = randomUUID();
    const phoneHash = this.crypto.lookupHash(phone);
    // Counted only for a valid request: garbage sent with a victim's number cannot use up their pushes.
    await this.phoneLimiter.consume(phoneHash);
    const accountReference = sanitizeDarajaText(
      dto.accountReference ?? `LP${id.replace(/-/g, '').slice(0, 10).toUpperCase()}`,
      ACCOUNT_REFERENCE_MAX,
    );
    const transactionDesc = sanitizeDarajaText(dto.description, TRANSACTION_DESC_MAX) || TYPE_LABELS[dto.paymentType];
    const actor: Actor = { type: 'user', id: user.id, ipAddress: ctx.ipAddress, requestId: ctx.requestId };
    const payment: NewPayment = {
      id,
      clientId: user.id,
      appointmentId: dto.appointmentId ?? null,
      amount: dto.amount,
      paymentType: dto.paymentType,
      description: redactText(dto.description),
      phoneNumberEncrypted: this.crypto.encrypt(phone, FIELDS.paymentPhone(id)),
      phoneNumberHash: phoneHash,
      accountReference,
      transactionDesc,
      stkPushStatus: StkPushStatus.Initiating,
      maxRetries: STK_MAX_RETRIES,
      idempotencyKey: ctx.idempotencyKey ?? null,
      requestId: ctx.requestId ?? null,
      // The client's contact details live only in their own (encrypted) columns, not in the stored request.
      requestPayload: redact({ ...dto, email: undefined, customerName: undefined, phoneNumber: phone, accountReference, transactionDesc }),
      customerName: dto.customerName ? dto.customerName : null,
      customerEmailEncrypted: dto.email ? this.crypto.encrypt(dto.email, FIELDS.paymentEmail(id)) : null,
    };

    try {
      const initiated = { status: PaymentStatus.Pending, amount: dto.amount, paymentType: dto.paymentType, phoneNumber: maskPhone(phone) };
      await this.payments.insert(payment, {
        audit: this.audit.insertSql(
          actor,
          [{ action: 'payment.initiated', entityType: 'payment', entityId: id, after: initiated }],
          IF_CHANGED,
        ),
      });
    } catch (error) {
      if (isUniqueViolation(error, ONE_PENDING_PER_PHONE)) {
        const pending = await this.payments.findPendingByPhoneHash(phoneHash);
        // The pending payment's id only to its own client or an admin: anyone else would learn that this phone has a
        // payment in flight, and whose it is (issue 9 §6).
        const mayKnow = pending && (pending.clientId === user.id || user.role === 'admin');
        throw new AppError(
          ErrorCode.PAYMENT_PENDING_FOR_PHONE,
          'A payment to this phone number is already pending; wait for it to finish',
          mayKnow ? { paymentId: pending.id } : undefined,
        );
      }
      throw error;
    }

    const sent = await this.send(id, phone, accountReference, transactionDesc, dto.amount, { requestId: ctx.requestId, userId: user.id });
    switch (sent.kind) {
      case 'accepted':
        return { kind: 'accepted', paymentId: id, response: sent.response };
      case 'retry':
        // The payment is stored with its retry due: if Redis cannot take the job now, the sweep queues it again
        // (a retry silent for LOST_RETRY_AFTER_MS), so the answer is 202 either way.
        await this.jobs
          .scheduleStkRetry(id, ctx.requestId)
          .catch((error: unknown) =>
            this.logger.warn(`Payment ${id}: its resend could not be queued now (${String(error)}); the sweep will queue it`),
          );
        return { kind: 'queued_for_retry', paymentId: id };
      case 'unknown':
        // The callback may already have settled it while the push's own answer was lost: report what we know.
        return { kind: 'sent_unconfirmed', paymentId: id, payment: await this.payments.findById(id) };
      case 'rejected':
        return { kind: 'rejected', paymentId: id, error: sent.error };
    }
  }

  /** One resend, run by the retry job; 'retry' when the push is still not accepted (the job backs off and retries). */
  async retry(paymentId: string, requestId: string | undefined, isFinalAttempt: boolean): Promise<'done' | 'retry'> {
    const payment = await this.payments.claimRetry(paymentId);
    if (!payment) return 'done'; // settled, accepted or already being retried elsewhere
    const phone = this.crypto.decrypt(payment.phoneNumberEncrypted, FIELDS.paymentPhone(payment.id));
    const sent = await this.send(payment.id, phone, payment.accountReference, payment.transactionDesc, payment.amount, { requestId }, true);
    if (sent.kind !== 'retry') return 'done';
    if (!isFinalAttempt) return 'retry';
    await this.settlement.settle(
      paymentId,
      {
        to: PaymentStatus.Failed,
        settledBy: SettledBy.PushRejected,
        resultDesc: `M-Pesa did not accept the push after ${payment.retryCount} retries: ${sent.error.message}`,
        stkPushStatus: StkPushStatus.Rejected,
      },
      SYSTEM_ACTOR,
    );
    return 'done';
  }

  private async send(
    paymentId: string,
    phone: string,
    accountReference: string,
    transactionDesc: string,
    amount: number,
    context: { requestId?: string; userId?: string },
    isResend = false,
  ): Promise<SendResult> {
    try {
      const response = await this.daraja.stkPush(
        { phone, amount, accountReference, transactionDesc, callbackUrl: this.callbackUrls.stkCallbackUrl(paymentId) },
        { reference: paymentId, ...context },
      );
      await this.payments.markPushAccepted(paymentId, response.CheckoutRequestID, response.MerchantRequestID, redact(response));
      return { kind: 'accepted', response };
    } catch (error) {
      if (!(error instanceof DarajaError)) throw error;
      const note = `${new Date().toISOString()} STK push: ${error.outcome}${error.reason ? ` (${error.reason})` : ''}: ${redactText(error.message)}`;
      if (error.resendable) {
        await this.payments.markPushStatus(paymentId, StkPushStatus.RetryScheduled, note);
        return { kind: 'retry', error };
      }
      // A resend refused because the subscriber is locked: the earlier prompt may be live on the phone (a push whose
      // answer we never had). The payment waits for its callback (or our give-up); it is not failed on this answer.
      if (error.outcome === DarajaOutcome.Unknown || (isResend && error.reason === 'subscriber_busy')) {
        await this.payments.markPushStatus(paymentId, StkPushStatus.Unknown, note);
        this.logger.warn(`STK push for payment ${paymentId} may be live: ${error.message}; its callback or a status check will settle it`);
        return { kind: 'unknown', error };
      }
      await this.settlement.settle(
        paymentId,
        {
          to: PaymentStatus.Failed,
          settledBy: SettledBy.PushRejected,
          resultCode: error.errorCode,
          resultDesc: redactText(error.message),
          stkPushStatus: StkPushStatus.Rejected,
          errorLog: note,
        },
        SYSTEM_ACTOR,
      );
      return { kind: 'rejected', error };
    }
  }
}
