// Reconciliation's tables on real Postgres: Pull runs leave `running` once, reports are never made twice from one
// statement, a difference seen in two reports shares one review, and the read-only questions to payments, payouts and
// reversals find what money moved when. Other tests run beside these on the same database: each uses its own
// shortcode, receipts and period.
import { randomBytes, randomUUID } from 'node:crypto';
import { Database } from '../../src/database/database';
import { sql } from '../../src/database/sql';
import { PaymentStatus } from '../../src/payments/payment-status';
import { PayoutStatus } from '../../src/payouts/payout.entity';
import { PullRunResult, PullRunsRepository } from '../../src/reconciliation/pull/pull-runs.repository';
import { ItemKind } from '../../src/reconciliation/reports/reconcile';
import { RecordedMoneyReader } from '../../src/reconciliation/reports/recorded-money.reader';
import { NewItem, NewReport, ReportsRepository } from '../../src/reconciliation/reports/reports.repository';
import { ReviewEntity, ReviewReason } from '../../src/reviews/review.entity';
import { ReviewsRepository } from '../../src/reviews/reviews.repository';
import { count, insertPayment, insertPayout, IntegrationDb, openIntegrationDb } from '../support/integration';

let pg: IntegrationDb;
let db: Database;
let runs: PullRunsRepository;
let reports: ReportsRepository;
let reader: RecordedMoneyReader;

beforeAll(async () => {
  pg = await openIntegrationDb();
  db = pg.db;
  runs = new PullRunsRepository(db);
  reports = new ReportsRepository(db);
  reader = new RecordedMoneyReader(db);
});

afterAll(() => pg.close());

const shortCode = () => String(1_000_000 + Math.floor(Math.random() * 8_999_999)).slice(0, 7);
const receipt = () => `SK${randomBytes(4).toString('hex').toUpperCase()}`;
const HOUR = 3_600_000;

const succeeded = (extra: Partial<PullRunResult> = {}): PullRunResult => ({
  status: 'succeeded',
  pages: [
    { offset: 0, responseCode: '1000', responseMessage: 'Success', transactions: 2, newTransactions: 2, totalPages: 1, totalRecords: 2 },
  ],
  transactionsSeen: 2,
  alreadyKnown: 1,
  ingested: 1,
  recovered: 1,
  flagged: 0,
  unreadable: 0,
  offsetReading: null,
  errors: [],
  recoveredReceipts: [{ receipt: 'SKA0000001', outcome: 'created', paymentId: randomUUID() }],
  paymentsRecordedInWindow: null,
  note: null,
  ...extra,
});

