// The webhook tables on real Postgres: one delivery per event and endpoint however many jobs fan out at once, a
// finished delivery that a late duplicate cannot reopen, an endpoint disabled once however many workers see it fail,
// and LegalPro's webhook rows claimed by one worker at a time.
import { randomUUID } from 'node:crypto';
import { withRequestId } from '../../src/common/request-context';
import { Database, Tx } from '../../src/database/database';
import { sql } from '../../src/database/sql';
import { NotificationChannel, NotificationStatus } from '../../src/notifications/notification.entity';
import { NotificationsRepository } from '../../src/notifications/notifications.repository';
import { WebhookDeliveriesRepository } from '../../src/notifications/webhooks/webhook-deliveries.repository';
import { WebhookEndpointsRepository } from '../../src/notifications/webhooks/webhook-endpoints.repository';
import { IntegrationDb, openIntegrationDb } from '../support/integration';

let pg: IntegrationDb;
let db: Database;
let outbox: NotificationsRepository;
let endpoints: WebhookEndpointsRepository;
let deliveries: WebhookDeliveriesRepository;

beforeAll(async () => {
  pg = await openIntegrationDb();
  db = pg.db;
  outbox = new NotificationsRepository(db);
  endpoints = new WebhookEndpointsRepository(db);
  deliveries = new WebhookDeliveriesRepository(db);
});

afterAll(() => pg.close());

async function event(name = 'payment.completed'): Promise<string> {
  const [row] = await db.transaction((tx) =>
    outbox.insert(tx, [
      {
        channel: NotificationChannel.Webhook,
        event: name,
        subjectId: randomUUID(),
        payload: { amount: 1 },
        status: NotificationStatus.Pending,
        lastError: null,
      },
    ]),
  );
  return row.id;
}

async function endpoint(): Promise<string> {
  const id = randomUUID();
  await db.transaction((tx) =>
    endpoints.insert(tx, {
      id,
      url: 'https://hooks.example/x',
      events: ['payment.*'],
      description: null,
      secretEncrypted: 'sealed',
      createdBy: null,
    }),
  );
  return id;
}

const deliveryRows = (eventId: string) =>
  db.query<{ endpoint_id: string; status: string; last_error: string | null }>(
    sql`SELECT endpoint_id, status, last_error FROM webhook_deliveries WHERE notification_id = ${eventId} ORDER BY endpoint_id`,
  );

describe(WebhookDeliveriesRepository.name, () => {
  it('writes one delivery per event and endpoint when eight jobs fan the same event out at once', async () => {
    const eventId = await event();
    const [a, b] = [await endpoint(), await endpoint()];
    const targets = [
      { id: a, enabled: true },
      { id: b, enabled: true },
    ];

    const queued = await Promise.all(Array.from({ length: 8 }, () => deliveries.insertForEvent(eventId, 'payment.completed', targets)));

    expect(queued.flat()).toHaveLength(2);
    expect((await deliveryRows(eventId)).map((r) => r.status)).toEqual(['pending', 'pending']);
  });

  it("records a disabled endpoint's delivery as failed, queues nothing for it, and a bulk redelivery finds it", async () => {
    const eventId = await event();
    const off = await endpoint();

    expect(await deliveries.insertForEvent(eventId, 'payment.completed', [{ id: off, enabled: false }])).toEqual([]);
    expect(await deliveryRows(eventId)).toEqual([{ endpoint_id: off, status: 'failed', last_error: 'endpoint disabled' }]);
    expect(await deliveries.redeliverFailedSince(off, new Date(Date.now() - 60_000))).toHaveLength(1);
    expect((await deliveryRows(eventId))[0].status).toBe('pending');
  });

  it('keeps a delivered delivery delivered when a duplicate job records a failure after it', async () => {
    const eventId = await event();
    const [id] = await deliveries.insertForEvent(eventId, 'payment.completed', [{ id: await endpoint(), enabled: true }]);

    await deliveries.recordAttempt({ deliveryId: id, attempt: 1, statusCode: 200, error: null, durationMs: 5, nextAttemptAt: null });
    await deliveries.recordAttempt({ deliveryId: id, attempt: 2, statusCode: 500, error: 'HTTP 500', durationMs: 5, nextAttemptAt: null });

    const [row] = await db.query(sql`SELECT status, attempts, last_error FROM webhook_deliveries WHERE id = ${id}`);
    expect(row).toEqual({ status: 'delivered', attempts: 1, last_error: null });
    // Both attempts are on record, as they happened.
    expect((await deliveries.attemptsOf(id)).map((a) => a.statusCode)).toEqual([200, 500]);
  });

  it('redelivers only a delivery that ended, and starts its schedule over', async () => {
    const eventId = await event();
    const [id] = await deliveries.insertForEvent(eventId, 'payment.completed', [{ id: await endpoint(), enabled: true }]);
    expect(await deliveries.redeliver(id)).toBe(false);

    await deliveries.recordAttempt({ deliveryId: id, attempt: 1, statusCode: 503, error: 'HTTP 503', durationMs: 5, nextAttemptAt: null });
    expect(await deliveries.redeliver(id)).toBe(true);

    const [row] = await db.query(sql`SELECT status, attempts, attempts_before_redelivery FROM webhook_deliveries WHERE id = ${id}`);
    expect(row).toEqual({ status: 'pending', attempts: 1, attempts_before_redelivery: 1 });
  });
});

