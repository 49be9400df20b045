// The webhook tables on real Postgres: one delivery per event and endpoint however many jobs fan out at once, a
// finished delivery that a late duplicate cannot reopen, an endpoint disabled once however many workers see it fail,
// and LegalPro's webhook rows claimed by one worker at a time.
import { randomUUID } from 'node:crypto';
import { withRequestId } from '../../src/common/request-context';
import { Database } from '../../src/database/database';
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

describe('webhook rows claimed for delivery', () => {
  type Route = { id: string; enabled: boolean; events: string[] };
  const LEASE_MS = 60_000;
  const claim = (limit = 50) => outbox.claimDueWebhooks<Route>(limit, LEASE_MS, endpoints.routesSql());
  const claimedIds = async (limit = 50) => (await claim(limit)).map((c) => c.notification.id);

  // Claims take every due row of the table: earlier tests' rows are put out of the way.
  beforeEach(() => db.query(sql`UPDATE notifications SET status = 'skipped' WHERE channel = 'webhook' AND status = 'pending'`));

  it('come with the endpoints to fan them out to until the fan-out is recorded with the attempt', async () => {
    const on = await endpoint();
    const id = await event();
    const [first] = await claim();
    expect(first.notification).toMatchObject({ id, event: 'payment.completed', status: 'pending', attempts: 0 });
    expect(first.notification.claimedUntil?.getTime()).toBeGreaterThan(Date.now() + LEASE_MS - 5_000);
    expect(first.routes).toEqual(expect.arrayContaining([{ id: on, enabled: true, events: ['payment.*'] }]));
    expect(first.routes).toHaveLength((await endpoints.list()).length);

    // A failed attempt: still pending, fanned out, the claim released, the next attempt due later.
    const retryAt = new Date(Date.now() + 60_000);
    await outbox.recordAttempts([
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
    ]);
    const after = await outbox.findById(id);
    expect(after).toMatchObject({ status: 'pending', attempts: 1, lastError: 'HTTP 500', claimedUntil: null });
    expect(after?.endpointsFannedOutAt).toBeInstanceOf(Date);
    expect(after?.nextAttemptAt?.getTime()).toBe(retryAt.getTime());
    expect(await claimedIds()).toEqual([]);

    // Due again: claimed without the routes (already fanned out), then delivered.
    await db.query(sql`UPDATE notifications SET next_attempt_at = now() - interval '1 second' WHERE id = ${id}`);
    const [again] = await claim();
    expect(again.notification).toMatchObject({ id, attempts: 1 });
    expect(again.routes).toBeNull();
    await outbox.recordAttempts([{ notificationId: id, attempt: 2, statusCode: 200, error: null, durationMs: 5, final: true }]);
    expect(await outbox.findById(id)).toMatchObject({ status: 'delivered', attempts: 2, claimedUntil: null });
    const attempts = await db.query<{ attempt: number; status_code: number }>(
      sql`SELECT attempt, status_code FROM notification_attempts WHERE notification_id = ${id} ORDER BY attempt`,
    );
    expect(attempts).toEqual([
      { attempt: 1, status_code: 500 },
      { attempt: 2, status_code: 200 },
    ]);
  });

  it('are each taken by one of two workers claiming at the same time', async () => {
    const ids = await Promise.all(Array.from({ length: 12 }, () => event()));
    const [a, b] = await Promise.all([claimedIds(8), claimedIds(8)]);
    expect(a.length + b.length).toBe(12);
    expect([...a, ...b].sort()).toEqual([...ids].sort());
    expect(await claimedIds()).toEqual([]);
  });

  it('are not taken while a lease holds them or before their next attempt, and are taken again once the lease has passed', async () => {
    const held = await event();
    const later = await event();
    await db.query(sql`UPDATE notifications SET next_attempt_at = now() + interval '1 minute' WHERE id = ${later}`);
    expect(await claimedIds()).toEqual([held]);
    expect(await claimedIds()).toEqual([]);

    // Its worker renews the hold while the attempt is in flight...
    await db.query(sql`UPDATE notifications SET claimed_until = now() + interval '1 second' WHERE id = ${held}`);
    await outbox.extendClaims([held, later], 30_000);
    const [{ held_ms, later_claim }] = await db.query<{ held_ms: number; later_claim: Date | null }>(
      sql`SELECT (SELECT extract(epoch FROM claimed_until - now()) * 1000 FROM notifications WHERE id = ${held})::float AS held_ms,
                 (SELECT claimed_until FROM notifications WHERE id = ${later}) AS later_claim`,
    );
    expect(held_ms).toBeGreaterThan(25_000);
    expect(later_claim).toBeNull(); // never claimed: a renewal does not claim

    // ...then dies: its lease passes and another worker takes the row.
    await db.query(sql`UPDATE notifications SET claimed_until = now() - interval '1 second' WHERE id = ${held}`);
    expect(await claimedIds()).toEqual([held]);
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
    const [claimed] = await claim();
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
    expect(await claimedIds()).toEqual([]);
    await db.query(sql`UPDATE notifications SET created_at = now() - interval '1 hour' WHERE id = ${email.id}`);
    const stale = await outbox.findStalePending(new Date(), 500);
    expect(stale.map((r) => r.id)).toContain(email.id);
    expect(stale.every((r) => r.channel !== NotificationChannel.Webhook)).toBe(true);
  });
});