describe(PullRunsRepository.name, () => {
  it('records a run once: a second finish changes nothing', async () => {
    const code = shortCode();
    const run = await runs.start({
      trigger: 'manual',
      shortCode: code,
      windowStart: new Date(Date.now() - HOUR),
      windowEnd: new Date(),
      requestedBy: 'admin-1',
    });
    expect(run).toMatchObject({ status: 'running', pages: 0, finishedAt: null, requestedBy: 'admin-1', responseCodes: [], errors: [] });

    const finished = await db.transaction((tx) => runs.finish(tx, run.id, succeeded()));
    expect(finished).toMatchObject({ status: 'succeeded', pages: 1, transactionsSeen: 2, alreadyKnown: 1, ingested: 1, recovered: 1 });
    expect(finished?.responseCodes[0]).toMatchObject({ responseCode: '1000', totalRecords: 2 });
    expect(finished?.finishedAt).toBeInstanceOf(Date);

    expect(await db.transaction((tx) => runs.finish(tx, run.id, succeeded({ status: 'failed', errors: ['late'] })))).toBeUndefined();
    expect((await runs.findById(run.id))?.status).toBe('succeeded');
  });

  it('starts the next window where the last succeeded run of the shortcode ended (not a failed or daily one)', async () => {
    const code = shortCode();
    expect(await runs.lastSucceededEnd(code)).toBeNull();
    const ends = [new Date(Date.now() - 3 * HOUR), new Date(Date.now() - 2 * HOUR), new Date(Date.now() - HOUR)];
    const finish = async (end: Date, trigger: 'scheduled' | 'daily', result: PullRunResult) => {
      const run = await runs.start({
        trigger,
        shortCode: code,
        windowStart: new Date(end.getTime() - HOUR),
        windowEnd: end,
        requestedBy: 'w',
      });
      await db.transaction((tx) => runs.finish(tx, run.id, result));
    };
    await finish(ends[0], 'scheduled', succeeded());
    await finish(ends[1], 'scheduled', succeeded({ status: 'failed' }));
    await finish(ends[2], 'daily', succeeded());
    expect(await runs.lastSucceededEnd(code)).toEqual(ends[0]);
  });

  it('closes runs whose process stopped an hour ago, and only those', async () => {
    const code = shortCode();
    const start = () =>
      runs.start({
        trigger: 'scheduled',
        shortCode: code,
        windowStart: new Date(Date.now() - HOUR),
        windowEnd: new Date(),
        requestedBy: 'w',
      });
    const [stale, live] = [await start(), await start()];
    await db.query(sql`UPDATE pull_runs SET started_at = now() - interval '61 minutes' WHERE id = ${stale.id}`);

    expect(await runs.closeAbandoned()).toBeGreaterThanOrEqual(1);
    expect(await runs.findById(stale.id)).toMatchObject({
      status: 'failed',
      errors: ['Abandoned: the process running it stopped before it finished'],
    });
    expect((await runs.findById(live.id))?.status).toBe('running');
  });

  it('lists newest first, filtered by status and paged', async () => {
    const [items, total] = await runs.list({ status: 'succeeded', page: 1, limit: 2 });
    expect(items.length).toBeLessThanOrEqual(2);
    expect(total).toBeGreaterThanOrEqual(items.length);
    expect(items.every((r) => r.status === 'succeeded')).toBe(true);
    if (items.length === 2) expect(items[0].startedAt.getTime()).toBeGreaterThanOrEqual(items[1].startedAt.getTime());
  });
});

