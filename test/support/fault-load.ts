// Load and checks for fault tests: pushes and refunds through the fleet's API, remembering what was asked (phones are
// stored encrypted, so the simulator's records are read by the phones the driver used), then the money invariants.
import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { api, ApiResponse, db, uniquePhone } from './app';
import { FaultFleet } from './fault-fleet';
import { newAdmin, newClient, pushStk, stkPushBody, TestUser } from './factories';
import { checkMoneyInvariants, expectInvariants, inFlight, InvariantReport, InvariantSnapshot, TrackedPush } from './money-invariants';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface PushOutcome {
  tracked: TrackedPush;
  /** HTTP status, or the network error's code. */
  status: number | string;
  response?: ApiResponse;
}

export class FaultDriver {
  readonly tracked: TrackedPush[] = [];
  readonly admin = newAdmin();
  private readonly clients: TestUser[] = Array.from({ length: 4 }, () => newClient());
  private snapshot: InvariantSnapshot | undefined;
  simulatorMemory = true;

  constructor(readonly fleet: FaultFleet) {}

  /** 503s answered (each retried after its Retry-After with the same Idempotency-Key, as a client should). */
  unavailable = 0;

  /**
   * One push to a fresh phone with an Idempotency-Key; a 503 is retried with the same key and body (up to `retries`
   * times). Never throws for a refused or failed request.
   */
  async push(
    overrides: Record<string, unknown> = {},
    client = this.clients[this.tracked.length % this.clients.length],
    retries = 3,
  ): Promise<PushOutcome> {
    const tracked: TrackedPush = { phone: uniquePhone(), clientId: client.id, idempotencyKey: randomUUID() };
    this.tracked.push(tracked);
    const body = stkPushBody({ phoneNumber: tracked.phone, ...overrides });
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await pushStk(client.token, body, { idempotencyKey: tracked.idempotencyKey });
        tracked.paymentId ??= response.body?.data?.paymentId;
        if (response.status === 503 && attempt < retries) {
          this.unavailable += 1;
          await sleep(Math.min(Number(response.headers['retry-after'] ?? 1), 2) * 1_000);
          continue;
        }
        return { tracked, status: response.status, response };
      } catch (e) {
        const err = e as Error & { cause?: { code?: string } };
        return { tracked, status: err.cause?.code ?? err.name };
      }
    }
  }

  /** `count` pushes, `concurrency` at a time. */
  async pushMany(count: number, concurrency = 8, overrides: Record<string, unknown> = {}): Promise<PushOutcome[]> {
    const out: PushOutcome[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          next += 1;
          out.push(await this.push(overrides));
        }
      }),
    );
    return out;
  }

  /** Payment ids the API answered with, by their status now. */
  async paymentsIn(status: string, limit = 1000): Promise<string[]> {
    const ids = this.tracked.map((t) => t.paymentId).filter((id): id is string => !!id);
    const { rows } = await db().query(`SELECT id FROM payments WHERE id = ANY($1) AND status = $2 ORDER BY created_at LIMIT $3`, [
      ids,
      status,
      limit,
    ]);
    return rows.map((r) => r.id as string);
  }

  refund(paymentId: string, amount = 40): Promise<ApiResponse> {
    return api(`/api/payments/${paymentId}/refund`, {
      method: 'POST',
      token: this.admin.token,
      body: { amount, reason: 'Fault suite refund' },
      headers: { 'idempotency-key': randomUUID() },
    });
  }

  /** Checks every invariant against the last check's snapshot; `settled` also asks that nothing is in flight. */
  async check(when: string, settled = false): Promise<InvariantReport> {
    const report = await checkMoneyInvariants({
      pool: db(),
      apiUrl: this.fleet.url,
      tracked: this.tracked,
      previous: this.snapshot,
      simulatorMemory: this.simulatorMemory,
      settled: settled ? { redisUrl: this.fleet.env.REDIS_URL, redisKeyPrefix: this.fleet.redisKeyPrefix } : undefined,
    });
    console.log(`${this.fleet.name} ${when}: ${JSON.stringify(report.counts)}`);
    expectInvariants(report, when);
    this.snapshot = report.snapshot;
    return report;
  }

  /** Waits until nothing is in flight (see inFlight); returns how long that took. */
  async waitUntilDrained(timeoutMs = 90_000): Promise<number> {
    const t0 = Date.now();
    let last: string[] = [];
    while (Date.now() - t0 < timeoutMs) {
      try {
        last = await inFlight(db(), this.fleet.env.REDIS_URL, this.fleet.redisKeyPrefix);
        if (last.length === 0) return Date.now() - t0;
      } catch (e) {
        last = [(e as Error).message];
      }
      await sleep(500);
    }
    throw new Error(`${this.fleet.name}: still in flight after ${timeoutMs} ms: ${last.join('; ')}`);
  }
}

/** The bounds: readiness and refusals within 1 s, workers back within 5 s (slack for a shared 2-core box). */
export const ANSWER_BOUND_MS = 1_000;
export const RESUME_BOUND_MS = 5_000;
export const BOX_SLACK_MS = 1_000;

/** `fn`'s value and how long it took, in ms. */
export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = Date.now();
  const value = await fn();
  return [value, Date.now() - t0];
}

/** Polls `probe` until it returns true; the time it took, or an error naming `what` after `timeoutMs`. */
export async function timeUntil(what: string, probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<number> {
  const t0 = Date.now();
  let last = '';
  while (Date.now() - t0 < timeoutMs) {
    try {
      if (await probe()) return Date.now() - t0;
      last = 'not yet';
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(intervalMs);
  }
  throw new Error(`${what} not within ${timeoutMs} ms (last: ${last})`);
}

/** The measured figures of a file, printed once at its end (docs/faults.md quotes them). */
export const measured: Record<string, number | string> = {};
export function record(name: string, value: number | string): void {
  measured[name] = value;
  console.log(`measured ${name}: ${value}`);
}

/**
 * How long until every worker process is connected to the `payments` and `notifications` queues again (BullMQ names
 * each worker's connection, so `getWorkers` lists the live ones), i.e. the workers resumed taking jobs.
 */
export async function timeUntilWorkersConnected(fleet: FaultFleet, timeoutMs: number): Promise<number> {
  const queues = ['payments', 'notifications'].map(
    (name) =>
      new Queue(name, { connection: { url: fleet.env.REDIS_URL, maxRetriesPerRequest: 1 }, prefix: `${fleet.redisKeyPrefix}:bull` }),
  );
  try {
    return await timeUntil(
      `${fleet.workers.length} workers connected to the queues`,
      async () => (await Promise.all(queues.map((q) => q.getWorkersCount()))).every((n) => n >= fleet.workers.length),
      timeoutMs,
      100,
    );
  } finally {
    await Promise.all(queues.map((q) => q.close().catch(() => undefined)));
  }
}
