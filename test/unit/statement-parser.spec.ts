import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { statementLines } from '../../src/reconciliation/reports/mpesa-lines';
import { decodeStatementBody } from '../../src/reconciliation/statements/statement-body';
import { parseStatement, parseStatementAmount, StatementFormatError } from '../../src/reconciliation/statements/statement-parser';
import { statementFixture } from '../fixtures/daraja';

/** test/fixtures/statements/: the variants the org portal's export arrives in, besides the two of test/fixtures/daraja. */
const variant = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'statements', `${name}.csv`), 'utf8');
const eat = (iso: string) => new Date(`${iso}+03:00`);

function formatError(text: string): StatementFormatError {
  try {
    statementLines(parseStatement(text).lines);
  } catch (error) {
    if (error instanceof StatementFormatError) return error;
    throw error;
  }
  throw new Error('expected a StatementFormatError');
}

describe('parseStatement', () => {
  it('reads the legacy export saved as CSV: preamble, `Receipt No.`, day-first dashes, negative withdrawals, A/C No. with a leading space', () => {
    const parsed = parseStatement(statementFixture('legacy'));
    expect(parsed.layout).toBe('legacy');
    expect(parsed.shortCode).toBe('174379');
    // `To 04-12-2026 23:59:59` includes that second: the period ends at midnight, exclusive.
    expect(parsed.period).toEqual({ start: eat('2026-12-04T00:00:00'), end: eat('2026-12-05T00:00:00') });
    expect(parsed.declaredTotals).toEqual({ paidIn: 16345, withdrawn: 500 });
    expect(parsed.lines.map((l) => l.receipt)).toEqual(['SKH1S2T3U4', 'SKE8H9J0K1', 'SKD4E5F6G7', 'SKC1A2B3C4']);
    const [first, payout] = parsed.lines;
    expect(first).toMatchObject({
      lineNo: 8,
      completedAt: eat('2026-12-04T17:45:30'),
      initiatedAt: eat('2026-12-04T17:45:28'),
      paidIn: 12345,
      withdrawn: 0,
      balance: 25845,
      reasonType: 'Pay Utility',
      otherParty: '2547****555 - MARY **** WANJIKU',
      accountReference: 'lp7kq2',
      status: 'Completed',
    });
    expect(payout).toMatchObject({ paidIn: 0, withdrawn: 500, accountReference: null });
  });

  it('reads the newer template: no preamble, `Paid In (KSHs)` with thousands separators, 0.00 for nothing, quoted details', () => {
    const parsed = parseStatement(statementFixture('portal'));
    expect(parsed).toMatchObject({ layout: 'template', shortCode: null, period: null, declaredTotals: { paidIn: null, withdrawn: null } });
    expect(parsed.lines).toHaveLength(9);
    expect(parsed.lines[0]).toMatchObject({
      receipt: 'SKJ5V6W7X8',
      completedAt: eat('2026-12-04T18:05:09'),
      paidIn: 1000,
      withdrawn: 0,
      balance: 26530,
      details: 'Pay Bill from 2547****149 - JOHN DOE Acc. INV-1, 2',
      accountReference: 'INV-1, 2',
    });
    // The account comes from the narration when there is no A/C No. column; its spaces go, its case stays.
    expect(parsed.lines[1]).toMatchObject({ paidIn: 12345, accountReference: 'lp7kq2' });
    expect(parsed.lines.find((l) => l.receipt === 'SKF2L3M4N5')).toMatchObject({ paidIn: 0, withdrawn: 300 });
  });

  it('reads a semicolon-separated export with a byte-order mark', () => {
    const parsed = parseStatement(variant('semicolon-bom'));
    expect(parsed.layout).toBe('template');
    expect(parsed.lines.map((l) => [l.receipt, l.paidIn, l.withdrawn])).toEqual([
      ['SKD4E5F6G7', 2500, 0],
      ['SKC1A2B3C4', 0, 15],
      ['SKC1A2B3C4', 1500, 0],
    ]);
  });

  it('reads a legacy export a spreadsheet re-saved: one-cell preamble, lower-case headers, serial and AM/PM times, a narration broken over two lines, blank and total rows', () => {
    const parsed = parseStatement(variant('resaved'));
    expect(parsed.layout).toBe('legacy');
    expect(parsed.shortCode).toBe('174379');
    expect(parsed.period).toEqual({ start: eat('2026-12-04T00:00:00'), end: eat('2026-12-05T00:00:00') });
    expect(parsed.declaredTotals).toEqual({ paidIn: 4000, withdrawn: 0 });
    expect(parsed.lines).toHaveLength(2);
    expect(parsed.lines[0]).toMatchObject({
      receipt: 'SKD4E5F6G7',
      completedAt: eat('2026-12-04T09:40:11'),
      details: 'Pay Bill Online from 2547****376 - JANE DOE Acc. LP9MX4',
      accountReference: 'LP9MX4',
    });
    expect(parsed.lines[1]).toMatchObject({ receipt: 'SKC1A2B3C4', completedAt: eat('2026-12-04T08:15:00'), paidIn: 1500 });
  });

  it('gives the same fingerprint to the same statement saved again (line ends, quoting), another to another statement', () => {
    const portal = statementFixture('portal');
    const resaved = portal
      .replace(/\r\n/g, '\n')
      .replace(/"26,530\.00"/, '"26,530.00"')
      .replace('Pay Bill Charge', '"Pay Bill Charge"');
    expect(parseStatement(resaved).fingerprint).toBe(parseStatement(portal).fingerprint);
    expect(parseStatement(statementFixture('legacy')).fingerprint).not.toBe(parseStatement(portal).fingerprint);
  });

  it('refuses a CSV that is not a statement, saying what it looked for', () => {
    expect(formatError(variant('not-a-statement')).message).toMatch(/not an M-Pesa statement.*'Receipt No\.', 'Completion Time'/);
    expect(formatError('').message).toBe('The statement is empty');
    expect(formatError('Receipt No,Completion Time,Paid In,Withdrawn\r\n').message).toBe('The statement has a header but no transactions');
  });

  it('refuses a statement with rows it cannot read, naming each line (nothing is imported)', () => {
    const error = formatError(variant('unreadable-rows'));
    expect(error.message).toBe('The statement has 2 unreadable row(s); nothing was imported');
    expect(error.problems).toEqual([
      "line 2: completion time '2026/31/12 09:40' is not a day-first date and time",
      "line 3: 'Paid In' '1.500,00' is not an amount",
    ]);
  });

  it('refuses a statement that lists one receipt twice as a payment', () => {
    const error = formatError(variant('repeated-receipt'));
    expect(error.message).toMatch(/lists a receipt twice as a payment/);
    expect(error.problems).toEqual(['SKC1A2B3C4 (lines 2, 3)']);
  });
});

