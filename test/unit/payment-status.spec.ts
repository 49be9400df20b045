import { ALLOWED_TRANSITIONS, canTransition, isTerminal, PaymentStatus } from '../../src/payments/payment-status';

describe('payment transitions', () => {
  const terminal = [PaymentStatus.Completed, PaymentStatus.Failed, PaymentStatus.Cancelled, PaymentStatus.Timeout, PaymentStatus.Expired];

  it.each(terminal)('pending may become %p', (to) => {
    expect(canTransition(PaymentStatus.Pending, to)).toBe(true);
  });

  it('pending may not stay pending', () => {
    expect(canTransition(PaymentStatus.Pending, PaymentStatus.Pending)).toBe(false);
  });

  it.each(terminal)('%p ends the STK flow', (from) => {
    expect(isTerminal(from)).toBe(true);
    expect(canTransition(from, PaymentStatus.Pending)).toBe(false);
  });

  it.each([PaymentStatus.Refunded, PaymentStatus.Reversed])('%p is final', (from) => {
    for (const to of Object.values(PaymentStatus)) expect(canTransition(from, to)).toBe(false);
  });

  it.each([PaymentStatus.Failed, PaymentStatus.Cancelled, PaymentStatus.Timeout])(
    "M-Pesa's verdict %p changes only to completed (a person resolving a review with the evidence of payment)",
    (from) => {
      expect(Object.values(PaymentStatus).filter((to) => canTransition(from, to))).toEqual([PaymentStatus.Completed]);
    },
  );

  it('our own give-up (expired) still takes a late verdict, a late payment included', () => {
    expect(canTransition(PaymentStatus.Expired, PaymentStatus.Completed)).toBe(true);
    expect(canTransition(PaymentStatus.Expired, PaymentStatus.Cancelled)).toBe(true);
    expect(canTransition(PaymentStatus.Expired, PaymentStatus.Refunded)).toBe(false);
  });

  it('only a completed payment can be refunded or reversed', () => {
    expect(canTransition(PaymentStatus.Completed, PaymentStatus.PartiallyRefunded)).toBe(true);
    expect(canTransition(PaymentStatus.Completed, PaymentStatus.Refunded)).toBe(true);
    expect(canTransition(PaymentStatus.Completed, PaymentStatus.Reversed)).toBe(true);
    expect(canTransition(PaymentStatus.PartiallyRefunded, PaymentStatus.Refunded)).toBe(true);
    expect(canTransition(PaymentStatus.PartiallyRefunded, PaymentStatus.Reversed)).toBe(false);
    expect(canTransition(PaymentStatus.Failed, PaymentStatus.Refunded)).toBe(false);
  });

  it('lists every status', () => {
    expect(Object.keys(ALLOWED_TRANSITIONS).sort()).toEqual(Object.values(PaymentStatus).sort());
  });
});
