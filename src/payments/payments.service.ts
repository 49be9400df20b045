import { Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { AuthUser } from '../auth/auth-user';
import { NotFoundError } from '../common/errors/app-error';
import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { maskPhone } from '../mpesa/phone-number';
import { InitiateStkPushDto } from './dto/initiate-stk-push.dto';
import { ListPaymentsQueryDto } from './dto/list-payments.query.dto';
import { PaymentPageDto, PaymentViewDto } from './dto/payment-responses.dto';
import { IdempotencyService, requestFingerprint, StoredAnswer } from './idempotency.service';
import { Payment } from './payment.entity';
import { PaymentStatus } from './payment-status';
import { PaymentsRepository } from './payments.repository';
import { RequestContext, StkPushService } from './stk-push.service';
import { PayoutsService } from './payouts/payouts.service';
import { ReversalsService } from './reversals/reversals.service';

/** The API's view of payments: starting one (with Idempotency-Key), reading one, listing them. */
@Injectable()
export class PaymentsService {
  constructor(
    private readonly payments: PaymentsRepository,
    private readonly stkPush: StkPushService,
    private readonly idempotency: IdempotencyService,
    private readonly crypto: FieldEncryptionService,
    private readonly payouts: PayoutsService,
    private readonly reversals: ReversalsService,
  ) {}

  async initiate(user: AuthUser, dto: InitiateStkPushDto, ctx: RequestContext): Promise<StoredAnswer> {
    if (!ctx.idempotencyKey) return { ...(await this.stkPush.initiate(user, dto, ctx)), replayed: false };
    const key = ctx.idempotencyKey;
    return this.idempotency.run(
      user.id,
      key,
      requestFingerprint('POST /api/payments/stk-push', dto),
      () => this.stkPush.initiate(user, dto, ctx),
      async () => {
        const payment = await this.payments.findByIdempotencyKey(user.id, key);
        return payment ? { status: 202, body: { success: true, message: 'Payment already initiated', data: this.view(payment) } } : undefined;
      },
    );
  }

  async getForUser(user: AuthUser, id: string): Promise<PaymentViewDto> {
    const payment = isUUID(id) ? await this.payments.findById(id) : null;
    // Another client's payment is reported as missing, not forbidden: ids are not to be probed.
    if (!payment || (user.role !== 'admin' && payment.clientId !== user.id)) throw new NotFoundError('Payment');
    const [refunds, reversals] = await Promise.all([this.payouts.refundsOf(id), this.reversals.forPayment(id)]);
    return {
      ...this.view(payment),
      refunds: refunds.map((r) => this.payouts.view(r)),
      reversals: reversals.map((r) => ({ id: r.id, status: r.status, amount: r.amount, reason: r.reason, resultCode: r.resultCode, resultDesc: r.resultDesc, createdAt: r.createdAt, completedAt: r.completedAt })),
    };
  }

  async list(user: AuthUser, query: ListPaymentsQueryDto): Promise<PaymentPageDto> {
    const [items, total] = await this.payments.list({
      clientId: user.role === 'admin' ? undefined : user.id,
      status: query.status,
      paymentType: query.paymentType,
      from: query.from,
      to: query.to,
      page: query.page,
      limit: query.limit,
    });
    return { items: items.map((p) => this.view(p)), total, page: query.page, limit: query.limit };
  }

  view(p: Payment): PaymentViewDto {
    return {
      paymentId: p.id,
      clientId: p.clientId,
      appointmentId: p.appointmentId,
      status: p.status as PaymentStatus,
      amount: p.amount,
      refundedAmount: p.refundedAmount,
      currency: p.currency,
      phoneNumber: maskPhone(this.crypto.decrypt(p.phoneNumberEncrypted)),
      paymentType: p.paymentType,
      description: p.description,
      accountReference: p.accountReference,
      resultCode: p.resultCode === null ? null : /^-?\d+$/.test(p.resultCode) ? Number(p.resultCode) : p.resultCode,
      resultDesc: p.resultDesc,
      mpesaReceiptNumber: p.mpesaReceiptNumber,
      checkoutRequestID: p.checkoutRequestId,
      merchantRequestID: p.merchantRequestId,
      transactionDate: p.transactionDate,
      stkPushStatus: p.stkPushStatus,
      callbackReceived: p.callbackReceived,
      settledBy: p.settledBy,
      reviewReason: p.reviewReason,
      retryCount: p.retryCount,
      initiatedAt: p.initiatedAt,
      completedAt: p.completedAt,
      failedAt: p.failedAt,
      updatedAt: p.updatedAt,
    };
  }
}