describe('statementLines', () => {
  it('tells payments from M-Pesa charges, sweeps (a Paid In / Withdrawn pair with one receipt) and money out', () => {
    const lines = statementLines(parseStatement(statementFixture('portal')).lines);
    const byCategory = (category: string) =>
      lines.filter((l) => l.category === category).map((l) => `${l.receipt}:${l.direction}:${l.amount}`);
    expect(byCategory('charge')).toEqual(['SKC1A2B3C4:out:15']);
    expect(byCategory('internal')).toEqual(['SKG6P7Q8R9:in:10000', 'SKG6P7Q8R9:out:10000']);
    expect(byCategory('payment')).toEqual([
      'SKJ5V6W7X8:in:1000',
      'SKH1S2T3U4:in:12345',
      'SKF2L3M4N5:out:300',
      'SKE8H9J0K1:out:500',
      'SKD4E5F6G7:in:2500',
      'SKC1A2B3C4:in:1500',
    ]);
    expect(lines.find((l) => l.receipt === 'SKD4E5F6G7')).toMatchObject({
      party: '2547****376 - JANE DOE',
      msisdn: '2547****376',
      payerName: 'JANE DOE',
      accountReference: 'LP9MX4',
      transactionType: 'Pay Bill Online',
    });
  });

  it('uses the legacy export’s Other Party Info and Reason Type', () => {
    const lines = statementLines(parseStatement(statementFixture('legacy')).lines);
    expect(lines[0]).toMatchObject({
      msisdn: '2547****555',
      payerName: 'MARY **** WANJIKU',
      transactionType: 'Pay Utility',
      category: 'payment',
    });
  });
});

describe('parseStatementAmount', () => {
  it.each([
    ['1,100.00', 1100],
    ['-1,500.00', -1500],
    ['(500.00)', -500],
    ['KES 1 100', 1100],
    ['Ksh. 20', 20],
    ['', 0],
    ['0.00', 0],
    ['12345', 12345],
  ])('reads %p as %p', (text, value) => {
    expect(parseStatementAmount(text)).toBe(value);
  });

  it.each(['1.500,00', '1,50', 'abc', '12-3'])('refuses %p', (text) => {
    expect(parseStatementAmount(text)).toBeUndefined();
  });
});

describe('decodeStatementBody', () => {
  it('refuses workbooks and PDFs by their first bytes, whatever they are called', () => {
    const xls = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0]);
    expect(() => decodeStatementBody(xls)).toThrow(/an Excel \.xls workbook, not CSV: open it in a spreadsheet and save it as CSV/);
    expect(() => decodeStatementBody(Buffer.from('PK\u0003\u0004rest'))).toThrow(/\.xlsx workbook/);
    expect(() => decodeStatementBody(Buffer.from('%PDF-1.7'))).toThrow(/a PDF/);
  });

  it('reads UTF-8, and Windows-1252 as Excel on Windows saves CSV', () => {
    expect(decodeStatementBody(Buffer.from('Acc. CAFÉ', 'utf8'))).toBe('Acc. CAFÉ');
    expect(decodeStatementBody(Buffer.from([0x41, 0x63, 0x63, 0x2e, 0x20, 0x43, 0x41, 0x46, 0xc9]))).toBe('Acc. CAFÉ');
  });
});
