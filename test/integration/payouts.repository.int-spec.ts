// PayoutsRepository on real Postgres: every state change is guarded by the states it may come from, so two workers
// (or a worker and a callback) never both move one payout; and the payment lock that keeps racing refunds within
// what was paid.
import { randomBytes } from 'node:crypto';
import { Database, Tx } from '../../src/database/database';
import { sql } from '../../src/database/sql';
import { Payment } from '../../src/payments/payment.entity';
import { PaymentStatus } from '../../src/payments/payment-status';
import { PaymentsRepository } from '../../src/payments/payments.repository';
import { Payout, PayoutStatus } from '../../src/payouts/payout.entity';
import { PayoutsRepository } from '../../src/payouts/payouts.repository';
import { count, insertPayment, insertPayout, insertRefund, IntegrationDb, openIntegrationDb, rowOf } from '../support/integration';

let pg: IntegrationDb;
let db: Database;
let payments: PaymentsRepository;
let payouts: PayoutsRepository;

beforeAll(async () => {
  pg = await openIntegrationDb();
  db = pg.db;
  payments = new PaymentsRepository(db);
  payouts = new PayoutsRepository(db);
});

afterAll(() => pg.close());

const statusOf = async (id: string) => (await rowOf(db, 'payouts', id)).status as PayoutStatus;
const ALL_STATUSES = Object.values(PayoutStatus);

