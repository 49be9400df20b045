// Redis may lose everything: a FLUSHALL under load, and Redis killed for ~5 s and started again. Postgres is the
// referee, so no payment is lost or doubled; while Redis is away a push is refused cleanly (503 + Retry-After, nothing
// stored) and /health/ready says so within a second; the workers resume within 5 s of its return.
import { api, db, sim } from '../support/app';
import { FaultFleet } from '../support/fault-fleet';
import {
  ANSWER_BOUND_MS,
  BOX_SLACK_MS,
  FaultDriver,
  record,
  RESUME_BOUND_MS,
  timed,
  timeUntil,
  timeUntilWorkersConnected,
} from '../support/fault-load';
import { flushRedis, killRedis, simulatorRedisSupported, startRedis } from '../support/fault-servers';
import { sleep } from '../support/factories';

let fleet: FaultFleet;
let driver: FaultDriver;

beforeAll(async () => {
  fleet = await FaultFleet.start('redis');
  driver = new FaultDriver(fleet);
});

afterAll(async () => {
  await fleet?.stop();
});

/** How long until a payment pushed now is announced by webhook: the API, Daraja, the callback and a worker all work. */
async function timeUntilWebhookOfNewPayment(timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  const push = await driver.push({}, undefined, 20);
  expect([201, 202]).toContain(push.status);
  const paymentId = push.tracked.paymentId;
  await fleet.hooks.waitFor((h) => h.body?.event === 'payment.completed' && h.body?.data?.paymentId === paymentId, timeoutMs);
  return Date.now() - t0;
}

describe('Redis under faults', () => {
  it('FLUSHALL under load: nothing lost or doubled; the queues rebuild themselves from Postgres', async () => {
    const warm = await driver.pushMany(40, 8);
    expect(warm.every((p) => p.status === 201 || p.status === 202)).toBe(true);
    await driver.waitUntilDrained();
    const completed = await driver.paymentsIn('completed', 10);
    const sweepAndPayouts = Promise.all([driver.pushMany(80, 8), ...completed.map((id) => driver.refund(id))]);
    await sleep(1_500);
    await flushRedis('service');
    const flushedAt = Date.now();
    const [pushes, ...refunds] = await sweepAndPayouts;
    expect(refunds.map((r) => r.status).filter((s) => s !== 202)).toEqual([]);
    // Pushes during the flush may be refused (503) and retried; none may fail otherwise.
    expect(pushes.filter((p) => ![201, 202].includes(p.status as number)).map((p) => p.status)).toEqual([]);
    if (!simulatorRedisSupported()) {
      // The simulator keeps its state in the service's Redis until SIMULATOR_REDIS_URL exists: "Daraja" forgot the
      // pushes and payouts too, so its records prove less (payments it forgot expire, which is still no loss).
      driver.simulatorMemory = false;
    }
    record('redis.flushall.drain_ms', Date.now() - flushedAt + (await driver.waitUntilDrained(120_000)));
    const report = await driver.check('after FLUSHALL', true);
    if (simulatorRedisSupported()) {
      // Daraja kept its memory: every push the service made is still on record, and the flush expired none of them.
      expect(report.counts.pushesSeen).toBe(report.counts.payments);
      expect(report.counts.byStatus.expired ?? 0).toBe(0);
    }
    record('redis.flushall.statuses', JSON.stringify(report.counts.byStatus));
  });

  it('Redis killed for ~5 s: 503 + Retry-After and nothing stored; /health/ready says why within 1 s; workers resume within 5 s', async () => {
    await driver.check('before Redis is killed');
    const load = driver.pushMany(40, 4);
    await sleep(500);
    await killRedis('service');
    const killedAt = Date.now();

    const [ready, readyMs] = await timed(() => api('/health/ready', { timeoutMs: 5_000 }));
    record('redis.down.ready_ms', readyMs);
    expect({ status: ready.status, redis: ready.body?.details?.redis?.status }).toEqual({ status: 503, redis: 'down' });
    expect(readyMs).toBeLessThanOrEqual(ANSWER_BOUND_MS + BOX_SLACK_MS);

    const refused = await Promise.all(Array.from({ length: 5 }, () => timed(() => driver.push({}, undefined, 0))));
    const slowest = Math.max(...refused.map(([, ms]) => ms));
    record('redis.down.push_refusal_ms_max', slowest);
    for (const [outcome] of refused) {
      expect(outcome.status).toBe(503);
      expect(Number(outcome.response?.headers['retry-after'])).toBeGreaterThan(0);
      expect(outcome.tracked.paymentId).toBeUndefined();
    }
    expect(slowest).toBeLessThanOrEqual(ANSWER_BOUND_MS + BOX_SLACK_MS);
    // Nothing half-way: no row holds a refused push's Idempotency-Key (and Daraja never saw them, checked below).
    const keys = refused.map(([outcome]) => outcome.tracked.idempotencyKey);
    const { rows } = await db().query(`SELECT count(*)::int AS n FROM payments WHERE idempotency_key = ANY($1)`, [keys]);
    expect(rows[0].n).toBe(0);

    await sleep(Math.max(0, 5_000 - (Date.now() - killedAt)));
    startRedis('service');
    const backAt = Date.now();
    record('redis.down.outage_ms', backAt - killedAt);
    const readyAgain = await timeUntil(
      '/health/ready 200',
      async () => (await api('/health/ready', { timeoutMs: 2_000 })).status === 200,
      30_000,
    );
    record('redis.back.ready_ms', readyAgain);
    await timeUntilWorkersConnected(fleet, 30_000);
    const resumed = Date.now() - backAt;
    record('redis.back.workers_connected_ms', resumed);
    expect(readyAgain).toBeLessThanOrEqual(RESUME_BOUND_MS + BOX_SLACK_MS);
    expect(resumed).toBeLessThanOrEqual(RESUME_BOUND_MS + BOX_SLACK_MS);
    // And they work: a payment pushed now is settled and announced (push, callback after 300 ms, a worker's webhook).
    record('redis.back.new_payment_webhook_ms', await timeUntilWebhookOfNewPayment(60_000));

    const pushes = await load;
    expect(pushes.filter((p) => ![201, 202, 503].includes(p.status as number)).map((p) => p.status)).toEqual([]);
    for (const refusedPush of refused) {
      const stk = await sim<{ items: unknown[] }>('/stk', { query: { phone: refusedPush[0].tracked.phone } });
      expect(stk.body.items).toEqual([]);
    }
    record('redis.down.drain_ms', Date.now() - backAt + (await driver.waitUntilDrained(120_000)));
    await driver.check('after Redis came back', true);
  });
});
