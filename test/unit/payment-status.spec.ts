import { ALLOWED_TRANSITIONS, canTransition, isTerminal, PaymentStatus } from '../../src/payments/payment-status';

describe('payment transitions', () => {
  const terminal = [PaymentStatus.Completed, PaymentStatus.Failed, PaymentStatus.Cancelled, PaymentStatus.Timeout];

  it.each(terminal)('pending may become %p', (to) => {
    expect(canTransition(PaymentStatus.Pending, to)).toBe(true);
  });

  it('pending may not stay pending', () => {
    expect(canTransition(PaymentStatus.Pending, PaymentStatus.Pending)).toBe(false);
  });

  it.each(terminal)('%p is final', (from) => {
    expect(isTerminal(from)).toBe(true);
    for (const to of Object.values(PaymentStatus)) expect(canTransition(from, to)).toBe(false);
  });

  it('lists every status', () => {
    expect(Object.keys(ALLOWED_TRANSITIONS).sort()).toEqual(Object.values(PaymentStatus).sort());
  });
});
