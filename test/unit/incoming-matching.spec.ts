import { createHash } from 'node:crypto';
import {
  displayPayerMsisdn,
  MATCH_WINDOW_AFTER_MS,
  MATCH_WINDOW_BEFORE_MS,
  matchWindow,
  msisdnKind,
  phoneAgreement,
  referenceKey,
  visibleDigits,
  wholeShillings,
} from '../../src/payments/incoming-matching';

const PHONE = '254708374126';

describe('msisdnKind', () => {
  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    [null, 'empty'],
    ['254708374126', 'plain'],
    ['0708374126', 'plain'],
    ['2547 ***** 126', 'masked'],
    ['25470****126', 'masked'],
    ['2547X****126', 'masked'],
    ['0708***126', 'masked'],
    [createHash('sha256').update(PHONE).digest('hex'), 'sha256'],
    ['72200000', 'unreadable'],
    ['SITI MOBILITY', 'unreadable'],
  ])('%p is %p', (given, kind) => {
    expect(msisdnKind(given)).toBe(kind);
  });
});

describe('visibleDigits', () => {
  it.each([
    ['2547 ***** 126', { prefix: '2547', suffix: '126' }],
    ['25470****126', { prefix: '25470', suffix: '126' }],
    ['2547X****126', { prefix: '2547', suffix: '126' }],
    ['0708***126', { prefix: '254708', suffix: '126' }],
    ['+2547****126', { prefix: '2547', suffix: '126' }],
  ])('%p shows %p', (masked, digits) => {
    expect(visibleDigits(masked)).toEqual(digits);
  });
});

describe('phoneAgreement: whether a payer number M-Pesa gave can be our push’s phone', () => {
  it.each([
    ['2547 ***** 126', 'agrees'],
    ['25470****126', 'agrees'],
    ['0708***126', 'agrees'],
    ['254708374126', 'agrees'],
    ['0708374126', 'agrees'],
    [createHash('sha256').update(PHONE).digest('hex'), 'agrees'],
    [createHash('sha256').update(PHONE).digest('hex').toUpperCase(), 'agrees'],
    ['2547 ***** 127', 'contradicts'],
    ['25471****126', 'contradicts'],
    ['254708374127', 'contradicts'],
    [createHash('sha256').update('254708374127').digest('hex'), 'contradicts'],
    // Too little to go on: never a match.
    ['2547 ***** 1', 'unknown'],
    ['****126', 'unknown'],
    ['', 'unknown'],
    [null, 'unknown'],
    ['72200000', 'unknown'],
  ])('%p: %p', (given, expected) => {
    expect(phoneAgreement(PHONE, given)).toBe(expected);
  });
});

describe('displayPayerMsisdn', () => {
  it('masks a plain number our way, keeps a mask as M-Pesa sent it, and shows no hash', () => {
    expect(displayPayerMsisdn('254708374126')).toBe('2547****126');
    expect(displayPayerMsisdn('2547 ***** 126')).toBe('2547*****126');
    expect(displayPayerMsisdn(createHash('sha256').update(PHONE).digest('hex'))).toBe('hashed');
    expect(displayPayerMsisdn('')).toBe('');
  });
});

describe('referenceKey', () => {
  it('compares trimmed and case-insensitively', () => {
    expect(referenceKey('  case-2291 ')).toBe('CASE-2291');
    expect(referenceKey('')).toBeNull();
    expect(referenceKey(null)).toBeNull();
  });
});

describe('matchWindow', () => {
  it('reaches ten minutes back and two ahead of the money’s time', () => {
    const at = new Date('2026-03-01T09:00:00Z');
    expect(matchWindow(at)).toEqual({ from: new Date('2026-03-01T08:50:00Z'), to: new Date('2026-03-01T09:02:00Z') });
    expect(MATCH_WINDOW_BEFORE_MS).toBe(600_000);
    expect(MATCH_WINDOW_AFTER_MS).toBe(120_000);
  });
});

describe('wholeShillings', () => {
  it.each([
    ['5.00', 5],
    ['10', 10],
    ['152.00', 152],
    ['1,100.00', 1100],
    [250, 250],
    ['  42.0 ', 42],
  ])('%p is %p', (value, amount) => {
    expect(wholeShillings(value)).toBe(amount);
  });

  it.each(['5.50', '0.01', '-5', 'abc', '', null, undefined, 5.5, '1e3'])('refuses %p', (value) => {
    expect(wholeShillings(value)).toBeUndefined();
  });
});
