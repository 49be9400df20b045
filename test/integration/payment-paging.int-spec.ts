// Keyset paging of PaymentsRepository on real Postgres: the list's cursor pages and the sweep's pages each return
// every payment exactly once, in order, while other payments are being written, including payments that share a
// timestamp to the microsecond.
import { randomUUID } from 'node:crypto';
import { Database } from '../../src/database/database';
import { sql } from '../../src/database/sql';
import { PaymentStatus } from '../../src/payments/payment-status';
import { ListPosition, PaymentsRepository, SweepPosition } from '../../src/payments/payments.repository';
import { insertPayment, IntegrationDb, openIntegrationDb } from '../support/integration';

let pg: IntegrationDb;
let db: Database;
let payments: PaymentsRepository;

beforeAll(async () => {
  pg = await openIntegrationDb();
  db = pg.db;
  payments = new PaymentsRepository(db);
});

afterAll(() => pg.close());

/** A payment of `clientId` created at `createdAt` (microseconds kept), in `status`. */
async function paymentOf(clientId: string, createdAt: string, status = PaymentStatus.Completed): Promise<string> {
  const payment = await insertPayment(db, { status });
  await db.query(sql`UPDATE payments SET client_id = ${clientId}, created_at = ${createdAt}::timestamptz WHERE id = ${payment.id}`);
  return payment.id;
}

/** The ids in the list's order: newest first, then the larger id first. */
async function inListOrder(ids: string[]): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    sql`SELECT id FROM payments WHERE id = ANY(${ids}::uuid[]) ORDER BY created_at DESC, id DESC`,
  );
  return rows.map((r) => r.id);
}

describe('list with a cursor', () => {
  const clientId = `client-${randomUUID()}`;
  let expected: string[];
  let pages: string[][];
  let lastPage: Awaited<ReturnType<PaymentsRepository['list']>>;
  const insertedMeanwhile: string[] = [];

  beforeAll(async () => {
    const ids: string[] = [];
    // Three payments per microsecond-exact timestamp: only the id tells them apart.
    for (let i = 0; i < 7; i++) for (let j = 0; j < 3; j++) ids.push(await paymentOf(clientId, `2024-03-0${1 + i} 10:00:00.123456+00`));
    expected = await inListOrder(ids);

    pages = [];
    let after: ListPosition | undefined;
    for (let n = 0; n < 20; n++) {
      const page = await payments.list({ clientId, page: 1, limit: 4, after });
      pages.push(page.items.map((p) => p.id));
      // Payments keep arriving while the client pages: newer ones, and one at the very position of the cursor.
      insertedMeanwhile.push(await paymentOf(clientId, new Date().toISOString()));
      if (page.next) insertedMeanwhile.push(await paymentOf(clientId, page.next.createdAt));
      if (!page.next) {
        lastPage = page;
        break;
      }
      after = page.next;
    }
  });

  it('returns every payment that was there when paging began, once, in the list order', () => {
    const seen = pages.flat().filter((id) => !insertedMeanwhile.includes(id));
    expect(seen).toEqual(expected);
  });

  it('returns no payment twice', () => {
    const seen = pages.flat();
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('fills every page but the last', () => {
    expect(pages.slice(0, -1).every((page) => page.length === 4)).toBe(true);
  });

  it('says on the last page that none follows', () => {
    expect(lastPage.next).toBeNull();
  });

  it('counts the total exactly for a small list', async () => {
    const page = await payments.list({ clientId, page: 1, limit: 4 });
    expect({ total: page.total, totalIsEstimate: page.totalIsEstimate }).toEqual({
      total: expected.length + insertedMeanwhile.length,
      totalIsEstimate: false,
    });
  });

  it('pages by offset as before when no cursor is given', async () => {
    const all = await inListOrder([...expected, ...insertedMeanwhile]);
    const second = await payments.list({ clientId, page: 2, limit: 4 });
    expect(second.items.map((p) => p.id)).toEqual(all.slice(4, 8));
  });
});

describe('findPendingOlderThan, page by page', () => {
  // Pending payments initiated in 1950, before any other test's (payments.repository.int-spec.ts uses 1971): a
  // cutoff in 1950 sees only these.
  const at = (day: number, micros = '000000') => `1950-01-${String(day).padStart(2, '0')} 08:00:00.${micros}+00`;
  const CUTOFF = new Date(Date.UTC(1950, 1, 1));
  let expected: string[];
  let seen: string[];
  const insertedMeanwhile: string[] = [];

  async function pendingAt(initiatedAt: string): Promise<string> {
    const payment = await insertPayment(db);
    await db.query(sql`UPDATE payments SET initiated_at = ${initiatedAt}::timestamptz WHERE id = ${payment.id}`);
    return payment.id;
  }

  beforeAll(async () => {
    const ids: string[] = [];
    for (let day = 1; day <= 5; day++) for (let k = 0; k < 3; k++) ids.push(await pendingAt(at(day, '654321')));
    const rows = await db.query<{ id: string }>(sql`SELECT id FROM payments WHERE id = ANY(${ids}::uuid[]) ORDER BY initiated_at, id`);
    expected = rows.map((r) => r.id);

    seen = [];
    let after: SweepPosition | undefined;
    for (let n = 0; n < 20; n++) {
      const page = await payments.findPendingOlderThan(CUTOFF, 4, after);
      seen.push(...page.map((p) => p.id));
      if (page.length < 4) break;
      after = page[page.length - 1].position;
      // A payment that starts meanwhile, and one initiated before the position reached: neither makes a row repeat.
      insertedMeanwhile.push(await pendingAt(at(20)), await pendingAt(at(1, '000001')));
    }
  });

  // Settled afterwards: files that run later on the same database (payments.repository.int-spec.ts, 1971) take every
  // pending payment older than their cutoff, and 1950 is older.
  afterAll(() => db.query(sql`UPDATE payments SET status = 'cancelled' WHERE status = 'pending' AND initiated_at < ${CUTOFF}`));

  it('returns every pending payment once, oldest first', () => {
    expect(seen.filter((id) => !insertedMeanwhile.includes(id))).toEqual(expected);
  });

  it('returns no payment twice', () => {
    expect(new Set(seen).size).toBe(seen.length);
  });
});
