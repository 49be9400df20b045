import { MpesaLine, statementLines } from '../../src/reconciliation/reports/mpesa-lines';
import { IngestAttempt, ItemKind, reconcile, RecordedMoney, summarize } from '../../src/reconciliation/reports/reconcile';
import { parseStatement } from '../../src/reconciliation/statements/statement-parser';
import { statementFixture } from '../fixtures/daraja';

const at = new Date('2026-12-04T06:00:00Z');

function line(receipt: string, amount: number, extra: Partial<MpesaLine> = {}): MpesaLine {
  return {
    lineNo: null,
    receipt,
    direction: 'in',
    amount,
    occurredAt: at,
    category: 'payment',
    accountReference: 'LP7KQ2',
    party: '2547****149 - JOHN DOE',
    msisdn: '2547****149',
    payerName: 'JOHN DOE',
    transactionType: 'Pay Bill',
    details: null,
    raw: {},
    ...extra,
  };
}

function payment(id: string, receipt: string | null, amount: number, stk = false): RecordedMoney {
  return { type: 'payment', id, amount, status: 'completed', receipt, occurredAt: at, stk };
}

const byReceipt = (records: RecordedMoney[]) => new Map(records.filter((r) => r.receipt).map((r) => [r.receipt as string, r]));
const kinds = (items: { kind: ItemKind; line: MpesaLine | null; record: RecordedMoney | null }[]) =>
  items.map((i) => `${i.kind}:${i.line?.receipt ?? i.record?.id}`);

