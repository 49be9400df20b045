import type { PullTransaction } from '../../mpesa/daraja.client';
import { StatementFormatError, StatementLine } from '../statements/statement-parser';

/**
 * What a line of M-Pesa's record is, for reconciliation:
 * - `payment`: money a customer paid us, or money we paid out (B2C, reversal): it must match a record of ours;
 * - `charge`: M-Pesa's fee, sharing the receipt of the payment it charges (`Pay Bill Charge`, `Fee For B2C Payment`);
 * - `internal`: the organisation's own sweeps between its accounts and to its bank (a Paid In / Withdrawn pair with
 *   one receipt, or a narration such as `Utility Account to Organization Settlement Account`): no record of ours;
 * - `not_completed`: a row whose Transaction Status is not `Completed`: nothing moved.
 */
export type LineCategory = 'payment' | 'charge' | 'internal' | 'not_completed';

/** One movement M-Pesa reports, from a statement row or a Pull transaction. */
export interface MpesaLine {
  /** The statement's line, or null for Pull. */
  lineNo: number | null;
  receipt: string;
  direction: 'in' | 'out';
  /** KES, positive. */
  amount: number;
  occurredAt: Date;
  category: LineCategory;
  accountReference: string | null;
  /** The other party as M-Pesa shows it: a masked number and a name, or a shortcode and an organisation. */
  party: string | null;
  msisdn: string | null;
  payerName: string | null;
  transactionType: string | null;
  details: string | null;
  raw: Record<string, unknown>;
}

const CHARGE = /\bcharges?\b|\bfees?\b/i;
const INTERNAL =
  /settlement account|mmf account|working account|utility account to|funds transfer|withdrawal of funds to bank|organization settlement/i;

/** `2547****123 - JANE DOE` → its number and name as shown (masked: never matched on). */
export function splitParty(party: string | null): { msisdn: string | null; name: string | null } {
  if (!party) return { msisdn: null, name: null };
  const [first, ...rest] = party.split(' - ');
  const name = rest.join(' - ').trim() || null;
  return /\d/.test(first) ? { msisdn: first.trim() || null, name } : { msisdn: null, name: party.trim() || null };
}

function partyFromDetails(details: string): string | null {
  const m = /\b(?:from|to)\s+(.+?)(?:\s+Acc(?:ount)?\.?\s.*)?$/i.exec(details);
  return m ? m[1].trim() || null : null;
}

/** Sorts the statement's rows into lines and categories; refuses a statement that lists a payment twice. */
export function statementLines(rows: StatementLine[]): MpesaLine[] {
  const lines = rows.map((row): MpesaLine => {
    const direction = row.paidIn > 0 ? 'in' : 'out';
    const narration = `${row.reasonType ?? ''} ${row.details}`;
    let category: LineCategory = 'payment';
    if (row.status && !/^completed$/i.test(row.status)) category = 'not_completed';
    else if (direction === 'out' && CHARGE.test(narration)) category = 'charge';
    else if (INTERNAL.test(narration)) category = 'internal';
    const party = row.otherParty ?? partyFromDetails(row.details);
    const { msisdn, name } = splitParty(party);
    return {
      lineNo: row.lineNo,
      receipt: row.receipt,
      direction,
      amount: direction === 'in' ? row.paidIn : row.withdrawn,
      occurredAt: row.completedAt,
      category,
      accountReference: row.accountReference,
      party,
      msisdn,
      payerName: name,
      transactionType: row.reasonType ?? (row.details.split(/\s+(?:from|to)\s+/i)[0] || null),
      details: row.details || null,
      raw: row.raw,
    };
  });

  // A sweep is one receipt paid in to one account and withdrawn from another: neither half is a customer's payment.
  const byReceipt = new Map<string, MpesaLine[]>();
  for (const line of lines) {
    if (line.category !== 'payment') continue;
    byReceipt.set(line.receipt, [...(byReceipt.get(line.receipt) ?? []), line]);
  }
  const repeated: string[] = [];
  for (const [receipt, group] of byReceipt) {
    const ins = group.filter((l) => l.direction === 'in');
    const outs = group.filter((l) => l.direction === 'out');
    if (ins.length && outs.length) for (const line of group) line.category = 'internal';
    else if (group.length > 1) repeated.push(`${receipt} (lines ${group.map((l) => l.lineNo).join(', ')})`);
  }
  if (repeated.length) {
    throw new StatementFormatError('The statement lists a receipt twice as a payment; nothing was imported', repeated.slice(0, 20));
  }
  return lines;
}

/** Pull lists C2B payments to the shortcode only (docs/daraja.md §17.7): every line is money in. */
export function pullLines(transactions: PullTransaction[]): MpesaLine[] {
  return transactions.map((t) => ({
    lineNo: null,
    receipt: t.transactionId,
    direction: 'in',
    amount: t.amount,
    occurredAt: t.trxDate,
    category: 'payment',
    accountReference: t.billReference,
    party: [t.msisdn, t.sender].filter(Boolean).join(' - ') || null,
    msisdn: t.msisdn || null,
    payerName: t.sender,
    transactionType: t.transactionType || null,
    details: t.organizationName,
    raw: { ...t, trxDate: t.trxDate.toISOString() },
  }));
}
