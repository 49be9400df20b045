import { createHash } from 'node:crypto';
import { parseStatementTime } from '../kenya-time';
import { detectDelimiter, parseCsv } from './csv';

/**
 * The M-Pesa org portal's statement export, saved as CSV (docs/daraja.md §18). Two layouts are known:
 * - legacy (`ORG_<shortcode>_UtilityAccount_All_….xls` saved as CSV): a preamble of label/value rows (Short Code,
 *   Time Period, totals) and then 14 columns headed `Receipt No.`, `Completion Time`, …, `A/C No.`;
 * - the newer template ("Statements for <shortcode> from … to …"): the header in the first row, `Receipt No`,
 *   `Paid In (KSHs)`… with thousands separators and `0.00` for nothing, and no preamble.
 * Tolerated: header names with or without full stops and currency suffixes, day-first dates with `-` or `/`,
 * thousands separators, negative or positive withdrawals, account numbers with a leading space, narrations with line
 * breaks, rows in any order (the export lists the newest first). Refused, naming the line: anything else.
 */

export type StatementLayout = 'legacy' | 'template';

export interface StatementLine {
  /** The file's line where the row starts (1-based), to find it in a spreadsheet. */
  lineNo: number;
  receipt: string;
  completedAt: Date;
  initiatedAt: Date | null;
  /** Whitespace collapsed. */
  details: string;
  /** `Completed` on every row seen so far; null when the column is absent. */
  status: string | null;
  /** KES, never negative; 0 when blank. */
  paidIn: number;
  /** KES as a positive number (the legacy export writes it negative). */
  withdrawn: number;
  balance: number | null;
  reasonType: string | null;
  otherParty: string | null;
  linkedTransactionId: string | null;
  /** `A/C No.` trimmed, else the account after `Acc.` in the details; null when neither says. */
  accountReference: string | null;
  /** The row as read, header → cell (personal data inside: redact before storing). */
  raw: Record<string, string>;
}

export interface ParsedStatement {
  layout: StatementLayout;
  /** From the preamble (`Short Code:`), or null (the newer template carries it only in its file name). */
  shortCode: string | null;
  /** From the preamble (`Time Period: From … To …`), `[start, end)`; or null. */
  period: { start: Date; end: Date } | null;
  /** The preamble's `Total Paid In:` / `Total Withdrawn:` (null when absent). */
  declaredTotals: { paidIn: number | null; withdrawn: number | null };
  lines: StatementLine[];
  /**
   * What makes this statement this statement: a hash of its rows (receipt, time, amounts, details), shortcode and
   * period. The same export saved again by a spreadsheet (other line ends, quoting, column widths) hashes the same.
   */
  fingerprint: string;
}

/** Input that is not a statement, or a statement with rows that cannot be read: nothing is imported. */
export class StatementFormatError extends Error {
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message);
    this.name = 'StatementFormatError';
  }
}

type Column =
  | 'receipt'
  | 'completedAt'
  | 'initiatedAt'
  | 'details'
  | 'status'
  | 'paidIn'
  | 'withdrawn'
  | 'balance'
  | 'balanceConfirmed'
  | 'reasonType'
  | 'otherParty'
  | 'linkedTransactionId'
  | 'accountReference'
  | 'currency';

/** Header names as normalizeHeader() leaves them (lower case, no full stops, no currency suffix). */
const HEADERS: Record<string, Column> = {
  'receipt no': 'receipt',
  'receipt number': 'receipt',
  receipt: 'receipt',
  'transaction id': 'receipt',
  'completion time': 'completedAt',
  'completion date': 'completedAt',
  'initiation time': 'initiatedAt',
  details: 'details',
  'transaction status': 'status',
  'paid in': 'paidIn',
  withdrawn: 'withdrawn',
  withdrawal: 'withdrawn',
  balance: 'balance',
  'balance confirmed': 'balanceConfirmed',
  'reason type': 'reasonType',
  'other party info': 'otherParty',
  'linked transaction id': 'linkedTransactionId',
  'a/c no': 'accountReference',
  'ac no': 'accountReference',
  'account no': 'accountReference',
  'account number': 'accountReference',
  currency: 'currency',
};