describe(PayoutsRepository.name, () => {
  describe('claimForSending', () => {
    it('lets exactly one of 10 concurrent workers claim a pending payout', async () => {
      const payout = await insertPayout(db);

      const claims = await Promise.all(Array.from({ length: 10 }, () => payouts.claimForSending(payout.id)));

      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await rowOf(db, 'payouts', payout.id)).toMatchObject({ status: 'sending', version: payout.version + 1 });
    });

    it.each(ALL_STATUSES.filter((s) => s !== PayoutStatus.Pending))('claims nothing from %s', async (status) => {
      const payout = await insertPayout(db, status);

      expect(await payouts.claimForSending(payout.id)).toBe(false);
      expect(await statusOf(payout.id)).toBe(status);
    });
  });

  describe('markSubmitted', () => {
    it("records Daraja's ConversationID on a payout being sent", async () => {
      const payout = await insertPayout(db, PayoutStatus.Sending);

      expect(await payouts.markSubmitted(payout.id, 'AG_20240706_2010364430d9bbdaf872')).toBe(true);
      const row = await rowOf(db, 'payouts', payout.id);
      expect(row).toMatchObject({ status: 'submitted', conversation_id: 'AG_20240706_2010364430d9bbdaf872' });
      expect(row.submitted_at).toBeInstanceOf(Date);
    });

    it.each(ALL_STATUSES.filter((s) => s !== PayoutStatus.Sending))('refuses a payout in %s and changes nothing', async (status) => {
      const payout = await insertPayout(db, status);

      expect(await payouts.markSubmitted(payout.id, 'AG_20240707_201062f6f6f5804f7a33')).toBe(false);
      expect(await rowOf(db, 'payouts', payout.id)).toMatchObject({ status, conversation_id: null, submitted_at: null });
    });
  });

  describe('finish', () => {
    const FROM = [PayoutStatus.Sending, PayoutStatus.Submitted, PayoutStatus.Unknown];
    const PAID = {
      settledBy: 'result_callback',
      transactionId: null,
      resultCode: '0',
      resultDesc: 'The service request is processed successfully.',
    };
    const paid = () => ({ ...PAID, transactionId: `S${randomBytes(5).toString('hex').toUpperCase().slice(0, 9)}` });

    it.each(FROM)('completes a payout in %s, one of the given states, with its receipt', async (status) => {
      const payout = await insertPayout(db, status);
      const ending = paid();

      expect(await db.transaction((tx) => payouts.finish(tx, payout.id, FROM, PayoutStatus.Completed, ending))).toBe(true);
      const row = await rowOf(db, 'payouts', payout.id);
      expect(row).toMatchObject({
        status: 'completed',
        settled_by: 'result_callback',
        transaction_id: ending.transactionId,
        failed_at: null,
      });
      expect(row.completed_at).toBeInstanceOf(Date);
    });

    it.each(ALL_STATUSES.filter((s) => !FROM.includes(s)))('refuses a payout in %s, not among the given states', async (status) => {
      const payout = await insertPayout(db, status);

      expect(await db.transaction((tx) => payouts.finish(tx, payout.id, FROM, PayoutStatus.Failed, PAID))).toBe(false);
      expect(await rowOf(db, 'payouts', payout.id)).toMatchObject({ status, settled_by: null, failed_at: null });
    });

    it('ends a payout once: a result that arrives after another ended it changes nothing', async () => {
      const payout = await insertPayout(db, PayoutStatus.Submitted);
      const first = paid();
      await db.transaction((tx) => payouts.finish(tx, payout.id, FROM, PayoutStatus.Completed, first));

      const second = await db.transaction((tx) =>
        payouts.finish(tx, payout.id, FROM, PayoutStatus.Failed, { settledBy: 'transaction_status' }),
      );

      expect(second).toBe(false);
      expect(await rowOf(db, 'payouts', payout.id)).toMatchObject({ status: 'completed', transaction_id: first.transactionId });
    });
  });

  describe('committedRefundTotal under PaymentsRepository.lockForMoneyOut', () => {
    interface Decision {
      /** What committedRefundTotal said once the lock was held. */
      committedBefore: number;
      refund: Payout | null;
    }

    interface Hooks {
      /** Runs inside the transaction, before the lock. */
      beforeLock?: () => Promise<void>;
      /** Runs after the refund was written, before the commit. */
      whileHolding?: (tx: Tx) => Promise<void>;
    }

    /**
     * What PayoutRequestsService.requestRefund decides, in one transaction: lock the payment, sum what its refunds
     * already take, write the refund only if it fits.
     */
    function refundIfItFits(payment: Payment, amount: number, hooks: Hooks = {}): Promise<Decision> {
      return db.transaction(async (tx) => {
        await hooks.beforeLock?.();
        const locked = (await payments.lockForMoneyOut(tx, payment.id)) as Payment;
        const committedBefore = await payouts.committedRefundTotal(tx, payment.id);
        const refund = amount <= locked.amount - committedBefore ? await insertRefund(db, tx, locked, amount) : null;
        await hooks.whileHolding?.(tx);
        return { committedBefore, refund };
      });
    }

    const refundsOf = (paymentId: string) =>
      db.query<{ amount: number }>(sql`SELECT amount FROM payouts WHERE payment_id = ${paymentId} ORDER BY created_at`);

    it('lets only one of two racing refunds take the last shillings', async () => {
      const payment = await insertPayment(db, { amount: 1_000, status: PaymentStatus.Completed });
      const bothStarted = barrier(2); // both transactions are open before either asks for the lock

      const decisions = await Promise.all([
        refundIfItFits(payment, 600, { beforeLock: bothStarted }),
        refundIfItFits(payment, 600, { beforeLock: bothStarted }),
      ]);

      expect(decisions.filter((d) => d.refund !== null)).toHaveLength(1);
      expect(await refundsOf(payment.id)).toEqual([{ amount: 600 }]);
    });

    it("makes the second wait for the first's commit, and then see its refund", async () => {
      const payment = await insertPayment(db, { amount: 1_000, status: PaymentStatus.Completed });
      let holderPid = 0;
      let release: () => void = () => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      let holding: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (holding = resolve));

      const first = refundIfItFits(payment, 600, {
        whileHolding: async (tx) => {
          holderPid = ((await db.one<{ pid: number }>(sql`SELECT pg_backend_pid() AS pid`, tx)) as { pid: number }).pid;
          holding();
          await released;
        },
      });
      await held; // the first holds the lock and has written its refund, not yet committed
      const second = refundIfItFits(payment, 600);
      await waitUntilBlockedBy(holderPid);
      release();
      const [a, b] = await Promise.all([first, second]);

      expect(a).toMatchObject({ committedBefore: 0, refund: expect.objectContaining({ amount: 600 }) });
      expect(b).toEqual({ committedBefore: 600, refund: null });
      expect(await refundsOf(payment.id)).toEqual([{ amount: 600 }]);
    });
  });
});

/** A promise each of `n` callers awaits; it resolves once all `n` have called. */
function barrier(n: number): () => Promise<void> {
  let arrived = 0;
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return () => {
    if (++arrived === n) open();
    return opened;
  };
}

/** Waits until some session is blocked by backend `pid` (here: the second transaction's SELECT ... FOR UPDATE). */
async function waitUntilBlockedBy(pid: number, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await count(db, sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${pid}::int = ANY(pg_blocking_pids(pid))`)) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no session waited for backend ${pid}'s lock within ${timeoutMs} ms`);
}