describe(WebhookEndpointsRepository.name, () => {
  it('disables a failing endpoint once when five workers see it fail at the same time', async () => {
    const id = await endpoint();
    await endpoints.markFailing(id);
    await db.query(sql`UPDATE webhook_endpoints SET failing_since = now() - interval '80 hours' WHERE id = ${id}`);
    const limit = new Date(Date.now() - 72 * 3_600_000);

    const disabled = await Promise.all(Array.from({ length: 5 }, () => db.transaction((tx) => endpoints.disableFailing(tx, id, limit))));

    expect(disabled.filter(Boolean)).toHaveLength(1);
    expect(await endpoints.findById(id)).toMatchObject({ enabled: false, disabledReason: 'failing' });
  });

  it('does not disable an endpoint failing for less than the limit, nor one that answered since', async () => {
    const young = await endpoint();
    await endpoints.markFailing(young);
    const answered = await endpoint();
    await endpoints.markFailing(answered);
    await db.query(sql`UPDATE webhook_endpoints SET failing_since = now() - interval '80 hours' WHERE id = ${answered}`);
    await endpoints.markAnswering(answered);
    const limit = new Date(Date.now() - 72 * 3_600_000);

    expect(await db.transaction((tx) => endpoints.disableFailing(tx, young, limit))).toBeNull();
    expect(await db.transaction((tx) => endpoints.disableFailing(tx, answered, limit))).toBeNull();
  });
});