const REQUIRED: Column[] = ['receipt', 'completedAt', 'paidIn', 'withdrawn'];
/** M-Pesa receipts: 10 capital letters and digits today; a little slack either way. */
const RECEIPT = /^[A-Z0-9]{8,20}$/;
const MAX_PROBLEMS = 20;
/** Rows a spreadsheet or the portal adds under the transactions. */
const FOOTER = /^(grand )?totals?:?$|^(disclaimer|end of statement|page \d+)/i;

export function normalizeHeader(cell: string): string {
  return cell
    .replace(/^\uFEFF/, '')
    .toLowerCase()
    .replace(/\((kshs?|kes)\)/g, '')
    .replace(/\./g, '')
    .replace(/[:_]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

const collapse = (text: string) => text.replace(/\s+/g, ' ').trim();

/**
 * An amount as the statement writes it: `1,100.00`, `-500.00`, `(500.00)`, `KES 1 100`, blank. Undefined when it is
 * no number at all.
 */
export function parseStatementAmount(text: string): number | undefined {
  let value = text.trim().replace(/^(kshs?|kes)\.?\s*/i, '');
  if (!value) return 0;
  let negative = false;
  if (/^\(.*\)$/.test(value)) {
    negative = true;
    value = value.slice(1, -1);
  }
  value = value.replace(/\s/g, '');
  // Thousands separators in threes only: `1.500,00` (a decimal comma) is refused rather than read as 1.5.
  if (!/^[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$/.test(value)) return undefined;
  value = value.replace(/,/g, '');
  const n = Number(value);
  return negative ? -n : n;
}

/** The account after `Acc.` in a narration (`Pay Bill from 2547****123 - JANE DOE Acc. INV-42`). */
export function accountFromDetails(details: string): string | null {
  const m = /\bAcc(?:ount)?\.?\s+(.+)$/i.exec(details);
  return m ? m[1].trim() || null : null;
}

/** Parses the export; throws StatementFormatError saying what is wrong and where. */
export function parseStatement(input: string): ParsedStatement {
  const text = input.replace(/^\uFEFF/, '');
  if (!text.trim()) throw new StatementFormatError('The statement is empty');
  const headerMarker = /receipt/i;
  const records = parseCsv(text, detectDelimiter(text, headerMarker));

  const headerIndex = records.findIndex((r) => {
    const names = new Set(r.cells.map((c) => HEADERS[normalizeHeader(c)]).filter(Boolean));
    return REQUIRED.every((column) => names.has(column));
  });
  if (headerIndex < 0) {
    throw new StatementFormatError(
      "This is not an M-Pesa statement: no header row with 'Receipt No.', 'Completion Time', 'Paid In' and 'Withdrawn' was found " +
        '(export the statement from the M-Pesa org portal and send it as CSV)',
    );
  }
  const header = records[headerIndex].cells;
  const columnAt = new Map<Column, number>();
  header.forEach((cell, index) => {
    const column = HEADERS[normalizeHeader(cell)];
    if (column && !columnAt.has(column)) columnAt.set(column, index);
  });

  const preamble = readPreamble(records.slice(0, headerIndex).map((r) => r.cells));
  const layout: StatementLayout = headerIndex > 0 || columnAt.has('reasonType') || columnAt.has('otherParty') ? 'legacy' : 'template';

  const problems: string[] = [];
  const lines: StatementLine[] = [];
  for (const record of records.slice(headerIndex + 1)) {
    const cell = (column: Column) => {
      const index = columnAt.get(column);
      return index === undefined ? '' : (record.cells[index] ?? '');
    };
    if (record.cells.every((c) => !c.trim())) continue;
    const receipt = cell('receipt').trim().toUpperCase();
    const problem = (what: string) => problems.length < MAX_PROBLEMS && problems.push(`line ${record.line}: ${what}`);
    if (!receipt) {
      // Footers ("Total", "Disclaimer…") have no receipt; a row with amounts but no receipt is a damaged row.
      if (cell('paidIn').trim() || cell('withdrawn').trim()) problem('a row with an amount but no receipt');
      continue;
    }
    if (FOOTER.test(receipt)) continue;
    if (!RECEIPT.test(receipt)) {
      problem(`'${receipt.slice(0, 24)}' is not an M-Pesa receipt`);
      continue;
    }
    const completedAt = parseStatementTime(cell('completedAt'));
    if (!completedAt) problem(`completion time '${cell('completedAt').slice(0, 32)}' is not a day-first date and time`);
    const paidIn = parseStatementAmount(cell('paidIn'));
    const withdrawn = parseStatementAmount(cell('withdrawn'));
    if (paidIn === undefined) problem(`'Paid In' '${cell('paidIn').slice(0, 24)}' is not an amount`);
    if (withdrawn === undefined) problem(`'Withdrawn' '${cell('withdrawn').slice(0, 24)}' is not an amount`);
    if (paidIn !== undefined && withdrawn !== undefined && paidIn !== 0 && withdrawn !== 0) {
      problem('both Paid In and Withdrawn are set');
    }
    if (paidIn !== undefined && paidIn < 0) problem("'Paid In' is negative");
    if (!completedAt || paidIn === undefined || withdrawn === undefined) continue;
    const details = collapse(cell('details'));
    const text = (column: Column) => collapse(cell(column)) || null;
    const balance = parseStatementAmount(cell('balance'));
    const raw: Record<string, string> = {};
    header.forEach((name, index) => {
      if (name.trim()) raw[collapse(name)] = record.cells[index] ?? '';
    });
    lines.push({
      lineNo: record.line,
      receipt,
      completedAt,
      initiatedAt: parseStatementTime(cell('initiatedAt')) ?? null,
      details,
      status: text('status'),
      paidIn,
      withdrawn: Math.abs(withdrawn),
      balance: cell('balance').trim() && balance !== undefined ? balance : null,
      reasonType: text('reasonType'),
      otherParty: text('otherParty'),
      linkedTransactionId: text('linkedTransactionId'),
      accountReference: cell('accountReference').trim() || accountFromDetails(details),
      raw,
    });
  }
  if (problems.length) {
    throw new StatementFormatError(`The statement has ${problems.length} unreadable row(s); nothing was imported`, problems);
  }
  if (!lines.length) throw new StatementFormatError('The statement has a header but no transactions');

  return { layout, ...preamble, lines, fingerprint: fingerprintOf(preamble.shortCode, preamble.period, lines) };
}

function readPreamble(rows: string[][]): Pick<ParsedStatement, 'shortCode' | 'period' | 'declaredTotals'> {
  let shortCode: string | null = null;
  let period: ParsedStatement['period'] = null;
  const declaredTotals: ParsedStatement['declaredTotals'] = { paidIn: null, withdrawn: null };
  const amountAfter = (label: string, joined: string) => {
    const m = new RegExp(`${label}:?\\s*(\\(?-?[\\d,]+(?:\\.\\d+)?\\)?)`, 'i').exec(joined);
    const value = m ? parseStatementAmount(m[1]) : undefined;
    return value === undefined ? null : Math.abs(value);
  };
  for (const cells of rows) {
    // Labels and values sit in neighbouring cells (`Short Code:` | `600000`); some copies put a row in one cell.
    const joined = collapse(cells.join(' '));
    const code = /short ?code:?\s*(\d{5,7})\b/i.exec(joined);
    if (code) shortCode = code[1];
    const window = /time period:?\s*from\s+(.+?)\s+to\s+(\S+(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?)/i.exec(joined);
    if (window) {
      const start = parseStatementTime(window[1]);
      const to = parseStatementTime(window[2]);
      // `To 05-11-2025 23:59:59` includes that second; `To 05-11-2025` includes that day. Periods end exclusive.
      const end = to && new Date(to.getTime() + (/:/.test(window[2]) ? 1000 : 86_400_000));
      if (start && end && start < end) period = { start, end };
    }
    if (/total paid in/i.test(joined)) declaredTotals.paidIn = amountAfter('total paid in', joined);
    if (/total withdrawn/i.test(joined)) declaredTotals.withdrawn = amountAfter('total withdrawn', joined);
  }
  return { shortCode, period, declaredTotals };
}

function fingerprintOf(shortCode: string | null, period: ParsedStatement['period'], lines: StatementLine[]): string {
  const rows = lines
    .map((l) => [l.receipt, l.completedAt.toISOString(), l.paidIn.toFixed(2), l.withdrawn.toFixed(2), l.details].join('|'))
    .sort();
  const head = [shortCode ?? '', period?.start.toISOString() ?? '', period?.end.toISOString() ?? ''].join('|');
  return createHash('sha256')
    .update([head, ...rows].join('\n'))
    .digest('hex');
}