describe(ReportsRepository.name, () => {
  const newReport = (fingerprint = randomBytes(32).toString('hex')): NewReport => ({
    kind: 'statement',
    fingerprint,
    shortCode: '174379',
    periodStart: new Date('2026-12-03T21:00:00Z'),
    periodEnd: new Date('2026-12-04T21:00:00Z'),
    periodSource: 'statement',
    layout: 'legacy',
    pullRunId: null,
    rowsRead: 3,
    counts: { matched: 1, missing_here: 1 },
    totals: { paidIn: 1500 },
    notes: [],
    createdBy: 'admin-1',
  });
  const item = (kind: ItemKind, r: string | null, extra: Partial<NewItem> = {}): NewItem => ({
    kind,
    direction: 'in',
    lineNo: 8,
    receipt: r,
    amount: 1500,
    recordedAmount: null,
    occurredAt: new Date('2026-12-04T05:15:02Z'),
    accountReference: 'LP7KQ2',
    party: '2547****149 - JOHN DOE',
    transactionType: 'Pay Utility',
    details: 'Pay Bill from 2547****149 - JOHN DOE Acc. LP7KQ2',
    recordType: null,
    recordId: null,
    recordStatus: null,
    resolution: null,
    resolutionDetail: null,
    raw: { 'Receipt No.': r },
    ...extra,
  });

  it('writes a statement once: the same fingerprint finds no second report', async () => {
    const report = newReport();
    const first = await db.transaction((tx) => reports.insertReport(tx, report));
    expect(first).toMatchObject({ kind: 'statement', rowsRead: 3, counts: { matched: 1, missing_here: 1 }, notes: [] });
    expect(await db.transaction((tx) => reports.insertReport(tx, report))).toBeNull();
    expect(await reports.findReportByFingerprint('statement', report.fingerprint)).toMatchObject({ id: first?.id });
    // The same fingerprint is another report's business under another kind (a day of Pull).
    expect(await db.transaction((tx) => reports.insertReport(tx, { ...report, kind: 'pull_daily' }))).not.toBeNull();
  });

  it('keeps items in order, amounts as numbers, and lists them by kind', async () => {
    const r1 = receipt();
    const written = await db.transaction(async (tx) => {
      const report = await reports.insertReport(tx, newReport());
      const items = await reports.insertItems(tx, report!.id, [
        item(ItemKind.Matched, r1, { amount: 1500.5, recordedAmount: 1500, raw: null }),
        item(ItemKind.MissingHere, receipt()),
        item(ItemKind.Recovered, receipt(), { resolution: 'recovered', resolutionDetail: { outcome: 'created' } }),
      ]);
      return { report: report!, items };
    });
    expect(written.items.map((i) => i.kind)).toEqual(['matched', 'missing_here', 'recovered']);
    expect(written.items[0]).toMatchObject({ receipt: r1, amount: 1500.5, recordedAmount: 1500, resolvedAt: null });
    expect(written.items[2].resolvedAt).toBeInstanceOf(Date);

    const [missing, total] = await reports.listItems({ reportId: written.report.id, kind: ItemKind.MissingHere, page: 1, limit: 10 });
    expect(total).toBe(1);
    expect(missing[0]).toMatchObject({ kind: 'missing_here', party: '2547****149 - JOHN DOE' });
  });

  it('joins a difference seen again to its first review, and resolves every item that shares it', async () => {
    const r = receipt();
    const reviews = new ReviewsRepository(db);
    const first = await db.transaction(async (tx) => {
      const report = await reports.insertReport(tx, newReport());
      const [missing] = await reports.insertItems(tx, report!.id, [item(ItemKind.MissingHere, r)]);
      // The widened CHECK lets a review be about a reconciliation item.
      const review = await reviews.open(tx, {
        entityType: ReviewEntity.ReconciliationItem,
        entityId: missing.id,
        reason: ReviewReason.MissingHere,
        evidence: { receipt: r },
        fingerprint: `missing_here:${r}`,
        openedBy: 'admin-1',
      });
      await reports.attachReview(tx, missing.id, review!.id);
      return { report: report!, item: missing, reviewId: review!.id };
    });
    expect(await reports.openDifferences(first.report.id)).toBe(1);

    const second = await db.transaction(async (tx) => {
      const report = await reports.insertReport(tx, newReport());
      const [again] = await reports.insertItems(tx, report!.id, [item(ItemKind.MissingHere, r)]);
      const earlier = await reports.earlierReview(tx, ItemKind.MissingHere, { receipt: r, recordId: null });
      await reports.attachReview(tx, again.id, earlier!);
      // Another kind of difference on the same receipt is another review's business.
      expect(await reports.earlierReview(tx, ItemKind.AmountMismatch, { receipt: r, recordId: null })).toBeNull();
      return { report: report!, item: again, earlier };
    });
    expect(second.earlier).toBe(first.reviewId);

    const resolved = await db.transaction((tx) => reports.resolveByReview(tx, first.reviewId, 'dismissed', { reviewId: first.reviewId }));
    expect(resolved).toBe(2);
    expect(await reports.findItem(second.item.id)).toMatchObject({ resolution: 'dismissed', reviewId: first.reviewId });
    expect(await reports.openDifferences(first.report.id)).toBe(0);
    expect(await db.transaction((tx) => reports.resolveByReview(tx, first.reviewId, 'recorded', {}))).toBe(0);
    expect(
      await count(
        db,
        sql`SELECT count(*)::int AS n FROM reviews WHERE entity_type = 'reconciliation_item' AND entity_id = ${first.item.id}`,
      ),
    ).toBe(1);
  });

  it('finds an earlier missing_at_mpesa by the record, not the receipt', async () => {
    const recordId = randomUUID();
    const reviewId = randomUUID();
    await db.transaction(async (tx) => {
      const report = await reports.insertReport(tx, newReport());
      const [missing] = await reports.insertItems(tx, report!.id, [
        item(ItemKind.MissingAtMpesa, null, { recordType: 'payment', recordId, amount: null, recordedAmount: 100 }),
      ]);
      await reports.attachReview(tx, missing.id, reviewId);
    });
    expect(await db.transaction((tx) => reports.earlierReview(tx, ItemKind.MissingAtMpesa, { receipt: null, recordId }))).toBe(reviewId);
  });
});

