// "Daraja" keeps its memory when the service's Redis loses everything (issue 11): the embedded simulator has its own
// Redis connection, by default the next logical database of the service's server under its own key prefix, or a
// server of its own (SIMULATOR_REDIS_URL). Each app here gets a Redis server of its own, so the flushes touch
// nothing shared with other runs.
import Redis from 'ioredis';
import { darajaTimestamp, stkPassword } from '../../src/mpesa/daraja-time';
import { PrivateRedis, startPrivateRedis } from '../../src/mpesa/simulator/standalone/private-redis';
import { ExtraApp, startExtraApp } from '../support/extra-app';

const SHORTCODE = '174379';
const PASSKEY = 'bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919';
/** The no-answer scenario: no callback, STK Query says "being processed" until SIMULATOR_NO_ANSWER_MS. */
const NO_ANSWER_PHONE = '254700001037';

async function post(url: string, body: unknown, token?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

/** A Daraja client of the app's embedded simulator, as the app's own client talks to it (Kenya time: strict mode). */
function darajaOf(app: ExtraApp) {
  const base = `${app.url}/simulator/daraja`;
  const security = (timestamp = darajaTimestamp()) => ({
    BusinessShortCode: SHORTCODE,
    Password: stkPassword(SHORTCODE, PASSKEY, timestamp),
    Timestamp: timestamp,
  });
  return {
    async token(): Promise<string> {
      const basic = Buffer.from('simulator-consumer-key:simulator-consumer-secret').toString('base64');
      const res = await fetch(`${base}/oauth/v1/generate?grant_type=client_credentials`, { headers: { authorization: `Basic ${basic}` } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { access_token: string }).access_token;
    },
    push: (token: string, timestamp?: string) =>
      post(
        `${base}/mpesa/stkpush/v1/processrequest`,
        {
          ...security(timestamp),
          TransactionType: 'CustomerPayBillOnline',
          Amount: 10,
          PartyA: NO_ANSWER_PHONE,
          PartyB: SHORTCODE,
          PhoneNumber: NO_ANSWER_PHONE,
          CallBackURL: 'http://127.0.0.1:9/never-called',
          AccountReference: 'FLUSH',
          TransactionDesc: 'flush test',
        },
        token,
      ),
    query: (token: string, checkoutRequestId: string) =>
      post(`${base}/mpesa/stkpushquery/v1/query`, { ...security(), CheckoutRequestID: checkoutRequestId }, token),
  };
}

async function withRedis<T>(url: string, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { maxRetriesPerRequest: 2 });
  try {
    return await fn(redis);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

/** The pending push, as STK Query tells it: "being processed", with the push's CheckoutRequestID as the request id. */
function expectStillPending(answer: { status: number; body: any }, checkoutRequestId: string) {
  expect(answer.status).toBe(500);
  expect(answer.body).toEqual({
    requestId: checkoutRequestId,
    errorCode: '500.001.1001',
    errorMessage: 'The transaction is being processed',
  });
}

// Long enough for a whole test: the push stays pending and the token current while the flush happens.
const SLOW_CLOCKS = { SIMULATOR_NO_ANSWER_MS: '300000', SIMULATOR_TOKEN_TTL_SECONDS: '600' };

describe('the embedded simulator keeps its state when the service Redis is flushed', () => {
  const servers: PrivateRedis[] = [];
  const apps: ExtraApp[] = [];

  afterAll(async () => {
    for (const app of apps) await app.stop();
    for (const server of servers) server.stop();
  });

  async function redisServer(): Promise<string> {
    const server = await startPrivateRedis();
    servers.push(server);
    return server.url;
  }

  it('default (next database of the same server): after FLUSHDB of the service database, a pending push is still known to STK Query', async () => {
    const serviceRedis = await redisServer();
    const app = await startExtraApp({ REDIS_URL: serviceRedis, ...SLOW_CLOCKS }, 'simulator-flushdb');
    apps.push(app);
    const daraja = darajaOf(app);

    const token = await daraja.token();
    const pushed = await daraja.push(token);
    expect(pushed.status).toBe(200);
    const checkoutRequestId = pushed.body.CheckoutRequestID as string;
    expectStillPending(await daraja.query(token, checkoutRequestId), checkoutRequestId);
    // The state is where the docs say: database 1, under `<REDIS_KEY_PREFIX>-daraja`; none of it in database 0.
    const simulatorKeys = await withRedis(`${serviceRedis}/1`, (r) => r.keys(`${app.redisKeyPrefix}-daraja:sim:*`));
    expect(simulatorKeys.length).toBeGreaterThan(0);
    expect(await withRedis(`${serviceRedis}/0`, (r) => r.keys(`${app.redisKeyPrefix}-daraja:*`))).toEqual([]);

    expect(await withRedis(`${serviceRedis}/0`, (r) => r.flushdb())).toBe('OK');

    // Same token, same push: Daraja forgot nothing.
    expectStillPending(await daraja.query(token, checkoutRequestId), checkoutRequestId);
    const control = await fetch(`${app.url}/simulator/control/stk/${checkoutRequestId}`);
    expect(control.status).toBe(200);
    expect(await control.json()).toMatchObject({ checkoutRequestId, phone: NO_ANSWER_PHONE, settled: false });
  }, 180_000);

  it('a server of its own (SIMULATOR_REDIS_URL): after FLUSHALL of the service server, a pending push is still known to STK Query', async () => {
    const [serviceRedis, simulatorRedis] = [await redisServer(), await redisServer()];
    const app = await startExtraApp({ REDIS_URL: serviceRedis, SIMULATOR_REDIS_URL: simulatorRedis, ...SLOW_CLOCKS }, 'simulator-flushall');
    apps.push(app);
    const daraja = darajaOf(app);

    const token = await daraja.token();
    const pushed = await daraja.push(token);
    expect(pushed.status).toBe(200);
    const checkoutRequestId = pushed.body.CheckoutRequestID as string;

    expect(await withRedis(serviceRedis, (r) => r.flushall())).toBe('OK');

    expectStillPending(await daraja.query(token, checkoutRequestId), checkoutRequestId);
    // And a second push to the same phone is still refused: the subscriber lock survived too.
    expect((await daraja.push(token)).body).toMatchObject({
      errorCode: '500.001.1001',
      errorMessage: expect.stringMatching(/Unable to lock subscriber/),
    });
  }, 180_000);

  it('the embedded simulator stays strict about time: a UTC Timestamp is refused', async () => {
    const app = apps[0];
    const daraja = darajaOf(app);
    const utc = new Date()
      .toISOString()
      .replace(/[^0-9]/g, '')
      .slice(0, 14);
    const refused = await daraja.push(await daraja.token(), utc);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ errorCode: '400.002.02', errorMessage: 'Bad Request - Invalid Timestamp' });
  });
});
