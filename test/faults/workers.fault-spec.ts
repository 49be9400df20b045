// Workers die: `kill -9` mid-sweep, mid-payout and while delivering webhooks, SIGTERM with active jobs. The other worker
// takes the dead one's work over (job locks of 5 s, stall checks every 5 s: src/common/queues/worker-options.ts; webhook
// rows locked by the dead worker's transaction are free once Postgres sees its connection go), nothing is lost or doubled.
import { Job, Queue } from 'bullmq';
import { db, sim } from '../support/app';
import { queueSimulatorFault } from '../support/factories';
import { FaultFleet } from '../support/fault-fleet';
import { FaultDriver, PushOutcome, record, timeUntil } from '../support/fault-load';

/** BullMQ's lock (5 s) lapses and the next stall check (every 5 s) hands the job to a live worker: 10 s at most. */
const TAKEOVER_BOUND_MS = 10_000;
/** What a taken-over job itself needs after that (one delayed Daraja call, a database write), on a loaded box. */
const JOB_RUN_SLACK_MS = 5_000;

let fleet: FaultFleet;
let driver: FaultDriver;

beforeAll(async () => {
  fleet = await FaultFleet.start('workers');
  driver = new FaultDriver(fleet);
});

afterAll(async () => {
  await fleet?.stop();
});

function queue(name: string): Queue {
  return new Queue(name, { connection: { url: fleet.env.REDIS_URL }, prefix: `${fleet.redisKeyPrefix}:bull` });
}

/** Waits until `queueName` has at least `min` active jobs and returns their ids. */
async function activeJobIds(q: Queue, min: number, timeoutMs = 30_000): Promise<string[]> {
  let ids: string[] = [];
  await timeUntil(
    `${min} active ${q.name} jobs`,
    async () => {
      ids = (await q.getJobs(['active'])).filter((j): j is Job => !!j).map((j) => j.id as string);
      return ids.length >= min;
    },
    timeoutMs,
    50,
  );
  return ids;
}

/** Each job's lock token (which worker holds it) now: `<prefix>:bull:<queue>:<id>:lock`. */
async function lockTokens(q: Queue, ids: string[]): Promise<Map<string, string | null>> {
  const client = await q.client;
  const tokens = await Promise.all(ids.map((id) => client.get(`${fleet.redisKeyPrefix}:bull:${q.name}:${id}:lock`)));
  return new Map(ids.map((id, i) => [id, tokens[i]]));
}

/**
 * Time from the kill until the dead worker's jobs among `ids` are taken over: each is finished, or active again under
 * another lock token. The dead worker's jobs are those whose lock lapsed or changed hands; a live worker renews its
 * locks, so a job whose token never changed for a lock's lifetime after the kill (5 s + 1 s) was never the dead one's.
 */
async function timeUntilTakenOver(
  q: Queue,
  ids: string[],
  before: Map<string, string | null>,
  killedAt: number,
  timeoutMs: number,
): Promise<number> {
  const lapsed = new Set<string>();
  await timeUntil(
    `jobs ${ids.join(', ')} to be finished or taken over`,
    async () => {
      const now = await lockTokens(q, ids);
      let waiting = false;
      for (const id of ids) {
        const job = await Job.fromId(q, id);
        if (!job || job.finishedOn) continue;
        const token = now.get(id);
        if (!token) {
          lapsed.add(id);
          waiting = true;
        } else if (token !== before.get(id)) {
          lapsed.add(id); // taken over: another worker holds it
        } else if (Date.now() - killedAt < 6_000) {
          waiting = true; // cannot tell yet whether a live worker renews this lock
        }
      }
      return !waiting;
    },
    timeoutMs,
    100,
  );
  return Date.now() - killedAt;
}

/** Time from now until every job in `ids` has finished (or was removed on completion). */
async function timeUntilFinished(q: Queue, ids: string[], timeoutMs: number): Promise<number> {
  return timeUntil(
    `jobs ${ids.join(', ')} to finish`,
    async () => {
      for (const id of ids) {
        const job = await Job.fromId(q, id);
        if (job && !job.finishedOn) return false;
      }
      return true;
    },
    timeoutMs,
    100,
  );
}

