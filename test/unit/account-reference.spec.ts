import {
  ACCOUNT_REFERENCE_ALPHABET,
  ACCOUNT_REFERENCE_LENGTH,
  couldBeBillReference,
  newAccountReference,
  normalizeAccountNumber,
} from '../../src/bills/account-reference';
import { BILL_PAYMENT_TYPES } from '../../src/bills/dto/bill.dto';
import { BillStatus, statusForPaid } from '../../src/bills/bill.entity';
import { PaymentType } from '../../src/payments/payment-status';

describe('newAccountReference', () => {
  it('is 8 characters a customer can type, without 0, O, 1 or I', () => {
    for (let i = 0; i < 2_000; i++) {
      const reference = newAccountReference();
      expect(reference).toMatch(/^[A-HJ-NP-Z2-9]{8}$/);
      expect(reference.length).toBeLessThanOrEqual(12); // Daraja's AccountReference limit (docs/daraja.md §2.1)
    }
  });

  it('uses the whole alphabet, which has no look-alikes', () => {
    expect(ACCOUNT_REFERENCE_ALPHABET).toHaveLength(32);
    expect(ACCOUNT_REFERENCE_ALPHABET).not.toMatch(/[01OI]/);
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) for (const c of newAccountReference()) seen.add(c);
    expect(seen.size).toBe(32);
  });

  it('takes each character from the random source it is given', () => {
    let n = 0;
    expect(newAccountReference(() => n++ % 32)).toBe(ACCOUNT_REFERENCE_ALPHABET.slice(0, ACCOUNT_REFERENCE_LENGTH));
  });

  it('rarely repeats (a clash is retried on the unique constraint)', () => {
    const references = new Set(Array.from({ length: 20_000 }, () => newAccountReference()));
    expect(references.size).toBe(20_000);
  });
});

describe('normalizeAccountNumber', () => {
  it.each([
    ['k7hm3qxa', 'K7HM3QXA'],
    ['  K7HM3QXA ', 'K7HM3QXA'],
    ['K7HM 3QXA', 'K7HM3QXA'],
    ['k7hm-3qxa', 'K7HM3QXA'],
    ['\tK7HM3QXA\n', 'K7HM3QXA'],
  ])('reads %p as %p', (typed, expected) => {
    expect(normalizeAccountNumber(typed)).toBe(expected);
  });

  it.each(['', '   ', null, undefined])('is null for %p', (typed) => {
    expect(normalizeAccountNumber(typed)).toBeNull();
  });
});

describe('couldBeBillReference', () => {
  it.each(['K7HM3QXA', 'ABCDEFGH', '23456789'])('accepts %p', (reference) => {
    expect(couldBeBillReference(reference)).toBe(true);
  });

  it.each(['K7HM3QX', 'K7HM3QXAB', 'K0HM3QXA', 'KOHM3QXA', 'K1HM3QXA', 'KIHM3QXA', 'LPABCDEF1234', null])('refuses %p', (reference) => {
    expect(couldBeBillReference(reference)).toBe(false);
  });
});

describe('statusForPaid', () => {
  it.each([
    [0, BillStatus.Open],
    [1, BillStatus.PartiallyPaid],
    [999, BillStatus.PartiallyPaid],
    [1_000, BillStatus.Paid],
    [1_001, BillStatus.Overpaid],
  ])('a bill of 1000 with %p paid is %p', (paid, status) => {
    expect(statusForPaid(1_000, paid)).toBe(status);
  });
});

describe('BILL_PAYMENT_TYPES', () => {
  it("are payments' PaymentType (bills cannot import it)", () => {
    expect([...BILL_PAYMENT_TYPES].sort()).toEqual(Object.values(PaymentType).sort());
  });
});
