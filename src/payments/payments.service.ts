import { Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { AuthUser } from '../auth/auth-user';
import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { AppError, ErrorCode, NotFoundError } from '../common/errors/app-error';
import { ReviewsService, reviewView } from '../reviews/reviews.service';
import { ListPaymentsQueryDto } from './dto/list-payments.query.dto';
import { PaymentPageDto, PaymentViewDto } from './dto/payment-responses.dto';
import { Payment } from './payment.entity';
import { PaymentDetails } from './payment-details';
import { paymentDisplayPhone } from './payment-events';
import { PaymentStatus } from './payment-status';
import { ListPosition, PaymentsRepository, PaymentSummary } from './payments.repository';

/** A list cursor is opaque to clients: the last payment's position, base64url JSON. */
function encodeCursor(position: ListPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.id])).toString('base64url');
}

/** timestamptz as Postgres prints it (ISO DateStyle): what the cursor carries, so Postgres reads it back exactly. */
const POSTGRES_TIMESTAMP = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;

function isPostgresTimestamp(text: string): boolean {
  if (!POSTGRES_TIMESTAMP.test(text)) return false;
  // The pattern lets 2026-02-30 through; Postgres would refuse it with a 500.
  const [y, m, d] = text.slice(0, 10).split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d)).getUTCDate() === d;
}

function decodeCursor(cursor: string): ListPosition {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt === 'string' && isPostgresTimestamp(createdAt) && typeof id === 'string' && isUUID(id)) return { createdAt, id };
  } catch {
    // not JSON: refused below
  }
  throw new AppError(ErrorCode.VALIDATION, 'cursor must be a nextCursor this API returned');
}

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
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const page = await this.payments.list({
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
      after,
    });
    // nextCursor and totalIsEstimate only when they say something, so the page of a small list reads as before.
    return {
      items: page.items.map((p) => this.view(p)),
      total: page.total,
      page: query.page,
      limit: query.limit,
      ...(page.totalIsEstimate ? { totalIsEstimate: true } : {}),
      ...(page.next ? { nextCursor: encodeCursor(page.next) } : {}),
    };
  }

  view(p: PaymentSummary): PaymentViewDto {
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