/** 201 (Daraja accepted) or 202 (sent, answer lost or slow: settled later): nothing refused or failed. */
function expectAccepted(pushes: PushOutcome[]): void {
  expect(pushes.filter((p) => p.status !== 201 && p.status !== 202).map((p) => `${p.status} ${p.response?.text ?? ''}`)).toEqual([]);
}

async function callbacks(enabled: boolean): Promise<void> {
  expect((await sim('/callbacks', { method: 'POST', body: { enabled } })).status).toBe(200);
}

describe('workers under faults', () => {
  it('a worker killed with -9 mid-sweep: its status queries are taken over within 10 s, nothing lost or doubled', async () => {
    const payments = queue('payments');
    try {
      // No callbacks: only the sweep's status queries settle the payments; each query answers after 1 s, so some
      // are in flight in both workers when one dies.
      await callbacks(false);
      await queueSimulatorFault('stkquery', 'delay', { count: 200, delayMs: 1_000 });
      const pushes = await driver.pushMany(120, 8);
      expectAccepted(pushes);
      const inFlight = await activeJobIds(payments, 2);
      const killedAt = Date.now();
      await fleet.workers[0].kill('SIGKILL');
      const takeover = await timeUntilFinished(payments, inFlight, TAKEOVER_BOUND_MS + JOB_RUN_SLACK_MS + 10_000);
      record('workers.kill9_sweep.jobs_in_flight', inFlight.length);
      record('workers.kill9_sweep.takeover_ms', takeover);
      expect(takeover).toBeLessThanOrEqual(TAKEOVER_BOUND_MS + JOB_RUN_SLACK_MS);
      await callbacks(true);
      record('workers.kill9_sweep.worker_restart_ms', await fleet.workers[0].start());
      record('workers.kill9_sweep.drain_ms', Date.now() - killedAt + (await driver.waitUntilDrained()));
      const report = await driver.check('after kill -9 mid-sweep', true);
      expect(report.counts.byStatus.pending ?? 0).toBe(0);
    } finally {
      await payments.close();
      await callbacks(true);
    }
  });

  it('a worker killed with -9 mid-payout: the payout is taken over and paid at most once', async () => {
    const payouts = queue('payouts');
    try {
      const pushes = await driver.pushMany(30, 8);
      expectAccepted(pushes);
      await driver.waitUntilDrained();
      const completed = await driver.paymentsIn('completed', 24);
      expect(completed.length).toBeGreaterThanOrEqual(20);
      // Each B2C request is answered after 1 s: payouts are in the middle of their Daraja call when the worker dies.
      await queueSimulatorFault('b2c', 'delay', { count: 24, delayMs: 1_000 });
      const refunds = await Promise.all(completed.map((id) => driver.refund(id)));
      expect(refunds.map((r) => r.status).filter((s) => s !== 202)).toEqual([]);
      const inFlight = await activeJobIds(payouts, 1);
      const tokens = await lockTokens(payouts, inFlight);
      const killedAt = Date.now();
      await fleet.workers[1].kill('SIGKILL');
      // A payout job may itself take long (a balance check first), so "taken over" is not "finished" here.
      const takeover = await timeUntilTakenOver(payouts, inFlight, tokens, killedAt, TAKEOVER_BOUND_MS + JOB_RUN_SLACK_MS + 10_000);
      record('workers.kill9_payout.jobs_in_flight', inFlight.length);
      record('workers.kill9_payout.takeover_ms', takeover);
      expect(takeover).toBeLessThanOrEqual(TAKEOVER_BOUND_MS + JOB_RUN_SLACK_MS);
      await fleet.workers[1].start();
      record('workers.kill9_payout.drain_ms', await driver.waitUntilDrained());
      const report = await driver.check('after kill -9 mid-payout', true);
      expect(report.counts.payouts).toBe(completed.length);
    } finally {
      await payouts.close();
    }
  });

  it('SIGTERM with active jobs: the worker finishes them and exits 0; nothing is left behind', async () => {
    const payments = queue('payments');
    try {
      await callbacks(false);
      await queueSimulatorFault('stkquery', 'delay', { count: 100, delayMs: 1_000 });
      const pushes = await driver.pushMany(60, 8);
      expectAccepted(pushes);
      const inFlight = await activeJobIds(payments, 2);
      const shutdown = await fleet.workers[0].kill('SIGTERM', 30_000);
      record('workers.sigterm.shutdown_ms', shutdown);
      // Nest's shutdown hooks close the workers (which finish their active jobs), then re-raise the signal.
      expect(['code 0', 'SIGTERM']).toContain(fleet.workers[0].exit);
      // Finished by the worker that had them, not left to the stall check: well before a lock could lapse (5 s).
      const leftover = await timeUntilFinished(payments, inFlight, 15_000);
      record('workers.sigterm.active_jobs_finished_after_exit_ms', leftover);
      expect(leftover).toBeLessThan(4_000);
      await callbacks(true);
      await fleet.workers[0].start();
      record('workers.sigterm.drain_ms', await driver.waitUntilDrained());
      await driver.check('after SIGTERM with active jobs', true);
    } finally {
      await payments.close();
      await callbacks(true);
    }
  });

  it('a worker killed with -9 while it holds webhooks: the other delivers them within 10 s, every event at least once', async () => {
    // Each event's first delivery is answered after 4 s, so the worker that took it is still holding it when it dies;
    // a later delivery of the same event (the takeover) is answered at once. The other worker is paused (SIGSTOP) while
    // the events are written, so that the one killed holds them all.
    const firstSeen = new Map<string, number>();
    fleet.hooks.respondWith((hook) => {
      const id = String((hook.body as { id?: unknown } | undefined)?.id ?? '');
      firstSeen.set(id, (firstSeen.get(id) ?? 0) + 1);
      return firstSeen.get(id) === 1 ? { status: 200, delayMs: 4_000 } : 200;
    });
    const pendingWebhooks = async () =>
      (await db().query(`SELECT count(*)::int AS n FROM notifications WHERE channel = 'webhook' AND status = 'pending'`)).rows[0]
        .n as number;
    const survivor = fleet.workers[1];
    try {
      await driver.waitUntilDrained();
      process.kill(survivor.pid as number, 'SIGSTOP');
      const pushes = await driver.pushMany(40, 8);
      expectAccepted(pushes);
      await timeUntil('10 webhooks in flight', async () => firstSeen.size >= 10, 30_000, 50);
      const killedAt = Date.now();
      await fleet.workers[0].kill('SIGKILL');
      process.kill(survivor.pid as number, 'SIGCONT');
      const delivered = await timeUntil('every webhook row delivered', async () => (await pendingWebhooks()) === 0, 40_000, 100);
      const takenOver = [...firstSeen.values()].filter((n) => n > 1).length;
      record('workers.kill9_webhooks.events', firstSeen.size);
      record('workers.kill9_webhooks.taken_over', takenOver);
      record('workers.kill9_webhooks.all_delivered_after_kill_ms', Date.now() - killedAt);
      expect(takenOver).toBeGreaterThanOrEqual(10);
      expect(delivered).toBeLessThanOrEqual(TAKEOVER_BOUND_MS + JOB_RUN_SLACK_MS);
      // Every payment's webhook row ended delivered, each recorded as one successful attempt.
      const rows = await db().query(
        `SELECT n.status, count(a.*) FILTER (WHERE a.error IS NULL)::int AS ok
           FROM notifications n LEFT JOIN notification_attempts a ON a.notification_id = n.id
          WHERE n.channel = 'webhook' GROUP BY n.id, n.status`,
      );
      expect(rows.rows.filter((r) => r.status !== 'delivered' || r.ok !== 1)).toEqual([]);
      await fleet.workers[0].start();
      record('workers.kill9_webhooks.drain_ms', await driver.waitUntilDrained());
      await driver.check('after kill -9 while delivering webhooks', true);
    } finally {
      if (survivor.pid) process.kill(survivor.pid, 'SIGCONT');
      fleet.hooks.respondWith(200);
    }
  });
});