describe(RecordedMoneyReader.name, () => {
  it('says which payments, payouts and reversals hold receipts, and whether a payment was an STK push', async () => {
    const [stkReceipt, c2bReceipt, payoutReceipt] = [receipt(), receipt(), receipt()];
    const stk = await insertPayment(db, {
      status: PaymentStatus.Completed,
      receipt: stkReceipt,
      checkoutRequestId: `ws_CO_${randomUUID()}`,
    });
    const c2b = await insertPayment(db, { status: PaymentStatus.Completed, receipt: c2bReceipt, amount: 70 });
    const payout = await insertPayout(db, PayoutStatus.Completed);
    await db.query(sql`UPDATE payouts SET transaction_id = ${payoutReceipt} WHERE id = ${payout.id}`);

    const payments = await reader.paymentsByReceipt([stkReceipt, c2bReceipt, payoutReceipt, 'SKNOTOURS0']);
    expect([...payments.keys()].sort()).toEqual([stkReceipt, c2bReceipt].sort());
    expect(payments.get(stkReceipt)).toMatchObject({ type: 'payment', id: stk.id, stk: true, status: 'completed' });
    expect(payments.get(c2bReceipt)).toMatchObject({ id: c2b.id, amount: 70, stk: false });

    const out = await reader.moneyOutByReceipt([payoutReceipt, stkReceipt]);
    expect([...out.values()]).toEqual([expect.objectContaining({ type: 'payout', id: payout.id, receipt: payoutReceipt })]);
  });

  it("finds the money that moved in a period by M-Pesa's clock, paid statuses only", async () => {
    // A period of its own, far from other tests' rows: a day in 2031.
    const from = new Date(`2031-0${1 + Math.floor(Math.random() * 9)}-1${Math.floor(Math.random() * 9)}T00:00:00Z`);
    const inside = new Date(from.getTime() + HOUR);
    const paid = await insertPayment(db, { status: PaymentStatus.Completed, receipt: receipt() });
    const refunded = await insertPayment(db, { status: PaymentStatus.Completed, receipt: receipt() });
    const unpaid = await insertPayment(db, { status: PaymentStatus.Expired });
    const outside = await insertPayment(db, { status: PaymentStatus.Completed, receipt: receipt() });
    for (const [p, at] of [
      [paid, inside],
      [refunded, inside],
      [unpaid, inside],
      [outside, new Date(from.getTime() + 30 * HOUR)],
    ] as const) {
      await db.query(sql`UPDATE payments SET transaction_date = ${at}, created_at = ${at} WHERE id = ${p.id}`);
    }
    await db.query(sql`UPDATE payments SET status = 'refunded' WHERE id = ${refunded.id}`);
    const payout = await insertPayout(db, PayoutStatus.Completed);
    await db.query(
      sql`UPDATE payouts SET transaction_id = ${receipt()}, completed_at = ${inside}, created_at = ${inside} WHERE id = ${payout.id}`,
    );

    const to = new Date(from.getTime() + 24 * HOUR);
    const payments = await reader.paymentsPaidBetween(from, to);
    expect(payments.map((p) => p.id).sort()).toEqual([paid.id, refunded.id].sort());
    expect(await reader.paymentsCountBetween(from, to)).toEqual({ c2b: 2, stk: 0 });
    expect((await reader.moneyOutBetween(from, to)).map((r) => r.id)).toEqual([payout.id]);
  });
});
