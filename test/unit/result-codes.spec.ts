import { cleanResultDesc, normalizeResultCode, stkOutcome } from '../../src/mpesa/daraja-result-codes';

describe('normalizeResultCode', () => {
  it('treats the callback number and the query string alike', () => {
    expect(normalizeResultCode(0)).toBe('0');
    expect(normalizeResultCode('0')).toBe('0');
    expect(normalizeResultCode(1032)).toBe('1032');
    expect(normalizeResultCode(' 1032 ')).toBe('1032');
  });

  it('keeps non-numeric codes', () => {
    expect(normalizeResultCode('SFC_IC0003')).toBe('SFC_IC0003');
  });

  it.each([undefined, null, '', NaN, {}])('returns undefined for %p', (code) => {
    expect(normalizeResultCode(code)).toBeUndefined();
  });
});

describe('stkOutcome', () => {
  it.each([
    ['0', 'completed'],
    ['1032', 'cancelled'],
    ['1031', 'cancelled'],
    ['1037', 'timeout'],
    ['1', 'failed'],
    ['2001', 'failed'],
    ['1019', 'failed'],
    ['SFC_IC0003', 'failed'],
    ['99999', 'failed'],
  ])('maps %p to %p', (code, outcome) => {
    expect(stkOutcome(code)).toBe(outcome);
  });
});

describe('cleanResultDesc', () => {
  it("strips Daraja's legacy tag", () => {
    expect(cleanResultDesc('[STK_CB - ]Request cancelled by user')).toBe('Request cancelled by user');
  });
});
