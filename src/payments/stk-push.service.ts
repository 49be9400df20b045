import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Actor, AuditService, SYSTEM_ACTOR } from '../audit/audit.service';
import { TransactionLogService } from '../audit/transaction-log.service';
import { AuthUser } from '../auth/auth-user';
import { billBalance } from '../bills/bill-events';
import { PAYABLE_BILL_STATUSES } from '../bills/bill.entity';
import { BillLedger } from '../bills/bill-ledger.service';
import { CallbackUrls } from '../callbacks/callback-urls';
import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { FIELDS } from '../common/crypto/sealed-field';
import { AppError, ErrorCode, NotFoundError, ValidationError } from '../common/errors/app-error';
import { maskPhone, normalizeKenyanPhone } from '../common/phone-number';
import { redact, redactText } from '../common/redaction';
import { IF_CHANGED } from '../database/sql';
import { isUniqueViolation } from '../database/unique-violation';
import { DarajaError, DarajaOutcome } from '../mpesa/daraja-errors';
import { ACCOUNT_REFERENCE_MAX, DarajaClient, sanitizeDarajaText, TRANSACTION_DESC_MAX } from '../mpesa/daraja.client';
import { AnsweredCall, StkPushResponse } from '../mpesa/daraja.types';
import { PhoneRateLimiter } from '../rate-limit/phone-rate-limiter';
import { InitiateStkPushDto, STK_MAX_AMOUNT } from './dto/initiate-stk-push.dto';
import { PaymentJobsProducer } from './jobs/payment-jobs.producer';
import { STK_MAX_RETRIES } from './jobs/payment-jobs';
import { Payment } from './payment.entity';
import { PaymentSettlementService } from './payment-settlement.service';
import { PaymentStatus, PaymentType, SettledBy, StkPushStatus } from './payment-status';
import { NewPayment, ONE_PENDING_PER_BILL, ONE_PENDING_PER_PHONE, PaymentsRepository } from './payments.repository';

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

