import { Injectable, OnModuleInit } from '@nestjs/common';
import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { FIELDS } from '../common/crypto/sealed-field';
import { NotFoundError } from '../common/errors/app-error';
import { maskPhone } from '../common/phone-number';
import { Actor } from '../audit/audit.service';
import { PaymentDetails } from '../payments/payment-details';
import { ReviewsService, reviewView } from '../reviews/reviews.service';
import { PayoutViewDto } from './dto/payout-view.dto';
import { Payout, PayoutKind } from './payout.entity';
import { PayoutsRepository } from './payouts.repository';
import { Reversal } from './reversals/reversal.entity';
import { ReversalsRepository } from './reversals/reversals.repository';

/** The API's view of payouts; and a payment's refunds and reversals in the payment's own status (PaymentDetails). */
@Injectable()
export class PayoutsService implements OnModuleInit {
  constructor(
    private readonly payouts: PayoutsRepository,
    private readonly reversals: ReversalsRepository,
    private readonly paymentDetails: PaymentDetails,
    private readonly reviews: ReviewsService,
    private readonly crypto: FieldEncryptionService,
  ) {}

  onModuleInit(): void {
    this.paymentDetails.add('refunds', async (paymentId) =>
      (await this.payouts.refundsOf(paymentId)).map((r) => this.view(r) as unknown as Record<string, unknown>),
    );
    this.paymentDetails.add('reversals', async (paymentId) => (await this.reversals.forPayment(paymentId)).map((r) => reversalSummary(r)));
  }

  async get(id: string): Promise<Payout> {
    const payout = await this.payouts.findById(id);
    if (!payout) throw new NotFoundError('Payout');
    return payout;
  }

  /** The payout an Idempotency-Key of this requester created, if its request got that far. */
  findByIdempotencyKey(actor: Actor, key: string): Promise<Payout | null> {
    return this.payouts.findByIdempotencyKey(actor.id ?? actor.type, key);
  }

  /** A payout's view with its reviews (open and resolved), oldest first. */
  async detailedView(payout: Payout): Promise<PayoutViewDto> {
    return { ...this.view(payout), reviews: (await this.reviews.forEntities([payout.id])).map((r) => reviewView(r)) };
  }

  list(kind: PayoutKind, page: number, limit: number): Promise<[Payout[], number]> {
    return this.payouts.list(kind, page, limit);
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
      phoneNumber: maskPhone(this.crypto.decrypt(p.phoneNumberEncrypted, FIELDS.payoutPhone(p.id))),
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
      waitingFor: p.waitingFor,
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
}

/** A reversal as a payment's status lists it. */
function reversalSummary(r: Reversal): Record<string, unknown> {
  return {
    id: r.id,
    status: r.status,
    amount: r.amount,
    reason: r.reason,
    resultCode: r.resultCode,
    resultDesc: r.resultDesc,
    createdAt: r.createdAt,
    completedAt: r.completedAt,
  };
}
