// Model-based test: fast-check draws sequences of what clients, Daraja and the infrastructure do (create, duplicate
// create, callbacks, duplicate and late callbacks, status queries, refunds, a worker's crash, a Redis flush) and runs
// them against the real API, workers, Postgres and Redis; after every step the money invariants must hold, and each
// answer must agree with a small model of the payment.
//
// Budget: MODEL_RUNS (3) runs of MODEL_STEPS (10) steps; `npm run test:model -- --runs 20` runs more. A failure prints
// its seed and path: `MODEL_SEED=<seed> MODEL_PATH=<path> npm run test:model` replays exactly that run.
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { api, db, sim, uniquePhone } from '../support/app';
import {
  latestSimulatedPush,
  newClient,
  postCallback,
  pushStk,
  sleep,
  SimulatedTransaction,
  stkPushBody,
  stkSuccessCallback,
  TestUser,
} from '../support/factories';
import { stkFailureCallback } from '../fixtures/daraja';
import { FaultFleet } from '../support/fault-fleet';
import { FaultDriver, record, timeUntil } from '../support/fault-load';
import { flushRedis, simulatorRedisSupported } from '../support/fault-servers';

const RUNS = Number(process.env.MODEL_RUNS ?? 3);
const STEPS = Number(process.env.MODEL_STEPS ?? 10);
const SEED = process.env.MODEL_SEED ? Number(process.env.MODEL_SEED) : undefined;
const PATH = process.env.MODEL_PATH || undefined;

type Verdict = 'success' | 'fail';

/** What the model knows of one payment it created. */
interface ModelPayment {
  body: Record<string, unknown>;
  key: string;
  client: TestUser;
  phone: string;
  paymentId?: string;
  /** The first verdict posted while the row was pending: the one that must stick. */
  verdict?: Verdict;
  lastCallback?: { url: string; body: unknown };
}

interface RunState {
  payments: ModelPayment[];
  log: string[];
}

type Action =
  | { kind: 'create' }
  | { kind: 'duplicateCreate'; target: number }
  | { kind: 'callback'; target: number; verdict: Verdict }
  | { kind: 'duplicateCallback'; target: number }
  | { kind: 'lateCallback'; target: number }
  | { kind: 'statusQuery'; target: number }
  | { kind: 'refund'; target: number }
  | { kind: 'crashWorker'; worker: number }
  | { kind: 'flushRedis' };

const target = fc.nat({ max: 1_000 });
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Action>({ kind: 'create' }) },
  { weight: 2, arbitrary: target.map<Action>((t) => ({ kind: 'duplicateCreate', target: t })) },
  {
    weight: 4,
    arbitrary: fc.record({ t: target, v: fc.constantFrom<Verdict>('success', 'success', 'fail') }).map<Action>(({ t, v }) => ({
      kind: 'callback',
      target: t,
      verdict: v,
    })),
  },
  { weight: 2, arbitrary: target.map<Action>((t) => ({ kind: 'duplicateCallback', target: t })) },
  { weight: 1, arbitrary: target.map<Action>((t) => ({ kind: 'lateCallback', target: t })) },
  { weight: 2, arbitrary: target.map<Action>((t) => ({ kind: 'statusQuery', target: t })) },
  { weight: 2, arbitrary: target.map<Action>((t) => ({ kind: 'refund', target: t })) },
  { weight: 1, arbitrary: fc.nat({ max: 1 }).map<Action>((w) => ({ kind: 'crashWorker', worker: w })) },
  { weight: 1, arbitrary: fc.constant<Action>({ kind: 'flushRedis' }) },
);

let fleet: FaultFleet;
let driver: FaultDriver;
let client: TestUser;

beforeAll(async () => {
  fleet = await FaultFleet.start('model', {
    overrides: {
      // The model decides outcomes by the callbacks it posts: the sweep waits 30 s before asking Daraja, and a
      // payment is given up only after 90 s, both beyond a run.
      STATUS_QUERY_MIN_AGE_MS: '30000',
      PAYMENT_MAX_PENDING_MS: '90000',
    },
  });
  driver = new FaultDriver(fleet);
  client = newClient();
  if (!simulatorRedisSupported()) driver.simulatorMemory = false;
  // Daraja's own STK callbacks are off: every STK callback is one the model posts. Results (balance, B2C) still come,
  // or a refund would wait for its balance check forever.
  expect((await sim('/callbacks', { method: 'POST', body: { enabled: false, only: 'stk' } })).status).toBe(200);
});

afterAll(async () => {
  await fleet?.stop();
});

async function row(paymentId: string): Promise<Record<string, any>> {
  const { rows } = await db().query('SELECT status, settled_by, refunded_amount, amount FROM payments WHERE id = $1', [paymentId]);
  return rows[0];
}

