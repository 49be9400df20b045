// bull-board at /admin/queues: every queue the service registers is on it, and its page, files and API answer
// admins only (bull-board's routes are plain Fastify routes, outside Nest's guards).
import { api, tokenFor } from '../support/app';
import { auditEventsForRequest, newAdmin, newClient } from '../support/factories';

const QUEUES = ['alerts', 'notifications', 'payments'];

describe('Queues dashboard /admin/queues', () => {
  const admin = newAdmin();
  const client = newClient();

  it('refuses the page without a token with 401 in the API error shape, and audits it', async () => {
    const res = await api('/admin/queues', { headers: { accept: 'text/html' } });

    expect(res.status).toBe(401);
    expect(res.body).toEqual({ success: false, message: 'Missing bearer token', code: 'UNAUTHENTICATED' });
    expect(await auditEventsForRequest(res.headers['x-request-id'])).toEqual([
      expect.objectContaining({ action: 'auth.failed', entity_type: 'route', entity_id: 'GET /admin/queues' }),
    ]);
    // Fastify's automatic HEAD routes are dashboard routes too.
    expect((await api('/admin/queues', { method: 'HEAD' })).status).toBe(401);
  });

  it('refuses the API with a forged token with 401', async () => {
    const forged = tokenFor({ sub: admin.id, role: 'admin' }).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    const res = await api('/admin/queues/api/queues', { token: forged });

    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ success: false, code: 'UNAUTHENTICATED', message: 'Invalid token' });
    expect(res.text).not.toContain('payments');
  });

  it('cannot be reached without a token by spelling the path differently', async () => {
    for (const path of ['/admin/%71ueues/api/queues', '/admin/queues/api/queues/', '/admin//queues/api/queues']) {
      const res = await api(path);
      expect([path, [401, 404]]).toEqual([path, expect.arrayContaining([res.status])]);
      expect(res.text).not.toContain('"queues"');
    }
  });

  it('refuses a client token with 403 on the page, the static files and the API, and audits it', async () => {
    const page = await api('/admin/queues', { token: client.token, headers: { accept: 'text/html' } });
    const file = await api('/admin/queues/static/js/main.js', { token: client.token });
    const queues = await api('/admin/queues/api/queues', { token: client.token });

    for (const res of [page, file, queues]) {
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ success: false, message: 'This action requires the admin role', code: 'FORBIDDEN' });
    }
    expect(await auditEventsForRequest(queues.headers['x-request-id'])).toEqual([
      expect.objectContaining({ action: 'auth.forbidden', actor_id: client.id }),
    ]);
  });

  it('refuses a client who tries to pause a queue, and the queue keeps running', async () => {
    const res = await api('/admin/queues/api/queues/payments/pause', { method: 'PUT', token: client.token });

    expect(res.status).toBe(403);
    const board = await api('/admin/queues/api/queues', { token: admin.token });
    expect(board.body.queues.find((q: { name: string }) => q.name === 'payments')).toMatchObject({ isPaused: false });
  });

  it('serves an admin the page and its scripts', async () => {
    const res = await api('/admin/queues', { token: admin.token, headers: { accept: 'text/html' } });

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toContain('<title>LegalPro queues</title>');
    const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(res.text)?.[1];
    expect(script).toBeDefined();
    const js = await api(`/admin/queues/${script}`, { token: admin.token, headers: { accept: '*/*' } });
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
  });

  it('lists every BullMQ queue of the service to an admin', async () => {
    const res = await api('/admin/queues/api/queues', { token: admin.token });

    expect(res.status).toBe(200);
    const names = res.body.queues.map((q: { name: string }) => q.name);
    expect(names).toEqual(expect.arrayContaining(QUEUES));
    expect(new Set(names).size).toBe(names.length);
  });
});