/** What a push asks for once its bill (if any) filled in what the request left out. */
interface PushTerms {
  clientId: string;
  amount: number;
  paymentType: PaymentType;
  description: string;
  appointmentId: string | null;
  /** The bill's reference, or the caller's own (sanitised later); undefined: the default `LP…`. */
  accountReference: string | undefined;
  billId: string | null;
}

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
    private readonly bills: BillLedger,
    private readonly transactionLog: TransactionLogService,
  ) {}

  /** Writes the payment before Daraja is called, then pushes. Throws only while nothing has been stored. */
  async initiate(user: AuthUser, dto: InitiateStkPushDto, ctx: RequestContext): Promise<PushOutcome> {
    const phone = normalizeKenyanPhone(dto.phoneNumber);
    if (!phone) throw new AppError(ErrorCode.VALIDATION, 'phoneNumber is not a valid Safaricom number');
    const terms = await this.termsOf(user, dto);
    const id = randomUUID();
    const phoneHash = this.crypto.lookupHash(phone);
    // Counted only for a valid request: garbage sent with a victim's number cannot use up their pushes.
    await this.phoneLimiter.consume(phoneHash);
    const accountReference = sanitizeDarajaText(
      terms.accountReference ?? `LP${id.replace(/-/g, '').slice(0, 10).toUpperCase()}`,
      ACCOUNT_REFERENCE_MAX,
    );
    const transactionDesc = sanitizeDarajaText(terms.description, TRANSACTION_DESC_MAX) || TYPE_LABELS[terms.paymentType];
    const actor: Actor = { type: 'user', id: user.id, ipAddress: ctx.ipAddress, requestId: ctx.requestId };
    const payment: NewPayment = {
      id,
      clientId: terms.clientId,
      appointmentId: terms.appointmentId,
      amount: terms.amount,
      paymentType: terms.paymentType,
      description: redactText(terms.description),
      phoneNumberEncrypted: this.crypto.encrypt(phone, FIELDS.paymentPhone(id)),
      phoneNumberHash: phoneHash,
      accountReference,
      transactionDesc,
      stkPushStatus: StkPushStatus.Initiating,
      maxRetries: STK_MAX_RETRIES,
      idempotencyKey: ctx.idempotencyKey ?? null,
      requestId: ctx.requestId ?? null,
      // The client's contact details live only in their own (encrypted) columns, not in the stored request.
      requestPayload: redact({
        ...dto,
        amount: terms.amount,
        paymentType: terms.paymentType,
        description: terms.description,
        email: undefined,
        customerName: undefined,
        phoneNumber: phone,
        accountReference,
        transactionDesc,
      }),
      customerName: dto.customerName ? dto.customerName : null,
      customerEmailEncrypted: dto.email ? this.crypto.encrypt(dto.email, FIELDS.paymentEmail(id)) : null,
      billId: terms.billId,
    };

    try {
      const initiated = {
        status: PaymentStatus.Pending,
        amount: terms.amount,
        paymentType: terms.paymentType,
        phoneNumber: maskPhone(phone),
        ...(terms.billId ? { billId: terms.billId } : {}),
      };
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
      if (isUniqueViolation(error, ONE_PENDING_PER_BILL) && terms.billId) {
        const pending = await this.payments.findPendingForBill(terms.billId);
        throw new AppError(
          ErrorCode.CONFLICT,
          'A payment for this bill is already pending; wait for it to finish before pushing again',
          pending ? { billId: terms.billId, paymentId: pending.id } : { billId: terms.billId },
        );
      }
      throw error;
    }

    const sent = await this.send(id, phone, accountReference, transactionDesc, terms.amount, { requestId: ctx.requestId, userId: user.id });
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

  /**
   * What the push asks for. Without a bill: the request as it is, for the caller. With one: the bill must be the
   * caller's own (an admin's: anyone's) and still owe money; its reference is the AccountReference, so the payment
   * can be recognised by it; the amount defaults to the balance and may not exceed it (a push pays part or all of
   * what is owed, never more); payment type, description and appointment default to the bill's.
   */
  private async termsOf(user: AuthUser, dto: InitiateStkPushDto): Promise<PushTerms> {
    if (dto.billId === undefined) {
      return {
        clientId: user.id,
        amount: dto.amount as number,
        paymentType: dto.paymentType as PaymentType,
        description: dto.description as string,
        appointmentId: dto.appointmentId ?? null,
        accountReference: dto.accountReference,
        billId: null,
      };
    }
    const bill = await this.bills.findById(dto.billId);
    // Another client's bill is reported as missing, not forbidden: ids are not to be probed.
    if (!bill || (user.role !== 'admin' && bill.clientId !== user.id)) throw new NotFoundError('Bill');
    if (!(PAYABLE_BILL_STATUSES as readonly string[]).includes(bill.status)) {
      throw new AppError(ErrorCode.CONFLICT, `This bill is ${bill.status}: it has nothing left to pay`, {
        billId: bill.id,
        status: bill.status,
      });
    }
    if (dto.accountReference !== undefined && dto.accountReference !== bill.accountReference) {
      throw new ValidationError(`accountReference of a bill's push is the bill's own (${bill.accountReference}): leave it out`);
    }
    const balance = billBalance(bill);
    if (dto.amount !== undefined && dto.amount > balance) {
      throw new ValidationError(`amount must not exceed the bill's balance of KES ${balance}`, { billId: bill.id, balance });
    }
    if (dto.amount === undefined && balance > STK_MAX_AMOUNT) {
      throw new ValidationError(
        `The bill's balance of KES ${balance} is above M-Pesa's STK maximum of KES ${STK_MAX_AMOUNT}: give an amount to pay part of it`,
        { billId: bill.id, balance },
      );
    }
    return {
      clientId: bill.clientId,
      amount: dto.amount ?? balance,
      paymentType: (dto.paymentType ?? bill.paymentType) as PaymentType,
      description: dto.description ?? bill.description,
      appointmentId: dto.appointmentId ?? bill.appointmentId,
      accountReference: bill.accountReference,
      billId: bill.id,
    };
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
    // The call's transaction-log row is written by the UPDATE that records Daraja's ids (storeAnswered), or on its own
    // when that UPDATE does not happen (a refusal in the answer, a failed write).
    const answered: AnsweredCall = {};
    try {
      const response = await this.daraja.stkPush(
        { phone, amount, accountReference, transactionDesc, callbackUrl: this.callbackUrls.stkCallbackUrl(paymentId) },
        { reference: paymentId, ...context, storeAnswered: answered },
      );
      const callLog = answered.record && this.transactionLog.outboundSql(answered.record);
      await this.payments.markPushAccepted(paymentId, response.CheckoutRequestID, response.MerchantRequestID, redact(response), {
        callLog,
      });
      return { kind: 'accepted', response };
    } catch (error) {
      await this.storeUnstoredCall(answered);
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

  /** The log row of a call whose answer was left to us to store, when our own statement did not store it. */
  private async storeUnstoredCall({ record }: AnsweredCall): Promise<void> {
    if (!record) return;
    await this.transactionLog
      .storeUnstored(record)
      .catch((e: unknown) =>
        this.logger.error(`Could not record the Daraja ${record.api} call of ${record.context.reference}: ${String(e)}`),
      );
  }
}