function pick(state: RunState, t: number): ModelPayment | undefined {
  const known = state.payments.filter((p) => p.paymentId);
  return known.length ? known[t % known.length] : undefined;
}

/** The simulator's record of the push, when "Daraja" took it (a push answered 202 may never have reached it). */
async function darajaRecord(p: ModelPayment): Promise<SimulatedTransaction | undefined> {
  try {
    return await latestSimulatedPush(p.phone, fleet.url);
  } catch {
    return undefined;
  }
}

function callbackBody(t: SimulatedTransaction, verdict: Verdict): unknown {
  return verdict === 'success'
    ? stkSuccessCallback(t)
    : stkFailureCallback({ merchantRequestId: t.merchantRequestId, checkoutRequestId: t.checkoutRequestId });
}

const PAID = ['completed', 'partially_refunded', 'refunded'];

/** The row must say what the model expects: the first verdict posted while pending, else pending (or a query's). */
async function expectModelStatus(p: ModelPayment): Promise<void> {
  const r = await row(p.paymentId as string);
  if (r.settled_by === 'status_query') return; // the sweep asked Daraja first (a slow run): its answer is the verdict
  if (!p.verdict && r.status !== 'pending') {
    // Daraja's own callback got there first (its "callbacks off" switch lives in the Redis a flush empties, until the
    // simulator has a Redis of its own): its verdict is the one that must stick from now on.
    if (PAID.includes(r.status)) p.verdict = 'success';
    else if (r.status === 'cancelled') p.verdict = 'fail';
    else return; // given up (expired) or another verdict of Daraja's: nothing the model decided
  }
  if (p.verdict === 'success') expect({ id: p.paymentId, status: PAID.includes(r.status) }).toEqual({ id: p.paymentId, status: true });
  else if (p.verdict === 'fail') expect({ id: p.paymentId, status: r.status }).toEqual({ id: p.paymentId, status: 'cancelled' });
  else expect({ id: p.paymentId, status: r.status }).toEqual({ id: p.paymentId, status: 'pending' });
}

async function postVerdict(p: ModelPayment, verdict: Verdict): Promise<void> {
  const t = await darajaRecord(p);
  if (!t) return;
  const before = await row(p.paymentId as string);
  const body = callbackBody(t, verdict);
  const res = await postCallback(t.callbackUrl, body, {}, { baseUrl: fleet.url });
  expect(res.status).toBe(200);
  p.lastCallback = { url: t.callbackUrl, body };
  if (before.status === 'pending' && !p.verdict) {
    p.verdict = verdict;
    await timeUntil(`payment ${p.paymentId} to settle`, async () => (await row(p.paymentId as string)).status !== 'pending', 10_000);
  }
}

async function runAction(state: RunState, action: Action): Promise<void> {
  switch (action.kind) {
    case 'create': {
      const phone = uniquePhone();
      const p: ModelPayment = { body: stkPushBody({ phoneNumber: phone }), key: randomUUID(), client, phone };
      state.payments.push(p);
      driver.tracked.push({ phone, clientId: client.id, idempotencyKey: p.key });
      for (let attempt = 0; attempt < 5; attempt++) {
        const res = await pushStk(client.token, p.body, { idempotencyKey: p.key });
        if (res.status === 503) {
          await sleep(1_000);
          continue;
        }
        expect([201, 202]).toContain(res.status);
        p.paymentId = res.body.data.paymentId;
        driver.tracked[driver.tracked.length - 1].paymentId = p.paymentId;
        return;
      }
      return;
    }
    case 'duplicateCreate': {
      const p = pick(state, action.target);
      if (!p) return;
      const res = await pushStk(client.token, p.body, { idempotencyKey: p.key });
      if (res.status === 503) return; // Redis just flushed or away: refused, nothing stored
      expect({ status: [201, 202].includes(res.status), paymentId: res.body?.data?.paymentId }).toEqual({
        status: true,
        paymentId: p.paymentId,
      });
      return;
    }
    case 'callback': {
      const p = pick(state, action.target);
      if (p) await postVerdict(p, action.verdict);
      if (p) await expectModelStatus(p);
      return;
    }
    case 'duplicateCallback': {
      const p = pick(state, action.target);
      if (!p?.lastCallback) return;
      const res = await postCallback(p.lastCallback.url, p.lastCallback.body, {}, { baseUrl: fleet.url });
      expect(res.status).toBe(200);
      await expectModelStatus(p);
      return;
    }
    case 'lateCallback': {
      // The opposite of the verdict that stuck, arriving late: evidence is kept, the verdict does not change.
      const p = pick(state, action.target);
      if (!p?.verdict) return;
      await postVerdict(p, p.verdict === 'success' ? 'fail' : 'success');
      await expectModelStatus(p);
      return;
    }
    case 'statusQuery': {
      const p = pick(state, action.target);
      if (!p) return;
      // The row may settle while the API answers: the answer is what the row said just before or just after.
      const before = await row(p.paymentId as string);
      const res = await api(`/api/payments/${p.paymentId}/status`, { token: client.token });
      expect(res.status).toBe(200);
      const after = await row(p.paymentId as string);
      expect([before.status, after.status]).toContain(res.body.data.status);
      return;
    }
    case 'refund': {
      const p = pick(state, action.target);
      if (!p) return;
      const r = await row(p.paymentId as string);
      const res = await driver.refund(p.paymentId as string, 10);
      const refundable = ['completed', 'partially_refunded'].includes(r.status) && r.amount - r.refunded_amount >= 10;
      if (refundable)
        expect([202, 409]).toContain(res.status); // 409: an earlier refund of it still in flight
      else expect(res.status).toBeGreaterThanOrEqual(400);
      return;
    }
    case 'crashWorker': {
      const w = fleet.workers[action.worker];
      await w.kill('SIGKILL');
      await w.start();
      return;
    }
    case 'flushRedis': {
      await flushRedis('service');
      // Without SIMULATOR_REDIS_URL the flush also forgot that Daraja's own callbacks are off.
      await sim('/callbacks', { method: 'POST', body: { enabled: false, only: 'stk' } });
      return;
    }
  }
}

