import { MpesaLine } from './mpesa-lines';

export enum ItemKind {
  /** M-Pesa's line and our record agree (receipt and amount). */
  Matched = 'matched',
  /** Same receipt, another amount. */
  AmountMismatch = 'amount_mismatch',
  /** M-Pesa moved money the service has no record of. */
  MissingHere = 'missing_here',
  /** The service says money moved and M-Pesa, over the period it covers, does not show it. */
  MissingAtMpesa = 'missing_at_mpesa',
  /** M-Pesa's fee for a transaction. */
  Charge = 'charge',
  /** A sweep between the organisation's own accounts, or to its bank: no record of ours is expected. */
  Internal = 'internal',
  /** Missing here until this reconciliation recorded it (Pull: through the same path as a C2B confirmation). */
  Recovered = 'recovered',
  /** An STK payment of ours Pull did not list, while nothing shows Pull lists STK payments (docs/daraja.md §17.7). */
  StkNotListed = 'stk_not_listed',
  /** A line that moved nothing (its status is not Completed). */
  Ignored = 'ignored',
}

/** The differences a person must explain: each opens a review. */
export const UNEXPLAINED_KINDS: readonly ItemKind[] = [ItemKind.MissingHere, ItemKind.MissingAtMpesa, ItemKind.AmountMismatch];

export type RecordType = 'payment' | 'payout' | 'reversal';

/** A record of ours as reconciliation sees it. */
export interface RecordedMoney {
  type: RecordType;
  id: string;
  /** KES. */
  amount: number;
  status: string;
  receipt: string | null;
  /** When the money moved, by M-Pesa's clock where we have it. */
  occurredAt: Date | null;
  /** A payment asked for by STK push (it has a CheckoutRequestID). */
  stk: boolean;
}

/** What IncomingPayments made of a line unknown here, or why it could not take it. */
export type IngestAttempt =
  | { outcome: 'created' | 'attached' | 'receipt_recorded' | 'duplicate' | 'flagged'; paymentId: string | null; reviewIds: string[] }
  | { error: string };

export interface DraftItem {
  kind: ItemKind;
  direction: 'in' | 'out';
  line: MpesaLine | null;
  record: RecordedMoney | null;
  /** Set when the item needs no review of ours (recovered, or a review another module opened). */
  resolution?: 'recovered' | 'flagged';
  resolutionDetail?: Record<string, unknown>;
}

export interface ReconcileInput {
  lines: MpesaLine[];
  /** Our records holding the lines' receipts, by receipt. */
  known: Map<string, RecordedMoney>;
  /** Our records whose money moved inside the period M-Pesa's lines cover: each must be among the lines. */
  expected: RecordedMoney[];
  /** What was done with lines unknown here (the daily Pull reconciliation ingests them). */
  ingested?: Map<string, IngestAttempt>;
  /**
   * `unverified` (Pull): whether Pull lists STK payments is unknown, so an STK payment Pull does not list is a
   * difference only when Pull listed other STK payments of ours in the same period; `required` (statement): always.
   */
  stkListing: 'required' | 'unverified';
}

export interface ReconcileResult {
  items: DraftItem[];
  notes: string[];
}

const cents = (amount: number) => Math.round(amount * 100);

