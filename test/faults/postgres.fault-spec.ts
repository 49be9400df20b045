// Postgres stopped for ~5 s under load and started again. Nothing reaches Daraja without its row, nothing is lost or
// doubled; /health/ready names the database within a second; the API and the workers resume within 5 s of its return.
import { api, sim } from '../support/app';
import { FaultFleet } from '../support/fault-fleet';
import { ANSWER_BOUND_MS, BOX_SLACK_MS, FaultDriver, record, RESUME_BOUND_MS, timed, timeUntil } from '../support/fault-load';
import { startPostgres, stopPostgres } from '../support/fault-servers';
import { sleep } from '../support/factories';

let fleet: FaultFleet;
let driver: FaultDriver;

beforeAll(async () => {
  fleet = await FaultFleet.start('postgres');
  driver = new FaultDriver(fleet);
});

afterAll(async () => {
  await fleet?.stop();
});

describe('Postgres under faults', () => {
  it('stopped for ~5 s under load: refused cleanly meanwhile, nothing lost or doubled, everything resumes within 5 s', async () => {
    const warm = await driver.pushMany(30, 6);
    expect(warm.every((p) => p.status === 201 || p.status === 202)).toBe(true);
    await driver.waitUntilDrained();
    const completed = await driver.paymentsIn('completed', 8);
    await driver.check('before Postgres stops');

    const load = Promise.all([driver.pushMany(60, 4), ...completed.map((id) => driver.refund(id))]);
    await sleep(800);
    await stopPostgres();
    const stoppedAt = Date.now();

    const [ready, readyMs] = await timed(() => api('/health/ready', { timeoutMs: 5_000 }));
    record('postgres.down.ready_ms', readyMs);
    expect({ status: ready.status, database: ready.body?.details?.database?.status }).toEqual({ status: 503, database: 'down' });
    expect(readyMs).toBeLessThanOrEqual(ANSWER_BOUND_MS + BOX_SLACK_MS);

    const [refused, refusedMs] = await timed(() => driver.push({}, undefined, 0));
    record('postgres.down.push_answer', `${refused.status} in ${refusedMs} ms`);
    // An outage, not a bug: 503 with Retry-After (src/common/errors/app-error.filter.ts), and no payment created.
    expect(refused.status).toBe(503);
    expect(Number(refused.response?.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.tracked.paymentId).toBeUndefined();

    await sleep(Math.max(0, 5_000 - (Date.now() - stoppedAt)));
    startPostgres();
    const backAt = Date.now();
    record('postgres.down.outage_ms', backAt - stoppedAt);
    const readyAgain = await timeUntil(
      '/health/ready 200',
      async () => (await api('/health/ready', { timeoutMs: 2_000 })).status === 200,
      30_000,
    );
    record('postgres.back.ready_ms', readyAgain);
    // The workers work again: a payment pushed now is settled and announced (push, callback, a worker's webhook).
    const push = await driver.push({}, undefined, 20);
    expect([201, 202]).toContain(push.status);
    await fleet.hooks.waitFor((h) => h.body?.event === 'payment.completed' && h.body?.data?.paymentId === push.tracked.paymentId, 30_000);
    const resumed = Date.now() - backAt;
    record('postgres.back.new_payment_webhook_ms', resumed);
    expect(readyAgain).toBeLessThanOrEqual(RESUME_BOUND_MS + BOX_SLACK_MS);
    expect(resumed).toBeLessThanOrEqual(RESUME_BOUND_MS + 300 + BOX_SLACK_MS);

    const [pushes, ...refunds] = await load;
    record('postgres.load.answers', JSON.stringify(countBy(pushes.map((p) => String(p.status)))));
    record('postgres.load.refund_answers', JSON.stringify(countBy(refunds.map((r) => String(r.status)))));
    // The push refused while Postgres was down never reached Daraja.
    expect((await sim<{ items: unknown[] }>('/stk', { query: { phone: refused.tracked.phone } })).body.items).toEqual([]);
    record('postgres.back.drain_ms', Date.now() - backAt + (await driver.waitUntilDrained(120_000)));
    await driver.check('after Postgres came back', true);
  });
});

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