describe('webhook rows locked for delivery', () => {
  type Route = { id: string; enabled: boolean; events: string[] };
  const lock = (tx: Tx, limit = 50) => outbox.lockDueWebhooks<Route>(tx, limit, endpoints.routesSql());
  /** The ids one worker's round would take now (its transaction ends at once). */
  const takenNow = (limit = 50) => db.transaction(async (tx) => (await lock(tx, limit)).map((c) => c.notification.id));

  /** Runs `work` in a transaction that stays open (its rows locked) until `release`; `rollback`: it then fails, as a dead worker's. */
  async function holding<T>(work: (tx: Tx) => Promise<T>, rollback = false): Promise<{ value: T; release: () => Promise<void> }> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let ready!: (value: T) => void;
    const locked = new Promise<T>((resolve) => (ready = resolve));
    const finished = db.transaction(async (tx) => {
      ready(await work(tx));
      await released;
      if (rollback) throw new Error('the worker died');
    });
    const value = await locked;
    return {
      value,
      release: async () => {
        release();
        await finished.catch((e: Error) => {
          if (!rollback) throw e;
        });
      },
    };
  }

  // Rounds take every due row of the table: earlier tests' rows are put out of the way.
  beforeEach(() => db.query(sql`UPDATE notifications SET status = 'skipped' WHERE channel = 'webhook' AND status = 'pending'`));

  it('come with the endpoints to fan them out to until the fan-out is recorded with the attempt', async () => {
    const on = await endpoint();
    const id = await event();
    const retryAt = new Date(Date.now() + 60_000);
    await db.transaction(async (tx) => {
      const [first] = await lock(tx);
      expect(first.notification).toMatchObject({ id, event: 'payment.completed', status: 'pending', attempts: 0 });
      expect(first.routes).toEqual(expect.arrayContaining([{ id: on, enabled: true, events: ['payment.*'] }]));
      expect(first.routes).toHaveLength((await endpoints.list()).length);
      // A failed attempt: still pending, fanned out, the next attempt due later.
      await outbox.recordAttempts(
        [
          {
            notificationId: id,
            attempt: 1,
            statusCode: 500,
            error: 'HTTP 500',
            durationMs: 5,
            final: false,
            nextAttemptAt: retryAt,
            fannedOut: true,
          },
        ],
        tx,
      );
    });
    const after = await outbox.findById(id);
    expect(after).toMatchObject({ status: 'pending', attempts: 1, lastError: 'HTTP 500' });
    expect(after?.endpointsFannedOutAt).toBeInstanceOf(Date);
    expect(after?.nextAttemptAt?.getTime()).toBe(retryAt.getTime());
    expect(await takenNow()).toEqual([]);

    // Due again: taken without the routes (already fanned out), then delivered.
    await db.query(sql`UPDATE notifications SET next_attempt_at = now() - interval '1 second' WHERE id = ${id}`);
    await db.transaction(async (tx) => {
      const [again] = await lock(tx);
      expect(again.notification).toMatchObject({ id, attempts: 1 });
      expect(again.routes).toBeNull();
      await outbox.recordAttempts([{ notificationId: id, attempt: 2, statusCode: 200, error: null, durationMs: 5, final: true }], tx);
    });
    expect(await outbox.findById(id)).toMatchObject({ status: 'delivered', attempts: 2 });
    const attempts = await db.query<{ attempt: number; status_code: number }>(
      sql`SELECT attempt, status_code FROM notification_attempts WHERE notification_id = ${id} ORDER BY attempt`,
    );
    expect(attempts).toEqual([
      { attempt: 1, status_code: 500 },
      { attempt: 2, status_code: 200 },
    ]);
  });

  it('are each taken by one of two workers whose rounds overlap, and the fan-out can be written meanwhile', async () => {
    const ids = await Promise.all(Array.from({ length: 12 }, () => event()));
    const on = await endpoint();
    const a = await holding((tx) => lock(tx, 8));
    const b = await holding((tx) => lock(tx, 8));
    const taken = [...a.value, ...b.value].map((c) => c.notification.id);
    expect(taken).toHaveLength(12);
    expect([...taken].sort()).toEqual([...ids].sort());
    expect(await takenNow()).toEqual([]);
    // The fan-out's rows reference the locked event (FOR NO KEY UPDATE lets their foreign key check through).
    expect(await deliveries.insertForEvent(ids[0], 'payment.completed', [{ id: on, enabled: true }])).toHaveLength(1);
    await a.release();
    await b.release();
  });

  it('are not taken before their next attempt, and are free again at once when a round dies', async () => {
    const held = await event();
    const later = await event();
    await db.query(sql`UPDATE notifications SET next_attempt_at = now() + interval '1 minute' WHERE id = ${later}`);
    const dying = await holding(async (tx) => (await lock(tx)).map((c) => c.notification.id), true);
    expect(dying.value).toEqual([held]);
    expect(await takenNow()).toEqual([]);
    await dying.release(); // the worker died: its transaction is rolled back with its connection
    expect(await takenNow()).toEqual([held]);
  });

  it('are freed by Postgres when a round sits idle past its hold', async () => {
    const id = await event();
    const stuck = db.transaction(async (tx) => {
      await outbox.limitIdleHold(tx, 200);
      await lock(tx);
      await new Promise((resolve) => setTimeout(resolve, 600));
      await lock(tx); // Postgres ended the session meanwhile
    });
    await expect(stuck).rejects.toThrow();
    expect(await takenNow()).toEqual([id]);
  });

  it('carry the request id they were written under', async () => {
    const [row] = await withRequestId('req-webhook-claim', () =>
      db.transaction((tx) =>
        outbox.insert(tx, [
          {
            channel: NotificationChannel.Webhook,
            event: 'payment.failed',
            subjectId: randomUUID(),
            payload: {},
            status: NotificationStatus.Pending,
            lastError: null,
          },
        ]),
      ),
    );
    const [claimed] = await db.transaction((tx) => lock(tx));
    expect(claimed.notification).toMatchObject({ id: row.id, requestId: 'req-webhook-claim' });
  });

  it('leave email and SMS rows to their jobs, and a skipped or delivered webhook alone', async () => {
    const [email] = await db.transaction((tx) =>
      outbox.insert(tx, [
        {
          channel: NotificationChannel.Email,
          event: 'payment.completed',
          subjectId: randomUUID(),
          payload: {},
          status: NotificationStatus.Pending,
          lastError: null,
        },
      ]),
    );
    const done = await event();
    await outbox.recordAttempt({ notificationId: done, attempt: 1, statusCode: 200, error: null, durationMs: 1, final: true });
    const skipped = await event();
    await outbox.markSkipped([skipped], 'WEBHOOK_URL is not configured', { fannedOut: true });
    expect(await outbox.findById(skipped)).toMatchObject({ status: 'skipped', lastError: 'WEBHOOK_URL is not configured' });
    expect(await takenNow()).toEqual([]);
    await db.query(sql`UPDATE notifications SET created_at = now() - interval '1 hour' WHERE id = ${email.id}`);
    const stale = await outbox.findStalePending(new Date(), 500);
    expect(stale.map((r) => r.id)).toContain(email.id);
    expect(stale.every((r) => r.channel !== NotificationChannel.Webhook)).toBe(true);
  });
});