/** Pure: the same lines and records always give the same items (unit-tested). */
export function reconcile(input: ReconcileInput): ReconcileResult {
  const items: DraftItem[] = [];
  const notes: string[] = [];
  const shown = new Set<string>();
  let stkListed = false;

  for (const line of input.lines) {
    const base = { direction: line.direction, line };
    if (line.category === 'charge') {
      items.push({ ...base, kind: ItemKind.Charge, record: null });
      continue;
    }
    if (line.category === 'internal') {
      items.push({ ...base, kind: ItemKind.Internal, record: null });
      continue;
    }
    if (line.category === 'not_completed') {
      items.push({ ...base, kind: ItemKind.Ignored, record: null });
      continue;
    }
    shown.add(line.receipt);
    const record = input.known.get(line.receipt);
    if (record) {
      if (record.stk) stkListed = true;
      const kind = cents(record.amount) === cents(line.amount) ? ItemKind.Matched : ItemKind.AmountMismatch;
      items.push({ ...base, kind, record });
      continue;
    }
    const after = afterIngest(line, input.ingested?.get(line.receipt));
    // Recorded on one of our pushes: Pull listed an STK payment of ours.
    if (after.record?.stk) stkListed = true;
    items.push({ ...base, ...after });
  }

  let stkNotListed = 0;
  for (const record of input.expected) {
    if (record.receipt && shown.has(record.receipt)) continue;
    const direction = record.type === 'payment' ? 'in' : 'out';
    if (record.stk && input.stkListing === 'unverified' && !stkListed) {
      stkNotListed++;
      items.push({ kind: ItemKind.StkNotListed, direction, line: null, record });
    } else items.push({ kind: ItemKind.MissingAtMpesa, direction, line: null, record });
  }
  if (stkNotListed) {
    notes.push(
      `Pull listed none of our ${stkNotListed} STK payment(s) of the period and no other STK payment of ours: whether Pull lists ` +
        'STK payments is unverified, so they are reported as stk_not_listed, not as differences. Import the statement to settle them.',
    );
  }
  return { items, notes };
}

function afterIngest(
  line: MpesaLine,
  attempt: IngestAttempt | undefined,
): Pick<DraftItem, 'kind' | 'record' | 'resolution' | 'resolutionDetail'> {
  if (!attempt) return { kind: ItemKind.MissingHere, record: null };
  if ('error' in attempt) return { kind: ItemKind.MissingHere, record: null, resolutionDetail: { ingestError: attempt.error } };
  // `attached` and `receipt_recorded` land on one of our STK pushes; `created` makes a C2B payment.
  const stk = attempt.outcome === 'attached' || attempt.outcome === 'receipt_recorded';
  const record: RecordedMoney | null = attempt.paymentId
    ? {
        type: 'payment',
        id: attempt.paymentId,
        amount: line.amount,
        status: 'completed',
        receipt: line.receipt,
        occurredAt: line.occurredAt,
        stk,
      }
    : null;
  const detail = { outcome: attempt.outcome, paymentId: attempt.paymentId, reviewIds: attempt.reviewIds };
  switch (attempt.outcome) {
    case 'created':
    case 'attached':
    case 'receipt_recorded':
      return { kind: ItemKind.Recovered, record, resolution: 'recovered', resolutionDetail: detail };
    case 'duplicate':
      // Recorded meanwhile (a confirmation that arrived during the run): the same receipt, the same amount.
      return { kind: ItemKind.Matched, record };
    case 'flagged':
      // The payments module opened its own review (possible match, or another amount): the decision is made there.
      return { kind: ItemKind.MissingHere, record, resolution: 'flagged', resolutionDetail: detail };
  }
}

/** Counts per kind, and M-Pesa's totals (paid in, withdrawn, charges) over the lines. */
export function summarize(items: DraftItem[]): { counts: Record<string, number>; totals: Record<string, number> } {
  const counts: Record<string, number> = Object.fromEntries(Object.values(ItemKind).map((k) => [k, 0]));
  const totals = { paidIn: 0, withdrawn: 0, charges: 0 };
  for (const item of items) {
    counts[item.kind]++;
    if (!item.line) continue;
    if (item.kind === ItemKind.Charge) totals.charges += cents(item.line.amount);
    if (item.line.direction === 'in') totals.paidIn += cents(item.line.amount);
    else totals.withdrawn += cents(item.line.amount);
  }
  counts.unexplained = items.filter((i) => UNEXPLAINED_KINDS.includes(i.kind) && i.resolution !== 'flagged').length;
  return { counts, totals: { paidIn: totals.paidIn / 100, withdrawn: totals.withdrawn / 100, charges: totals.charges / 100 } };
}