/**
 * Ends a run: a success callback for whatever is still pending, then every payment and payout must settle. A push that
 * never reached Daraja (a 202 whose request was lost) has no record to answer: the sweep's status query (after 30 s)
 * and our give-up (90 s) settle it, hence the long wait.
 */
async function settleRun(state: RunState): Promise<void> {
  for (const p of state.payments) {
    if (p.paymentId && (await row(p.paymentId)).status === 'pending') await postVerdict(p, 'success');
  }
  const ids = state.payments.map((p) => p.paymentId).filter(Boolean);
  const unsettled = async () =>
    (
      await db().query(
        `SELECT 'payment ' || id || ' ' || status || '/' || stk_push_status AS what FROM payments WHERE id = ANY($1) AND status = 'pending'
         UNION ALL
         SELECT 'payout ' || id || ' ' || status FROM payouts WHERE payment_id = ANY($1) AND status NOT IN ('completed', 'failed') AND review_reason IS NULL`,
        [ids],
      )
    ).rows.map((r) => r.what as string);
  try {
    await timeUntil('payments and payouts of the run to settle', async () => (await unsettled()).length === 0, 120_000, 250);
  } catch (e) {
    throw new Error(`${(e as Error).message}: ${(await unsettled()).join(', ')}`);
  }
}

describe('payments under random sequences of requests, callbacks and faults', () => {
  it(`keeps every money invariant after every step (${RUNS} runs of ${STEPS} steps)`, async () => {
    const t0 = Date.now();
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb, { minLength: STEPS, maxLength: STEPS }), async (drawn) => {
        runs += 1;
        const state: RunState = { payments: [], log: [] };
        // Two payments to act on from the first drawn step.
        const actions: Action[] = [{ kind: 'create' }, { kind: 'create' }, ...drawn];
        for (const [i, action] of actions.entries()) {
          state.log.push(`${i + 1}. ${JSON.stringify(action)}`);
          try {
            await runAction(state, action);
            await driver.check(`run ${runs} step ${i + 1} ${action.kind}`);
          } catch (e) {
            throw new Error(`step ${i + 1} of:\n  ${state.log.join('\n  ')}\nfailed: ${(e as Error).message}`);
          }
        }
        await settleRun(state);
        await driver.check(`run ${runs} settled`);
      }),
      {
        numRuns: RUNS,
        seed: SEED,
        path: PATH,
        // Shrinking replays against a live system are slow and the state is not reset between them: report the
        // failing run as drawn (its seed and path replay it) unless MODEL_SHRINK=true.
        endOnFailure: process.env.MODEL_SHRINK !== 'true',
        verbose: 1,
        reporter: (details) => {
          if (details.failed) {
            console.error(
              `model run failed: replay with MODEL_SEED=${details.seed} MODEL_PATH=${details.counterexamplePath ?? ''} npm run test:model\n` +
                `${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}`,
            );
            throw new Error(fc.defaultReportMessage(details) ?? 'model run failed');
          }
        },
      },
    );
    record('model.runs', runs);
    record('model.steps_per_run', STEPS);
    record('model.runtime_ms', Date.now() - t0);
    // Once healthy, nothing at all may be left in flight: outbox rows included (a flushed job is re-queued by the
    // outbox sweep after 30 s).
    record('model.final_drain_ms', await driver.waitUntilDrained(120_000));
    await driver.check('after all runs', true);
  });
});
