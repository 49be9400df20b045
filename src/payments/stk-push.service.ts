import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Actor, SYSTEM_ACTOR } from '../audit/audit.service';
import { AppError, ErrorCode } from '../common/errors/app-error';
import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { redact, redactText } from '../common/redaction';
import { DarajaError, DarajaErrorKind } from '../mpesa/daraja-errors';
import { ACCOUNT_REFERENCE_MAX, DarajaClient, sanitizeDarajaText, TRANSACTION_DESC_MAX } from '../mpesa/daraja.client';
import { StkPushResponse } from '../mpesa/daraja.types';
import { maskPhone, normalizeKenyanPhone } from '../mpesa/phone-number';
import { AuthUser } from '../auth/auth-user';
import { CallbackUrls } from '../common/callback-urls';
import { InitiateStkPushDto } from './dto/initiate-stk-push.dto';
import { PaymentJobsProducer } from './jobs/payment-jobs.producer';
import { STK_MAX_RETRIES } from './jobs/payment-jobs';
import { PaymentSettlementService } from './payment-settlement.service';
import { PaymentStatus, PaymentType, SettledBy, StkPushStatus } from './payment-status';
import { isUniqueViolation, NewPayment, ONE_PENDING_PER_PHONE, PaymentsRepository } from './payments.repository';

export interface RequestContext {
  requestId?: string;
  ipAddress?: string;
  idempotencyKey?: string;
}

/** The HTTP answer for a push once its payment row exists (replayed as-is for an Idempotency-Key). */
export interface PushAnswer {
  status: number;
  body: Record<string, unknown>;
}

