import type { PullQueryAnswer, PullTransaction } from '../../src/mpesa/daraja.client';
import { pullAllPages } from '../../src/reconciliation/pull/pull-pager';

// Pull's answers as DarajaClient.pullQuery hands them over (parsed from Daraja's JSON, ResponseCode undecided). The
// pager's source is a function of the offset, so each test plays one reading of OffSetValue (docs/daraja.md §17.6).

const transaction = (n: number): PullTransaction => ({
  transactionId: `SKP${String(n).padStart(7, '0')}`,
  trxDate: new Date(Date.UTC(2026, 11, 4, 6, 0, n)),
  msisdn: '2547****149',
  sender: 'JOHN DOE',
  transactionType: 'c2b-pay-bill-debit',
  billReference: 'LP7KQ2',
  amount: 100 + n,
  organizationName: 'LEGALPRO ADVOCATES',
});
const all = (count: number) => Array.from({ length: count }, (_, i) => transaction(i));

function answer(transactions: PullTransaction[], extra: Partial<PullQueryAnswer> = {}): PullQueryAnswer {
  return { responseCode: '1000', responseMessage: 'Success', transactions, unreadable: 0, totalPages: null, totalRecords: null, ...extra };
}
const noRecords = () => answer([], { responseCode: '1001', responseMessage: 'No records found or Organization Name not available' });

/** Daraja counting OffSetValue as a page index: offset n is rows n*size … (n+1)*size-1. */
function byPage(rows: PullTransaction[], size: number, totals = false, whenPastEnd: () => PullQueryAnswer = noRecords) {
  const asked: number[] = [];
  const fetch = async (offset: number) => {
    asked.push(offset);
    const page = rows.slice(offset * size, (offset + 1) * size);
    if (!page.length && offset > 0) return whenPastEnd();
    const pages = Math.ceil(rows.length / size);
    return answer(page, totals ? { totalPages: pages, totalRecords: rows.length } : {});
  };
  return { asked, fetch };
}

/** Daraja counting OffSetValue as a row offset: offset n is rows n … n+size-1. */
function byRow(rows: PullTransaction[], size: number) {
  const asked: number[] = [];
  const fetch = async (offset: number) => {
    asked.push(offset);
    const page = rows.slice(offset, offset + size);
    return page.length ? answer(page) : answer([]);
  };
  return { asked, fetch };
}

describe('pullAllPages', () => {
  it('walks page indexes when the second page is all new, and ends on 1001 past the last page', async () => {
    const source = byPage(all(250), 100);
    const paging = await pullAllPages(source.fetch, 50);
    expect(paging.outcome).toBe('succeeded');
    expect(paging.offsetReading).toBe('page');
    expect(source.asked).toEqual([0, 1, 2, 3]);
    expect(paging.transactions.map((t) => t.transactionId)).toEqual(all(250).map((t) => t.transactionId));
    expect(paging.pages.map((p) => [p.offset, p.responseCode, p.newTransactions])).toEqual([
      [0, '1000', 100],
      [1, '1000', 100],
      [2, '1000', 50],
      [3, '1001', 0],
    ]);
  });

  it('stops at TotalPages when Daraja sends it', async () => {
    const source = byPage(all(318), 100, true);
    const paging = await pullAllPages(source.fetch, 50);
    expect(source.asked).toEqual([0, 1, 2, 3]);
    expect(paging.transactions).toHaveLength(318);
  });

  it('switches to row offsets when the second page repeats the first, and reads every row once', async () => {
    const source = byRow(all(250), 100);
    const paging = await pullAllPages(source.fetch, 50);
    expect(paging.outcome).toBe('succeeded');
    expect(paging.offsetReading).toBe('row');
    // 0 → rows 0-99; probe 1 → rows 1-100 (one new); then from the rows seen: 101 → 101-200; 201 → 201-249; 250 → none.
    expect(source.asked).toEqual([0, 1, 101, 201, 250]);
    expect(new Set(paging.transactions.map((t) => t.transactionId)).size).toBe(250);
    expect(paging.transactions).toHaveLength(250);
  });

  it('asks once more and stops when everything fitted on the first page, whichever the reading', async () => {
    for (const source of [byPage(all(7), 100), byRow(all(7), 100)]) {
      const paging = await pullAllPages(source.fetch, 50);
      expect(paging.outcome).toBe('succeeded');
      expect(paging.transactions).toHaveLength(7);
      expect(source.asked).toEqual([0, 1]);
    }
  });

  it('takes an empty 1000 answer as a quiet window, plainly', async () => {
    const paging = await pullAllPages(async () => answer([]), 50);
    expect(paging).toMatchObject({ outcome: 'succeeded', transactions: [], error: null });
    expect(paging.pages).toHaveLength(1);
  });

  it('reports 1001 on the first page as ambiguous: a quiet window or a shortcode not set up for Pull', async () => {
    const paging = await pullAllPages(async () => noRecords(), 50);
    expect(paging.outcome).toBe('ambiguous');
    expect(paging.pages).toEqual([
      expect.objectContaining({ offset: 0, responseCode: '1001', responseMessage: 'No records found or Organization Name not available' }),
    ]);
  });

  it('fails on any other ResponseCode, even inside HTTP 200, keeping what earlier pages listed', async () => {
    const source = byPage(all(150), 100, false, () => answer([], { responseCode: '500.003.02', responseMessage: 'System is busy' }));
    const paging = await pullAllPages(source.fetch, 50);
    expect(paging.outcome).toBe('failed');
    expect(paging.error).toBe('Pull answered ResponseCode 500.003.02 (System is busy) at offset 2');
    expect(paging.transactions).toHaveLength(150);
  });

  it('fails when a page cannot be fetched, keeping what earlier pages listed', async () => {
    const paging = await pullAllPages(async (offset) => {
      if (offset === 1) throw new Error('timeout after 2500 ms');
      return answer(all(100));
    }, 50);
    expect(paging).toMatchObject({ outcome: 'failed', error: 'Pull query at offset 1 failed: timeout after 2500 ms' });
    expect(paging.transactions).toHaveLength(100);
  });

  it('stops at the page cap and says the window may hold more', async () => {
    const source = byPage(all(1000), 10);
    const paging = await pullAllPages(source.fetch, 5);
    expect(source.asked).toEqual([0, 1, 2, 3, 4]);
    expect(paging).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/Stopped after 5 pages \(PULL_MAX_PAGES\)/) });
    expect(paging.transactions).toHaveLength(50);
  });

  it('counts records it could not read and deduplicates within a page', async () => {
    const paging = await pullAllPages(
      async (offset) => (offset === 0 ? answer([transaction(1), transaction(1)], { unreadable: 2 }) : answer([])),
      50,
    );
    expect(paging.transactions).toHaveLength(1);
    expect(paging.unreadable).toBe(2);
  });
});
