import { parseC2bConfirmation, parseC2bValidation } from '../../src/c2b/c2b-notification.parser';
import { darajaFixture } from '../fixtures/daraja';

describe('parseC2bConfirmation (docs/daraja.md §9.5)', () => {
  it("reads Daraja's v2 sample: masked MSISDN, amount as text, Kenya time", () => {
    const parsed = parseC2bConfirmation(darajaFixture('c2b-confirmation'));
    expect(parsed).toEqual({
      ok: true,
      value: {
        transactionType: 'Pay Bill',
        transId: 'RKL51ZDR4F',
        transTime: new Date('2023-11-21T09:13:25Z'),
        amount: 5,
        amountText: '5.00',
        shortCode: '600966',
        billRefNumber: 'Sample Transaction',
        invoiceNumber: '',
        thirdPartyTransId: '',
        msisdn: '2547 ***** 126',
        payerName: 'NICHOLAS',
      },
    });
  });

  it('reads an organisation paying the paybill: empty MSISDN, no MiddleName or LastName keys, a 7-digit shortcode', () => {
    const parsed = parseC2bConfirmation(darajaFixture('c2b-confirmation-org'));
    expect(parsed.ok && parsed.value).toMatchObject({ msisdn: '', payerName: 'SITI MOBILITY TECHNOLOGIES LIMITED B2C', amount: 152 });
  });

  it('accepts numbers where Daraja usually sends text', () => {
    const body = { ...darajaFixture('c2b-confirmation'), TransAmount: 150, BusinessShortCode: 600966 };
    expect(parseC2bConfirmation(body)).toMatchObject({ ok: true, value: { amount: 150, shortCode: '600966' } });
  });

  it.each([
    ['no TransID', { TransID: '' }, /TransID/],
    ['a TransID that is no receipt', { TransID: 'RKL5;DROP' }, /TransID/],
    ['a fraction of a shilling', { TransAmount: '5.50' }, /whole number/],
    ['nothing paid', { TransAmount: '0.00' }, /at least 1/],
    ['no amount', { TransAmount: undefined }, /TransAmount/],
  ])('refuses %s', (_what, change, reason) => {
    const parsed = parseC2bConfirmation({ ...darajaFixture('c2b-confirmation'), ...change });
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.reason).toMatch(reason);
  });

  it.each([null, 'text', [1, 2]])('refuses a body that is not an object: %p', (body) => {
    expect(parseC2bConfirmation(body)).toEqual({ ok: false, reason: 'the body is not a JSON object' });
  });

  it('keeps an unreadable TransTime as null (the money is not refused for it)', () => {
    const parsed = parseC2bConfirmation({ ...darajaFixture('c2b-confirmation'), TransTime: '2023-11-21' });
    expect(parsed.ok && parsed.value.transTime).toBeNull();
  });
});

describe('parseC2bValidation', () => {
  it('answers anything shaped like an object; an unreadable amount is left for the decision to refuse', () => {
    const parsed = parseC2bValidation({ ...darajaFixture('c2b-validation'), TransAmount: 'abc' });
    expect(parsed).toMatchObject({
      ok: true,
      value: { transId: 'LGR219G3EY', amount: undefined, billRefNumber: 'xyz', payerName: 'John Doe' },
    });
  });
});
