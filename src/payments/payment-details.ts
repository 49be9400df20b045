import { Injectable } from '@nestjs/common';

/** One section of a payment's status view that another module holds (its refunds, its reversals), oldest first. */
export type PaymentDetailSection = (paymentId: string) => Promise<Record<string, unknown>[]>;

/**
 * What other modules add to `GET /api/payments/:id/status`. Money out depends on money in, never the other way: the
 * payouts module registers its sections here when it starts, so payments can show a payment's refunds and
 * reversals without importing payouts.
 */
@Injectable()
export class PaymentDetails {
  private readonly sections = new Map<string, PaymentDetailSection>();

  add(name: string, section: PaymentDetailSection): void {
    this.sections.set(name, section);
  }

  async of(paymentId: string): Promise<Record<string, Record<string, unknown>[]>> {
    const entries = await Promise.all([...this.sections].map(async ([name, section]) => [name, await section(paymentId)] as const));
    return Object.fromEntries(entries);
  }
}
