import { Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { AuthUser } from '../auth/auth-user';
import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { NotFoundError } from '../common/errors/app-error';
import { ReviewsService, reviewView } from '../reviews/reviews.service';
import { ListPaymentsQueryDto } from './dto/list-payments.query.dto';
import { PaymentPageDto, PaymentViewDto } from './dto/payment-responses.dto';
import { Payment } from './payment.entity';
import { PaymentDetails } from './payment-details';
import { paymentDisplayPhone } from './payment-events';
import { PaymentStatus } from './payment-status';
import { PaymentsRepository } from './payments.repository';

/** The API's view of payments: reading one (with what other modules add to it), listing them. */
@Injectable()
export class PaymentsService {
  constructor(
    private readonly payments: PaymentsRepository,
    private readonly details: PaymentDetails,
    private readonly reviews: ReviewsService,
    private readonly crypto: FieldEncryptionService,
  ) {}

  async getForUser(user: AuthUser, id: string): Promise<PaymentViewDto> {
    const payment = isUUID(id) ? await this.payments.findById(id) : null;
    // Another client's payment is reported as missing, not forbidden: ids are not to be probed.
    if (!payment || (user.role !== 'admin' && payment.clientId !== user.id)) throw new NotFoundError('Payment');
    const [details, reviews] = await Promise.all([this.details.of(id), this.reviews.forEntities([id])]);
    return { ...this.view(payment), ...details, reviews: reviews.map((r) => reviewView(r, user.role === 'admin' ? 'admin' : 'client')) };
  }

  /** The payment an Idempotency-Key created, if its request got that far (for a replay after a crash). */
  findByIdempotencyKey(clientId: string, key: string): Promise<Payment | null> {
    return this.payments.findByIdempotencyKey(clientId, key);
  }

  async list(user: AuthUser, query: ListPaymentsQueryDto): Promise<PaymentPageDto> {
    const [items, total] = await this.payments.list({
      clientId: user.role === 'admin' ? undefined : user.id,
      status: query.status,
      paymentType: query.paymentType,
      channel: query.channel,
      billId: query.billId,
      from: query.from,
      to: query.to,
      needsReview: query.needsReview,
      page: query.page,
      limit: query.limit,
    });
    return { items: items.map((p) => this.view(p)), total, page: query.page, limit: query.limit };
  }

  view(p: Payment): PaymentViewDto {
    return {
      paymentId: p.id,
      clientId: p.clientId,
      channel: p.channel,
      billId: p.billId,
      appointmentId: p.appointmentId,
      status: p.status as PaymentStatus,
      amount: p.amount,
      refundedAmount: p.refundedAmount,
      currency: p.currency,
      phoneNumber: paymentDisplayPhone(p, this.crypto),
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
