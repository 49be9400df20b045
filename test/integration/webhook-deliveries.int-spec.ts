// The webhook tables on real Postgres: one delivery per event and endpoint however many jobs fan out at once, a
// finished delivery that a late duplicate cannot reopen, and an endpoint disabled once however many workers see it fail.
import { randomUUID } from 'node:crypto';
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

describe('an event read for delivery', () => {
  it('comes with the endpoints to fan it out to until its fan-out is recorded, then without them', async () => {
    const on = await endpoint();
    const id = await event();
    const first = await outbox.findForDelivery<{ id: string; enabled: boolean; events: string[] }>(id, endpoints.routesSql());
    expect(first?.notification).toMatchObject({ id, event: 'payment.completed', status: 'pending', attempts: 0 });
    expect(first?.routes).toEqual(expect.arrayContaining([{ id: on, enabled: true, events: ['payment.*'] }]));
    expect(first?.routes).toHaveLength((await endpoints.list()).length);

    // The default endpoint's attempt records the fan-out in its own statement.
    await outbox.recordAttempt({
      notificationId: id,
      attempt: 1,
      statusCode: 200,
      error: null,
      durationMs: 5,
      final: true,
      fannedOut: true,
    });
    const after = await outbox.findForDelivery(id, endpoints.routesSql());
    expect(after?.notification).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(after?.notification.endpointsFannedOutAt).toBeInstanceOf(Date);
    expect(after?.routes).toBeNull();
    expect(await outbox.findForDelivery(randomUUID(), endpoints.routesSql())).toBeNull();
  });
});
