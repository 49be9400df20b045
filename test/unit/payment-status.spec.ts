import { ALLOWED_TRANSITIONS, canTransition, isTerminal, PaymentStatus } from '../../src/payments/payment-status';

describe('payment transitions', () => {
  const terminal = [PaymentStatus.Completed, PaymentStatus.Failed, PaymentStatus.Cancelled, PaymentStatus.Timeout];

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

  it.each([PaymentStatus.Failed, PaymentStatus.Cancelled, PaymentStatus.Timeout, PaymentStatus.Refunded, PaymentStatus.Reversed])(
    '%p is final',
    (from) => {
      for (const to of Object.values(PaymentStatus)) expect(canTransition(from, to)).toBe(false);
    },
  );

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
