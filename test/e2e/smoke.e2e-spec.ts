import { api } from '../support/app';

describe('the running app', () => {
  it('answers its liveness probe', async () => {
    const res = await api('/health/live');

    expect(res.status).toBe(200);
  });

  it('publishes its OpenAPI document', async () => {
    const res = await api('/docs-json');

    expect(res.status).toBe(200);
    expect(res.body).toHaveProperty('openapi');
  });
});