export type PushOutcome =
  | { kind: 'accepted'; response: StkPushResponse }
  | { kind: 'retry'; error: DarajaError }
  | { kind: 'unknown'; error: DarajaError }
  | { kind: 'rejected'; error: DarajaError };

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
  ) {}

  /** Writes the payment before Daraja is called, then pushes. Throws only while nothing has been stored. */
  async initiate(user: AuthUser, dto: InitiateStkPushDto, ctx: RequestContext): Promise<PushAnswer> {
    const phone = normalizeKenyanPhone(dto.phoneNumber);
    if (!phone) throw new AppError(ErrorCode.VALIDATION, 'phoneNumber is not a valid Safaricom number');
    const id = randomUUID();
    const phoneHash = this.crypto.lookupHash(phone);
    const accountReference = sanitizeDarajaText(dto.accountReference ?? `LP${id.replace(/-/g, '').slice(0, 10).toUpperCase()}`, ACCOUNT_REFERENCE_MAX);
    const transactionDesc = sanitizeDarajaText(dto.description, TRANSACTION_DESC_MAX) || TYPE_LABELS[dto.paymentType];
    const actor: Actor = { type: 'user', id: user.id, ipAddress: ctx.ipAddress, requestId: ctx.requestId };
    const payment: NewPayment = {
      id,
      clientId: user.id,
      appointmentId: dto.appointmentId ?? null,
      amount: dto.amount,
      paymentType: dto.paymentType,
      description: redactText(dto.description),
      phoneNumberEncrypted: this.crypto.encrypt(phone),
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
      customerEmailEncrypted: dto.email ? this.crypto.encrypt(dto.email) : null,
    };

    try {
      await this.payments.insertWithAudit(payment, actor, {
        status: PaymentStatus.Pending,
        amount: dto.amount,
        paymentType: dto.paymentType,
        phoneNumber: maskPhone(phone),
      });
    } catch (error) {
      if (isUniqueViolation(error, ONE_PENDING_PER_PHONE)) {
        const pending = await this.payments.findPendingByPhoneHash(phoneHash);
        throw new AppError(ErrorCode.PAYMENT_PENDING_FOR_PHONE, 'A payment to this phone number is already pending; wait for it to finish', {
          paymentId: pending?.id ?? null,
        });
      }
      throw error;
    }

    const outcome = await this.push(id, phone, accountReference, transactionDesc, dto.amount, { requestId: ctx.requestId, userId: user.id });
    return this.answerFor(id, outcome, ctx.requestId);
  }

  /** One resend, run by the retry job; returns false when the push is still not accepted (the job retries). */
  async retry(paymentId: string, requestId: string | undefined, isFinalAttempt: boolean): Promise<'done' | 'retry'> {
    const payment = await this.payments.claimRetry(paymentId);
    if (!payment) return 'done'; // settled, accepted or already being retried elsewhere
    const phone = this.crypto.decrypt(payment.phoneNumberEncrypted);
    const outcome = await this.push(payment.id, phone, payment.accountReference, payment.transactionDesc, payment.amount, { requestId });
    if (outcome.kind !== 'retry') return 'done';
    if (!isFinalAttempt) return 'retry';
    await this.settlement.settle(
      paymentId,
      {
        to: PaymentStatus.Failed,
        settledBy: SettledBy.PushRejected,
        resultDesc: `M-Pesa did not accept the push after ${payment.retryCount} retries: ${outcome.error.message}`,
        stkPushStatus: StkPushStatus.Rejected,
      },
      SYSTEM_ACTOR,
    );
    return 'done';
  }

  private async push(
    paymentId: string,
    phone: string,
    accountReference: string,
    transactionDesc: string,
    amount: number,
    context: { requestId?: string; userId?: string },
  ): Promise<PushOutcome> {
    try {
      const response = await this.daraja.stkPush(
        { phone, amount, accountReference, transactionDesc, callbackUrl: this.callbackUrls.stkCallbackUrl(paymentId) },
        { reference: paymentId, ...context },
      );
      await this.payments.markPushAccepted(paymentId, response.CheckoutRequestID, response.MerchantRequestID, redact(response));
      return { kind: 'accepted', response };
    } catch (error) {
      if (!(error instanceof DarajaError)) throw error;
      const note = `${new Date().toISOString()} STK push: ${error.kind}: ${redactText(error.message)}`;
      if (error.retryable || error.kind === DarajaErrorKind.InvalidToken) {
        await this.payments.markPushStatus(paymentId, StkPushStatus.RetryScheduled, note);
        return { kind: 'retry', error };
      }
      if (error.kind === DarajaErrorKind.OutcomeUnknown) {
        await this.payments.markPushStatus(paymentId, StkPushStatus.Unknown, note);
        this.logger.warn(`STK push for payment ${paymentId} may have been sent: ${error.message}; the status sweep will settle it`);
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

  private async answerFor(paymentId: string, outcome: PushOutcome, requestId?: string): Promise<PushAnswer> {
    switch (outcome.kind) {
      case 'accepted':
        return {
          status: 201,
          body: {
            success: true,
            message: 'STK Push initiated successfully',
            data: {
              paymentId,
              status: PaymentStatus.Pending,
              checkoutRequestID: outcome.response.CheckoutRequestID,
              merchantRequestID: outcome.response.MerchantRequestID,
              customerMessage: outcome.response.CustomerMessage,
            },
          },
        };
      case 'retry':
        await this.jobs.scheduleStkRetry(paymentId, requestId);
        return {
          status: 202,
          body: {
            success: true,
            message: 'M-Pesa is temporarily unavailable; the STK Push is queued for retry',
            data: { paymentId, status: PaymentStatus.Pending, checkoutRequestID: null, merchantRequestID: null, customerMessage: null },
          },
        };
      case 'unknown': {
        // The callback may already have settled it while the push's own answer was lost: report what we know.
        const current = await this.payments.findById(paymentId);
        return {
          status: 202,
          body: {
            success: true,
            message: 'STK Push sent but M-Pesa did not confirm it; the payment will be settled by its callback or a status check',
            data: {
              paymentId,
              status: current?.status ?? PaymentStatus.Pending,
              checkoutRequestID: current?.checkoutRequestId ?? null,
              merchantRequestID: current?.merchantRequestId ?? null,
              customerMessage: null,
            },
          },
        };
      }
      case 'rejected': {
        const busy = /unable to lock subscriber/i.test(outcome.error.message);
        return {
          status: busy ? 409 : 502,
          body: {
            success: false,
            message: busy
              ? 'The customer has another M-Pesa request in progress; try again in a minute'
              : `M-Pesa rejected the STK Push: ${redactText(outcome.error.message)}`,
            code: busy ? ErrorCode.SUBSCRIBER_BUSY : ErrorCode.DARAJA_REJECTED,
            details: { paymentId, status: PaymentStatus.Failed },
          },
        };
      }
    }
  }
}