describe('reconcile', () => {
  it('names every line matched, mismatched or missing here, and every record of ours M-Pesa does not show', () => {
    const ours = [payment('p1', 'SKA0000001', 100), payment('p2', 'SKA0000002', 250), payment('p3', 'SKA0000003', 400)];
    const { items } = reconcile({
      lines: [line('SKA0000001', 100), line('SKA0000002', 200), line('SKA0000009', 50)],
      known: byReceipt(ours),
      expected: ours,
      stkListing: 'required',
    });
    expect(kinds(items)).toEqual(['matched:SKA0000001', 'amount_mismatch:SKA0000002', 'missing_here:SKA0000009', 'missing_at_mpesa:p3']);
    expect(items[1].record?.amount).toBe(250);
  });

  it('looks for a payment completed without a receipt as missing at M-Pesa (the receipt is what joins them)', () => {
    const { items } = reconcile({ lines: [], known: new Map(), expected: [payment('p1', null, 100)], stkListing: 'required' });
    expect(kinds(items)).toEqual(['missing_at_mpesa:p1']);
  });

  it('matches money out (payouts, reversals) and keeps charges and sweeps out of the differences', () => {
    const lines = statementLines(parseStatement(statementFixture('portal')).lines);
    const payout: RecordedMoney = {
      type: 'payout',
      id: 'b1',
      amount: 500,
      status: 'completed',
      receipt: 'SKE8H9J0K1',
      occurredAt: at,
      stk: false,
    };
    const reversal: RecordedMoney = {
      type: 'reversal',
      id: 'r1',
      amount: 300,
      status: 'completed',
      receipt: 'SKF2L3M4N5',
      occurredAt: at,
      stk: false,
    };
    const ours = [
      payment('p1', 'SKC1A2B3C4', 1500),
      payment('p2', 'SKD4E5F6G7', 2500),
      payment('p3', 'SKH1S2T3U4', 12345),
      payout,
      reversal,
    ];
    const { items } = reconcile({ lines, known: byReceipt(ours), expected: ours, stkListing: 'required' });
    const { counts, totals } = summarize(items);
    expect(counts).toMatchObject({
      matched: 5,
      missing_here: 1,
      charge: 1,
      internal: 2,
      missing_at_mpesa: 0,
      amount_mismatch: 0,
      unexplained: 1,
    });
    expect(items.find((i) => i.kind === ItemKind.MissingHere)?.line?.receipt).toBe('SKJ5V6W7X8');
    expect(totals).toEqual({ paidIn: 1000 + 12345 + 10000 + 2500 + 1500, withdrawn: 10000 + 300 + 500 + 15, charges: 15 });
  });

  describe('Pull, where listing STK payments is unverified', () => {
    const stk = payment('s1', 'SKS0000001', 100, true);
    const c2b = payment('c1', 'SKC0000001', 70);

    it('reports an STK payment Pull did not list as stk_not_listed while Pull listed none of ours, with a note', () => {
      const result = reconcile({ lines: [], known: new Map(), expected: [stk, c2b], stkListing: 'unverified' });
      expect(kinds(result.items)).toEqual(['stk_not_listed:s1', 'missing_at_mpesa:c1']);
      expect(result.notes[0]).toMatch(/Pull listed none of our 1 STK payment\(s\).*stk_not_listed, not as differences/);
    });

    it('takes an STK payment Pull recovered (attached to our push) as Pull listing STK payments', () => {
      const ingested = new Map<string, IngestAttempt>([['SKS0000009', { outcome: 'attached', paymentId: 's9', reviewIds: [] }]]);
      const result = reconcile({ lines: [line('SKS0000009', 50)], known: new Map(), expected: [stk], ingested, stkListing: 'unverified' });
      expect(kinds(result.items)).toEqual(['recovered:SKS0000009', 'missing_at_mpesa:s1']);
    });

    it('reports it missing at M-Pesa once Pull listed another STK payment of ours in the period', () => {
      const other = payment('s2', 'SKS0000002', 300, true);
      const result = reconcile({
        lines: [line('SKS0000002', 300)],
        known: byReceipt([other]),
        expected: [stk, other],
        stkListing: 'unverified',
      });
      expect(kinds(result.items)).toEqual(['matched:SKS0000002', 'missing_at_mpesa:s1']);
      expect(result.notes).toEqual([]);
    });
  });

  it('turns what IncomingPayments made of unknown lines into recovered, matched or flagged items', () => {
    const ingested = new Map<string, IngestAttempt>([
      ['SKN0000001', { outcome: 'created', paymentId: 'n1', reviewIds: ['rv1'] }],
      ['SKN0000002', { outcome: 'attached', paymentId: 'n2', reviewIds: [] }],
      ['SKN0000003', { outcome: 'duplicate', paymentId: 'n3', reviewIds: [] }],
      ['SKN0000004', { outcome: 'flagged', paymentId: null, reviewIds: ['rv2', 'rv3'] }],
      ['SKN0000005', { error: 'amount must be whole shillings' }],
    ]);
    const lines = [1, 2, 3, 4, 5].map((n) => line(`SKN000000${n}`, 10 * n));
    const { items } = reconcile({ lines, known: new Map(), expected: [], ingested, stkListing: 'unverified' });
    expect(items.map((i) => [i.kind, i.resolution ?? null, i.record?.id ?? null])).toEqual([
      ['recovered', 'recovered', 'n1'],
      ['recovered', 'recovered', 'n2'],
      ['matched', null, 'n3'],
      ['missing_here', 'flagged', null],
      ['missing_here', null, null],
    ]);
    expect(items[4].resolutionDetail).toEqual({ ingestError: 'amount must be whole shillings' });
    // The flagged one waits on the payments module's review; the failed one needs a review of ours.
    expect(summarize(items).counts).toMatchObject({ recovered: 2, matched: 1, missing_here: 2, unexplained: 1 });
  });

  it('compares amounts to the cent', () => {
    const ours = [payment('p1', 'SKA0000001', 100)];
    const { items } = reconcile({ lines: [line('SKA0000001', 100.004)], known: byReceipt(ours), expected: ours, stkListing: 'required' });
    expect(items[0].kind).toBe(ItemKind.Matched);
    const other = reconcile({ lines: [line('SKA0000001', 100.4)], known: byReceipt(ours), expected: ours, stkListing: 'required' });
    expect(other.items[0].kind).toBe(ItemKind.AmountMismatch);
  });
});
