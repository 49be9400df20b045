// Webhook endpoints as data: admins register URLs with the events they want, each event goes to each matching
// endpoint with its own delivery record, retried on a schedule kept in Postgres, redelivered on demand, signed with
// a secret that can be rotated without a missed event, and an endpoint that fails for too long is disabled with an
// alert. An app of its own, with seconds where production has hours.
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { api, ApiOptions, tokenFor, uniquePhone, waitFor } from '../support/app';
import { ExtraApp, startExtraApp } from '../support/extra-app';
import { SCENARIO_PHONES, sleep, stkPushBody } from '../support/factories';
import { deleteRedisKeys } from '../support/resources';
import { serviceUrls } from '../support/test-env';
import { ReceivedWebhook, WebhookReceiver } from '../support/webhook-receiver';
import { verifyWebhook } from '../../src/notifications/webhook-signature';

const ROTATION_OVERLAP_SECONDS = 8;
/** The default endpoint's secret before WEBHOOK_SECRET was changed: it still signs beside the new one. */
const PREVIOUS_DEFAULT_SECRET = 'previous-default-webhook-secret';
const DISABLE_AFTER_SECONDS = 18;

describe('Webhook endpoints', () => {
  let app: ExtraApp;
  let pool: Pool;
  let legalpro: WebhookReceiver;
  const receivers: WebhookReceiver[] = [];
  const admin = tokenFor({ sub: `admin-${randomUUID()}`, role: 'admin' });
  const client = { id: `client-${randomUUID()}` };
  const clientToken = tokenFor({ sub: client.id, role: 'client' });
  const call = (path: string, options: ApiOptions = {}) => api(path, { token: admin, ...options, baseUrl: app.url });

  beforeAll(async () => {
    app = await startExtraApp(
      {
        WEBHOOK_RETRY_SCHEDULE_MS: '1000,2000',
        WEBHOOK_SECRET_PREVIOUS: PREVIOUS_DEFAULT_SECRET,
        WEBHOOK_MAX_ATTEMPTS: '40',
        WEBHOOK_ROTATION_OVERLAP_HOURS: String(ROTATION_OVERLAP_SECONDS / 3600),
        WEBHOOK_DISABLE_AFTER_HOURS: String(DISABLE_AFTER_SECONDS / 3600),
        ALERTS_ENABLED: 'true',
        ALERT_EVALUATION_INTERVAL_MS: '1000',
      },
      'webhook-endpoints',
    );
    pool = new Pool({ connectionString: app.databaseUrl, max: 2 });
    legalpro = await WebhookReceiver.start(Number(new URL(app.env.WEBHOOK_URL).port));
  });

  afterAll(async () => {
    for (const r of receivers) await r.stop();
    await legalpro?.stop();
    await pool?.end();
    await app?.stop();
  });

  async function receiver(): Promise<WebhookReceiver> {
    const r = await WebhookReceiver.start(0);
    receivers.push(r);
    return r;
  }

  async function createEndpoint(r: WebhookReceiver, events: string[], description = 'test'): Promise<{ id: string; secret: string }> {
    const res = await call('/api/webhook-endpoints', {
      method: 'POST',
      body: { url: `http://127.0.0.1:${r.port}/hooks`, events, description },
    });
    expect(res.status).toBe(201);
    return { id: res.body.data.id, secret: res.body.data.secret };
  }

  /** An STK push that completes (the simulator's success scenario) or ends as the phone's scenario says. */
  async function pay(phoneNumber: string = uniquePhone()): Promise<string> {
    const res = await call('/api/payments/stk-push', { method: 'POST', token: clientToken, body: stkPushBody({ phoneNumber }) });
    expect(res.status).toBe(201);
    return res.body.data.paymentId;
  }

  const about = (paymentId: string) => (h: ReceivedWebhook) => h.body?.data?.paymentId === paymentId;
  const signature = (h: ReceivedWebhook) => String(h.headers['x-legalpro-signature']);

  async function deliveries(query: Record<string, string>): Promise<any[]> {
    const res = await call('/api/webhook-deliveries', { query: { limit: 100, ...query } });
    expect(res.status).toBe(200);
    return res.body.data.items;
  }

  describe('the admin API', () => {
    it('creates an endpoint and shows its secret once; lists, reads, changes and deletes it', async () => {
      const r = await receiver();
      const created = await call('/api/webhook-endpoints', {
        method: 'POST',
        body: { url: `http://127.0.0.1:${r.port}/hooks`, events: ['payment.*', 'bill.paid'], description: 'LegalPro staging' },
      });
      expect(created.status).toBe(201);
      expect(created.body.data).toMatchObject({
        url: `http://127.0.0.1:${r.port}/hooks`,
        events: ['payment.*', 'bill.paid'],
        enabled: true,
      });
      expect(created.body.data.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
      const id = created.body.data.id;

      const one = await call(`/api/webhook-endpoints/${id}`);
      expect(one.status).toBe(200);
      expect(one.body.data).toMatchObject({ id, description: 'LegalPro staging' });
      expect(JSON.stringify(one.body)).not.toContain(created.body.data.secret);
      expect(one.body.data).not.toHaveProperty('secret');
      const list = await call('/api/webhook-endpoints');
      expect(list.body.data.map((e: any) => e.id)).toContain(id);
      expect(JSON.stringify(list.body)).not.toContain(created.body.data.secret);
      // Stored sealed, not in clear.
      const { rows } = await pool.query('SELECT secret_encrypted FROM webhook_endpoints WHERE id = $1', [id]);
      expect(rows[0].secret_encrypted).toMatch(/^v2\./);
      expect(rows[0].secret_encrypted).not.toContain(created.body.data.secret);

      const patched = await call(`/api/webhook-endpoints/${id}`, { method: 'PATCH', body: { events: ['refund.*'], enabled: false } });
      expect(patched.status).toBe(200);
      expect(patched.body.data).toMatchObject({ events: ['refund.*'], enabled: false, disabledReason: 'admin' });

      expect((await call(`/api/webhook-endpoints/${id}`, { method: 'DELETE' })).status).toBe(204);
      expect((await call(`/api/webhook-endpoints/${id}`)).status).toBe(404);
      const audit = await pool.query(`SELECT action FROM audit_events WHERE entity_id = $1 ORDER BY id`, [id]);
      expect(audit.rows.map((a) => a.action)).toEqual(['webhook_endpoint.created', 'webhook_endpoint.updated', 'webhook_endpoint.deleted']);
    });

    it('is for admins only', async () => {
      const body = { url: 'http://127.0.0.1:9/hooks', events: ['*'] };
      expect((await call('/api/webhook-endpoints', { method: 'POST', body, token: clientToken })).status).toBe(403);
      expect((await call('/api/webhook-endpoints', { token: clientToken })).status).toBe(403);
      expect((await call('/api/webhook-deliveries', { token: clientToken })).status).toBe(403);
      expect((await call('/api/webhook-endpoints', { token: undefined })).status).toBe(401);
    });

    it.each([
      [{ url: 'ftp://127.0.0.1/hooks', events: ['*'] }, 'url'],
      [{ url: 'http://127.0.0.1/hooks', events: [] }, 'events'],
      [{ url: 'http://127.0.0.1/hooks', events: ['payments.*'] }, 'payments.*'],
      [{ url: 'http://127.0.0.1/hooks', events: ['bill.payed'] }, 'bill.payed'],
      [{ url: 'https://user:secret@hooks.example/hooks', events: ['*'] }, 'user name or password'],
    ])('refuses %j with a 400 naming the problem, and writes nothing', async (body, named) => {
      const before = (await pool.query('SELECT count(*)::int AS n FROM webhook_endpoints')).rows[0].n;
      const res = await call('/api/webhook-endpoints', { method: 'POST', body });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toContain(named);
      expect((await pool.query('SELECT count(*)::int AS n FROM webhook_endpoints')).rows[0].n).toBe(before);
    });
  });

  describe('delivery', () => {
    it('routes each event by pattern to every matching endpoint, each with its own delivery record', async () => {
      const [onlyCompleted, allPayments, reviewsOnly] = [await receiver(), await receiver(), await receiver()];
      const a = await createEndpoint(onlyCompleted, ['payment.completed']);
      const b = await createEndpoint(allPayments, ['payment.*']);
      const c = await createEndpoint(reviewsOnly, ['review.*']);

      const completed = await pay();
      const cancelled = await pay(SCENARIO_PHONES.cancelledByUser);

      const toA = await onlyCompleted.waitFor(about(completed), 30_000);
      const toB = await allPayments.waitFor(about(completed), 30_000);
      const cancelledToB = await allPayments.waitFor(about(cancelled), 30_000);
      const toDefault = await legalpro.waitFor(about(completed), 30_000);
      expect(cancelledToB.body.event).toBe('payment.cancelled');
      // One event: the same id and bytes everywhere; each endpoint's signature under its own secret.
      expect(toA.body.id).toBe(toDefault.body.id);
      expect(toA.rawBody).toBe(toB.rawBody);
      expect(toA.headers['x-legalpro-delivery']).toBe(toA.body.id);
      expect(verifyWebhook(a.secret, toA.rawBody, signature(toA))).toBe(true);
      expect(verifyWebhook(b.secret, toA.rawBody, signature(toA))).toBe(false);
      expect(verifyWebhook(b.secret, toB.rawBody, signature(toB))).toBe(true);
      await sleep(1_500);
      expect(onlyCompleted.received.filter(about(cancelled))).toHaveLength(0);
      expect(reviewsOnly.received.filter((h) => about(completed)(h) || about(cancelled)(h))).toHaveLength(0);

      const ofA = await waitFor(async () => {
        const rows = await deliveries({ endpointId: a.id });
        return rows.length === 1 && rows[0].status === 'delivered' && rows;
      });
      expect(ofA[0]).toMatchObject({ eventId: toA.body.id, event: 'payment.completed', attempts: 1, lastStatusCode: 200 });
      const ofB = await waitFor(async () => {
        const rows = await deliveries({ endpointId: b.id, status: 'delivered' });
        return rows.length === 2 && rows;
      });
      expect(ofB.map((d) => d.event).sort()).toEqual(['payment.cancelled', 'payment.completed']);
      expect(await deliveries({ endpointId: c.id })).toEqual([]);
      // The default endpoint's record is the outbox row, as before.
      expect((await deliveries({ endpointId: 'default', event: 'payment.*' })).map((d) => d.eventId)).toContain(toDefault.body.id);
      for (const e of [a, b, c]) await call(`/api/webhook-endpoints/${e.id}`, { method: 'DELETE' });
    });

    it('gets every event to a receiver that answered 503 for a while, each attempt recorded', async () => {
      const r = await receiver();
      r.respondWith(503);
      const e = await createEndpoint(r, ['payment.completed']);
      const payments = [await pay(), await pay(), await pay()];
      await waitFor(() => payments.every((p) => r.received.some(about(p))), {
        timeoutMs: 30_000,
        message: 'a refused first attempt of each',
      });
      await sleep(2_500);
      r.respondWith(200);

      const delivered = await waitFor(
        async () => {
          const rows = await deliveries({ endpointId: e.id, status: 'delivered' });
          return rows.length === 3 && rows;
        },
        { timeoutMs: 40_000, message: 'all three deliveries once the receiver is back' },
      );
      for (const d of delivered) {
        expect(d.attempts).toBeGreaterThanOrEqual(2);
        const attempts = (await call(`/api/webhook-deliveries/${d.id}/attempts`)).body.data;
        expect(attempts.at(-1)).toMatchObject({ statusCode: 200, error: null });
        expect(attempts.slice(0, -1).every((a: any) => a.statusCode === 503 && a.error === 'HTTP 503')).toBe(true);
      }
      for (const p of payments) {
        const got = r.received.filter(about(p));
        expect(new Set(got.map((h) => h.body.id)).size).toBe(1);
        expect(got.at(-1)?.rawBody).toBe(got[0].rawBody);
      }
      await call(`/api/webhook-endpoints/${e.id}`, { method: 'DELETE' });
    });

    it('signs with the old and the new secret during a rotation, and with the new one only after it', async () => {
      const r = await receiver();
      const e = await createEndpoint(r, ['payment.completed']);
      const rotated = await call(`/api/webhook-endpoints/${e.id}/rotate-secret`, { method: 'POST' });
      expect(rotated.status).toBe(200);
      const fresh = rotated.body.data.secret as string;
      expect(fresh).toMatch(/^whsec_/);
      expect(fresh).not.toBe(e.secret);
      expect(JSON.stringify((await call(`/api/webhook-endpoints/${e.id}`)).body)).not.toContain(fresh);

      const during = await r.waitFor(about(await pay()), 30_000);
      expect(signature(during)).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
      expect(verifyWebhook(fresh, during.rawBody, signature(during))).toBe(true);
      expect(verifyWebhook(e.secret, during.rawBody, signature(during))).toBe(true);

      await waitFor(async () => new Date(rotated.body.data.previousSecretExpiresAt).getTime() < Date.now(), {
        timeoutMs: (ROTATION_OVERLAP_SECONDS + 5) * 1000,
      });
      const after = await r.waitFor(about(await pay()), 30_000);
      expect(signature(after)).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(verifyWebhook(fresh, after.rawBody, signature(after))).toBe(true);
      expect(verifyWebhook(e.secret, after.rawBody, signature(after))).toBe(false);
      await call(`/api/webhook-endpoints/${e.id}`, { method: 'DELETE' });
    });

    it("signs the default endpoint's webhooks with WEBHOOK_SECRET and, while it is set, WEBHOOK_SECRET_PREVIOUS", async () => {
      const paymentId = await pay();

      const hook = await legalpro.waitFor(about(paymentId), 30_000);

      expect(signature(hook)).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
      expect(verifyWebhook(app.env.WEBHOOK_SECRET, hook.rawBody, signature(hook))).toBe(true);
      expect(verifyWebhook(PREVIOUS_DEFAULT_SECRET, hook.rawBody, signature(hook))).toBe(true);
      expect(verifyWebhook('some-other-webhook-secret', hook.rawBody, signature(hook))).toBe(false);
    });

    it('redelivers one delivery: the same event id and body, newly signed', async () => {
      const r = await receiver();
      const e = await createEndpoint(r, ['payment.completed']);
      const first = await r.waitFor(about(await pay()), 30_000);
      const [delivery] = await waitFor(async () => {
        const rows = await deliveries({ endpointId: e.id, status: 'delivered' });
        return rows.length === 1 && rows;
      });
      await sleep(1_100); // a new second, so the new signature has a new timestamp

      const res = await call(`/api/webhook-deliveries/${delivery.id}/redeliver`, { method: 'POST' });
      expect(res.status).toBe(202);
      const again = await waitFor(() => r.received.filter((h) => h.body?.id === first.body.id)[1], { timeoutMs: 30_000 });

      expect(again.rawBody).toBe(first.rawBody);
      expect(again.headers['x-legalpro-delivery']).toBe(first.body.id);
      expect(signature(again)).not.toBe(signature(first));
      expect(verifyWebhook(e.secret, again.rawBody, signature(again))).toBe(true);
      const row = await waitFor(async () =>
        (await deliveries({ endpointId: e.id })).find((d) => d.status === 'delivered' && d.attempts === 2),
      );
      expect(row.id).toBe(delivery.id);

      // The default endpoint's (WEBHOOK_URL) delivery is redelivered the same way: its id is the event's.
      const toDefault = await legalpro.waitFor((h) => h.body?.id === first.body.id, 30_000);
      await waitFor(async () => (await deliveries({ endpointId: 'default', status: 'delivered' })).some((d) => d.id === first.body.id));
      expect((await call(`/api/webhook-deliveries/${first.body.id}/redeliver`, { method: 'POST' })).status).toBe(202);
      const againToDefault = await waitFor(() => legalpro.received.filter((h) => h.body?.id === first.body.id)[1], { timeoutMs: 30_000 });
      expect(againToDefault.rawBody).toBe(toDefault.rawBody);
      const outbox = await waitFor(async () => {
        const { rows } = await pool.query(`SELECT status, attempts FROM notifications WHERE id = $1`, [first.body.id]);
        return rows[0]?.status === 'delivered' && rows[0].attempts === 2 && rows[0];
      });
      expect(outbox).toEqual({ status: 'delivered', attempts: 2 });
      await call(`/api/webhook-endpoints/${e.id}`, { method: 'DELETE' });
    });

    it('redelivers every failed delivery of an endpoint since a time, once it is back', async () => {
      const r = await receiver();
      r.respondWith(500);
      const e = await createEndpoint(r, ['payment.completed']);
      const since = new Date().toISOString();
      const payments = [await pay(), await pay()];
      await waitFor(() => payments.every((p) => r.received.some(about(p))), { timeoutMs: 30_000 });
      // The receiver is broken: an admin pauses the endpoint; its pending deliveries end failed.
      await call(`/api/webhook-endpoints/${e.id}`, { method: 'PATCH', body: { enabled: false } });
      const failed = await waitFor(
        async () => {
          const rows = await deliveries({ endpointId: e.id, status: 'failed' });
          return rows.length === 2 && rows;
        },
        { timeoutMs: 20_000 },
      );
      expect(failed.every((d) => d.lastError === 'endpoint disabled' || /HTTP 500/.test(d.lastError))).toBe(true);
      expect((await call(`/api/webhook-endpoints/${e.id}/redeliver`, { method: 'POST', body: { since } })).status).toBe(409);
      // An event while it is disabled: nothing is sent, but its delivery is recorded (failed) for the catch-up.
      const whileDisabled = await pay();
      await waitFor(
        async () => {
          const rows = await deliveries({ endpointId: e.id, status: 'failed' });
          return rows.length === 3;
        },
        { timeoutMs: 20_000, message: 'the event of the disabled period to be recorded for the endpoint' },
      );
      expect(r.received.filter(about(whileDisabled))).toHaveLength(0);

      r.respondWith(200);
      await call(`/api/webhook-endpoints/${e.id}`, { method: 'PATCH', body: { enabled: true } });
      const res = await call(`/api/webhook-endpoints/${e.id}/redeliver`, { method: 'POST', body: { since } });
      expect(res.status).toBe(202);
      expect(res.body.data).toEqual({ queued: 3 });

      await waitFor(
        async () => {
          const rows = await deliveries({ endpointId: e.id, status: 'delivered' });
          return rows.length === 3;
        },
        { timeoutMs: 20_000, message: 'every failed delivery to be delivered' },
      );
      for (const p of payments) {
        const got = r.received.filter(about(p));
        expect(got.at(-1)?.rawBody).toBe(got[0].rawBody);
      }
      expect(r.received.filter(about(whileDisabled))).toHaveLength(1);
      const bad = await call(`/api/webhook-endpoints/${e.id}/redeliver`, { method: 'POST', body: { since: 'yesterday' } });
      expect(bad.status).toBe(400);
      await call(`/api/webhook-endpoints/${e.id}`, { method: 'DELETE' });
    });

    it('lists deliveries by status, endpoint, event and time, paged', async () => {
      const page = await call('/api/webhook-deliveries', {
        query: { event: 'payment.*', from: new Date(0).toISOString(), limit: 2, page: 1 },
      });
      expect(page.status).toBe(200);
      expect(page.body.data).toMatchObject({ page: 1, limit: 2 });
      expect(page.body.data.items.length).toBeLessThanOrEqual(2);
      expect(page.body.data.total).toBeGreaterThanOrEqual(page.body.data.items.length);
      expect(page.body.data.items.every((d: any) => d.event.startsWith('payment.'))).toBe(true);
      const future = await call('/api/webhook-deliveries', { query: { from: new Date(Date.now() + 86_400_000).toISOString() } });
      expect(future.body.data.items).toEqual([]);
      expect((await call('/api/webhook-deliveries', { query: { status: 'lost' } })).status).toBe(400);
      expect((await call('/api/webhook-deliveries', { query: { endpointId: 'nope' } })).status).toBe(400);
    });
  });

  describe('durability', () => {
    it('loses no pending delivery when Redis loses every job: Postgres holds it and the outbox sweep queues it again', async () => {
      const r = await receiver();
      r.respondWith(503);
      const e = await createEndpoint(r, ['payment.completed']);
      const paymentId = await pay();
      await r.waitFor(about(paymentId), 30_000);
      await legalpro.waitFor(about(paymentId), 30_000);

      // Every key of this app (its queues, delayed jobs and schedulers) is gone, as after a FLUSHALL.
      expect(await deleteRedisKeys(serviceUrls().redisUrl, `${app.redisKeyPrefix}:*`)).toBeGreaterThan(0);
      r.respondWith(200);

      const [delivery] = await waitFor(
        async () => {
          const rows = await deliveries({ endpointId: e.id, status: 'delivered' });
          return rows.length === 1 && rows;
        },
        { timeoutMs: 90_000, message: 'the delivery to be queued again from Postgres and delivered' },
      );
      expect(delivery.attempts).toBeGreaterThanOrEqual(2);
      expect(r.received.filter(about(paymentId)).at(-1)?.body.id).toBe(delivery.eventId);
      await call(`/api/webhook-endpoints/${e.id}`, { method: 'DELETE' });
    });
  });

  describe('an endpoint that keeps failing', () => {
    it('is disabled after failing continuously, audited, and raises webhook_endpoint_disabled until it is enabled again', async () => {
      const r = await receiver();
      r.respondWith(500);
      const e = await createEndpoint(r, ['payment.completed']);
      await pay();

      const disabled = await waitFor(
        async () => {
          const res = await call(`/api/webhook-endpoints/${e.id}`);
          return res.body.data.enabled === false && res.body.data;
        },
        { timeoutMs: (DISABLE_AFTER_SECONDS + 30) * 1000, message: 'the endpoint to be disabled' },
      );
      expect(disabled.disabledReason).toBe('failing');
      const audit = await pool.query(
        `SELECT actor_type, metadata FROM audit_events WHERE entity_id = $1 AND action = 'webhook_endpoint.disabled'`,
        [e.id],
      );
      expect(audit.rows).toHaveLength(1);
      expect(audit.rows[0].actor_type).toBe('system');
      const [delivery] = await waitFor(async () => {
        const rows = await deliveries({ endpointId: e.id, status: 'failed' });
        return rows.length === 1 && rows;
      });
      expect(delivery.lastError).toMatch(/HTTP 500|endpoint disabled/);

      // Operators hear it the way they hear every alert: alert.raised (webhook, and email to ALERT_EMAIL_TO).
      const raised = await legalpro.waitFor(
        (h) => h.body?.event === 'alert.raised' && h.body?.data?.rule === 'webhook_endpoint_disabled',
        20_000,
      );
      expect(raised.body.data).toMatchObject({ status: 'firing', value: 1 });

      r.respondWith(200);
      expect((await call(`/api/webhook-endpoints/${e.id}`, { method: 'PATCH', body: { enabled: true } })).body.data).toMatchObject({
        enabled: true,
        disabledReason: null,
        failingSince: null,
      });
      await legalpro.waitFor((h) => h.body?.event === 'alert.resolved' && h.body?.data?.rule === 'webhook_endpoint_disabled', 20_000);
      await call(`/api/webhook-endpoints/${e.id}`, { method: 'DELETE' });
    });
  });
});
