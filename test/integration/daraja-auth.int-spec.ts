// The shared Daraja token on real Redis, against a stand-in OAuth endpoint speaking Daraja's JSON: a token Daraja
// refused is never handed out again by this process, even when a cache read that raced the invalidation brings it
// back (ten pushes meeting a revoked token at once once resent one of them with the refused token).
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { FieldEncryptionService } from '../../src/common/crypto/field-encryption.service';
import { FIELDS } from '../../src/common/crypto/sealed-field';
import { RedisKeys } from '../../src/common/redis/redis.module';
import { buildConfig } from '../../src/config/configuration';
import type { redisConfig } from '../../src/config/configuration';
import { validateEnv } from '../../src/config/env.validation';
import { DarajaAuthService } from '../../src/mpesa/daraja-auth.service';
import { DarajaHttp } from '../../src/mpesa/daraja-http';
import { IntegrationRedis, openIntegrationRedis } from '../support/integration';

let redis: IntegrationRedis;
let server: Server;
let issued = 0;

beforeAll(async () => {
  redis = await openIntegrationRedis();
  // Daraja's OAuth answer: a new token per call.
  server = createServer((req, res) => {
    issued += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ access_token: `token-${issued}`, expires_in: '3599' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await redis.close();
});

function authService(): { auth: DarajaAuthService; cacheKey: string; crypto: FieldEncryptionService } {
  const port = (server.address() as AddressInfo).port;
  const config = buildConfig(validateEnv({ MPESA_BASE_URL: `http://127.0.0.1:${port}` }));
  const keys = new RedisKeys({ ...config.redis, keyPrefix: redis.newKeyPrefix() } as ReturnType<typeof redisConfig>);
  const crypto = new FieldEncryptionService(config.security);
  const auth = new DarajaAuthService(config.mpesa, redis.redis, keys, crypto, undefined, undefined, new DarajaHttp(config.mpesa));
  // The cache key as the service derives it (its own rule: environment and a hash of the consumer key).
  const cacheKey = (auth as unknown as { cacheKey: string }).cacheKey;
  return { auth, cacheKey, crypto };
}

describe('the shared Daraja token', () => {
  it('is fetched once and reused from the shared cache', async () => {
    const { auth } = authService();
    const before = issued;
    const first = await auth.getToken();
    expect(await auth.getToken()).toBe(first);
    expect(issued - before).toBe(1);
  });

  it('is never handed out again once Daraja refused it, even when a racing read puts it back in the cache', async () => {
    const { auth, cacheKey, crypto } = authService();
    const refused = await auth.getToken();
    await auth.invalidate(refused);
    // A read that started before the invalidation, finishing after it: the refused token is in the cache again.
    const stale = JSON.stringify({ token: refused, expiresAt: Date.now() + 60_000 });
    await redis.redis.set(cacheKey, crypto.encrypt(stale, FIELDS.darajaToken(cacheKey)), 'PX', 60_000);

    const before = issued;
    const next = await auth.getToken();

    expect(next).not.toBe(refused);
    expect(issued - before).toBe(1);
    expect(await auth.getToken()).toBe(next);
  });
});
