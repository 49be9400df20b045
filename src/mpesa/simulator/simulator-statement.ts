import { darajaTimestamp } from '../daraja-time';
import { LedgerEntry, maskStatementMsisdn, signedCents } from './simulator-ledger';

/**
 * The ledger as the M-PESA org portal's newer CSV export shows it (docs/daraja.md §18.3): header in row 1, no
 * preamble, `dd/mm/yyyy HH:MM:SS` Kenya time, amounts as text with thousands separators and `0.00` instead of a
 * blank, newest row first, the running balance after each row. Safaricom publishes no format; what the simulator
 * models is listed in the README (simulator section).
 */

export const STATEMENT_HEADER = [
  'Receipt No',
  'Completion Time',
  'Details',
  'Transaction Status',
  'Paid In (KSHs)',
  'Withdrawn (KSHs)',
  'Balance (KSHs)',
] as const;

/** The narration of each B2C CommandID; only the first is attested (docs/daraja.md §8, §18.4), the others follow it. */
const B2C_NARRATIONS: Record<string, string> = {
  BusinessPayment: 'Business Payment to Customer via API',
  SalaryPayment: 'Salary Payment via API',
  PromotionPayment: 'Promotion Payment via API',
};

/** `2547****149 - JOHN DOE`, or the name alone when there is no number (a business payer). */
function party(entry: LedgerEntry): string {
  const masked = maskStatementMsisdn(entry.msisdn);
  return masked ? `${masked} - ${entry.name}` : entry.name;
}

const account = (entry: LedgerEntry) => (entry.accountReference ? ` Acc. ${entry.accountReference}` : '');

/** The `Details` column (docs/daraja.md §18.4); a control-set `details` wins. */
export function statementDetails(entry: LedgerEntry): string {
  if (entry.details !== undefined) return entry.details;
  const buyGoods = entry.transactionType === 'CustomerBuyGoodsOnline';
  switch (entry.kind) {
    case 'c2b':
      return buyGoods ? `Merchant Payment from ${party(entry)}` : `Pay Bill from ${party(entry)}${account(entry)}`;
    case 'stk':
      return buyGoods ? `Merchant Payment Online from ${party(entry)}` : `Pay Bill Online from ${party(entry)}${account(entry)}`;
    case 'b2c':
      return `${B2C_NARRATIONS[entry.transactionType] ?? B2C_NARRATIONS.BusinessPayment} to ${party(entry)}`;
    case 'reversal':
      return `Reversal of ${entry.originalReceipt ?? 'transaction'} to ${party(entry)}`;
    case 'charge':
      return 'Pay Bill Charge';
  }
}

/** `05/11/2025 14:03:22`: day first, Kenya time. */
export function statementTime(at: Date): string {
  const t = darajaTimestamp(at); // YYYYMMDDHHmmss
  return `${t.slice(6, 8)}/${t.slice(4, 6)}/${t.slice(0, 4)} ${t.slice(8, 10)}:${t.slice(10, 12)}:${t.slice(12, 14)}`;
}

/** `1,100.00`, `-1,500.00`, `0.00`: two decimals and thousands separators. */
export function kshText(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(Math.round(cents));
  const whole = Math.floor(abs / 100)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${whole}.${String(abs % 100).padStart(2, '0')}`;
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

const CRLF = '\r\n';

/**
 * The CSV of `rows` (any order), newest first. `openingCents` is the balance before the oldest row; each row's Balance
 * is the balance after it. Withdrawals are negative in `Withdrawn (KSHs)`, as the portal's debits are (§18.2).
 */
export function statementCsv(rows: readonly LedgerEntry[], openingCents: number): string {
  const ascending = [...rows].sort(
    (a, b) => Date.parse(a.completedAt) - Date.parse(b.completedAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  let balance = openingCents;
  const lines = ascending.map((entry) => {
    const cents = signedCents(entry);
    balance += cents;
    return [
      entry.receipt,
      statementTime(new Date(entry.completedAt)),
      statementDetails(entry),
      'Completed',
      kshText(cents > 0 ? cents : 0),
      kshText(cents < 0 ? cents : 0),
      kshText(balance),
    ]
      .map(csvField)
      .join(',');
  });
  return [STATEMENT_HEADER.join(','), ...lines.reverse()].join(CRLF) + CRLF;
}

/** `Statements for 174379 from 2026-12-01 to 2026-12-05.csv`, the newer template's name (Kenya dates). */
export function statementFileName(shortCode: string | undefined, from: Date, to: Date): string {
  const day = (at: Date) => {
    const t = darajaTimestamp(at);
    return `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}`;
  };
  return `Statements for ${shortCode ?? 'all shortcodes'} from ${day(from)} to ${day(to)}.csv`;
}
