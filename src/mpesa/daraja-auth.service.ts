import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import Redis from 'ioredis';
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { FIELDS } from '../common/crypto/sealed-field';
import { REDIS_CLIENT, RedisKeys } from '../common/redis/redis.module';
import { redact } from '../common/redaction';
import { mpesaConfig } from '../config/configuration';
import { DarajaCallBudgetService } from './daraja-call-budget.service';
import { classifyNetworkError, DarajaError, DarajaOutcome, readErrorBody } from './daraja-errors';
import { DarajaCallObservers } from './daraja-call-observers';
import { DarajaHttp } from './daraja-http';
import { OAuthResponse } from './daraja.types';

const LOCK_TTL_MS = 15_000;
const WAIT_POLL_MS = 50;
/** How long a token read from the shared cache is reused without asking Redis again. */
const REMEMBER_MS = 5_000;
/** How many refused tokens a process keeps (one is refused per token change; a few cover racing invalidations). */
const REFUSED_KEPT = 8;

// Deletes a key only if it still holds the value we saw, so one process never drops another's fresher token.
const COMPARE_AND_DELETE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

interface CachedToken {
  token: string;
  expiresAt: number;
}

/**
 * Daraja OAuth tokens shared by every process through Redis (encrypted at rest), refreshed before they expire.
 * Daraja invalidates the previous token when a new one is issued, so exactly one fetch may run fleet-wide:
 * a Redis lock elects the fetcher and the others wait for the cache to fill.
 */
@Injectable()
export class DarajaAuthService {
  private readonly logger = new Logger(DarajaAuthService.name);
  private readonly cacheKey: string;
  private readonly lockKey: string;
  private inFlight?: Promise<string>;
  /**
   * The shared token as this process last read it from Redis, reused for REMEMBER_MS (never past its expiry): a
   * Redis GET and an AES-GCM decryption per Daraja call were a few per cent of an STK push's CPU. A token another
   * process replaced meanwhile is refused by Daraja as invalid (a refusal of a request it did not process), and
   * `invalidate` forgets it before the one resend (DarajaClient.post).
   */
  private remembered?: { token: string; until: number };
  /**
   * The last tokens Daraja refused in this process: never handed out again. A read of the cache that started before
   * an invalidation can still return the refused token after it (and remember it), and a resend with it is refused
   * once more (a push answered 202 instead of 201 when ten pushes met a revoked token at once).
   */
  private readonly refused: string[] = [];

  constructor(
    @Inject(mpesaConfig.KEY) private readonly settings: ConfigType<typeof mpesaConfig>,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    keys: RedisKeys,
    private readonly crypto: FieldEncryptionService,
    // Both absent only in `npm run preflight`, which reads the recorded clock skew and never fetches a token.
    @Optional() private readonly observer?: DarajaCallObservers,
    @Optional() private readonly budget?: DarajaCallBudgetService,
    @Optional() private readonly http?: DarajaHttp,
  ) {
    const account = createHash('sha256').update(settings.consumerKey).digest('hex').slice(0, 16);
    this.cacheKey = keys.key('mpesa', 'oauth', settings.environment, account);
    this.lockKey = `${this.cacheKey}:lock`;
  }

  async getToken(): Promise<string> {
    if (this.remembered && this.remembered.until > Date.now() && !this.refused.includes(this.remembered.token))
      return this.remembered.token;
    let cached: CachedToken | undefined;
    try {
      cached = await this.readCachedToken();
    } catch (error) {
      // The token is shared through Redis; without it every process would fetch its own, and the fleet-wide budget
      // (also in Redis) cannot be honoured either. Nothing was sent: the caller may send again later.
      throw new DarajaError(
        DarajaOutcome.NotSent,
        `Not sent: the shared Daraja token could not be read from Redis (${error instanceof Error ? error.message : String(error)})`,
        null,
        null,
        'budget',
      );
    }
    if (cached && !this.refused.includes(cached.token)) {
      this.remembered = { token: cached.token, until: Math.min(cached.expiresAt, Date.now() + REMEMBER_MS) };
      return cached.token;
    }
    // One fetch per process at a time; the Redis lock extends that to one per fleet.
    this.inFlight ??= this.acquire().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /** Drops the cached token if it is still the one Daraja refused. */
  async invalidate(token: string): Promise<void> {
    if (!this.refused.includes(token)) this.refused.push(token);
    if (this.refused.length > REFUSED_KEPT) this.refused.shift();
    if (this.remembered?.token === token) this.remembered = undefined;
    const raw = await this.redis.get(this.cacheKey);
    if (raw && this.decode(raw)?.token === token) {
      await this.redis.eval(COMPARE_AND_DELETE, 1, this.cacheKey, raw);
    }
  }

  private async readCache(): Promise<string | undefined> {
    const token = (await this.readCachedToken())?.token;
    return token && !this.refused.includes(token) ? token : undefined;
  }

  private async readCachedToken(): Promise<CachedToken | undefined> {
    const raw = await this.redis.get(this.cacheKey);
    const cached = raw ? this.decode(raw) : undefined;
    return cached && cached.expiresAt > Date.now() ? cached : undefined;
  }

  private decode(raw: string): CachedToken | undefined {
    try {
      return JSON.parse(this.crypto.decrypt(raw, FIELDS.darajaToken(this.cacheKey))) as CachedToken;
    } catch {
      return undefined; // written with a key we no longer hold, or in an older format: fetch a new one
    }
  }

  private async acquire(): Promise<string> {
    const deadline = Date.now() + LOCK_TTL_MS * 2;
    while (Date.now() < deadline) {
      const lockValue = randomUUID();
      const locked = await this.redis.set(this.lockKey, lockValue, 'PX', LOCK_TTL_MS, 'NX');
      if (locked) {
        try {
          // Another process may have filled the cache between our read and our lock.
          return (await this.readCache()) ?? (await this.fetchAndStore());
        } finally {
          await this.redis.eval(COMPARE_AND_DELETE, 1, this.lockKey, lockValue);
        }
      }
      await sleep(WAIT_POLL_MS);
      const token = await this.readCache();
      if (token) return token;
    }
    // No token, so the request that needed one was never sent.
    throw new DarajaError(DarajaOutcome.NotSent, 'Timed out waiting for another process to fetch a Daraja token');
  }

  private async fetchAndStore(): Promise<string> {
    const endpoint = '/oauth/v1/generate?grant_type=client_credentials';
    const started = Date.now();
    const basic = Buffer.from(`${this.settings.consumerKey}:${this.settings.consumerSecret}`).toString('base64');
    let status: number | null = null;
    let body: unknown;
    const http = this.http;
    if (!http) throw new Error('DarajaAuthService was built without its HTTP transport: it cannot fetch a token here');
    // Counted against the fleet's call budget but never queued behind it: we hold the token lock and every other call
    // is waiting for this token (see DarajaCallBudgetService.charge).
    await this.budget?.charge('OAUTH');
    try {
      const response = await http.send({
        method: 'GET',
        path: endpoint,
        headers: { Authorization: `Basic ${basic}`, Accept: 'application/json' },
      });
      status = response.status;
      body = parseJson(response.text);
      if (response.date) await this.recordClockSkew(response.date, started);
      const token = (body as Partial<OAuthResponse> | undefined)?.access_token;
      const expiresIn = Number((body as Partial<OAuthResponse> | undefined)?.expires_in);
      if (status < 200 || status > 299 || typeof token !== 'string' || !token || !Number.isFinite(expiresIn) || expiresIn <= 0) {
        const { errorCode, errorMessage } = readErrorBody(body);
        // Daraja answers bad credentials with an empty 400: say what that usually means.
        const reason = errorMessage ?? (status === 400 ? 'Invalid consumer key or secret' : `HTTP ${status}`);
        await this.record(endpoint, status, body, started, 'daraja_error');
        // The request that needed the token was never sent: resendable unless the credentials themselves are refused.
        throw new DarajaError(
          status >= 400 && status < 500 ? DarajaOutcome.Rejected : DarajaOutcome.NotSent,
          `Daraja OAuth failed: ${reason}`,
          status,
          errorCode ?? null,
        );
      }
      // Refresh early, but never so early that a short-lived token (tests use 20 s) is never reused.
      const margin = Math.min(this.settings.tokenRefreshMarginSeconds, Math.floor(expiresIn / 4));
      const ttlMs = (expiresIn - margin) * 1000;
      const cached: CachedToken = { token, expiresAt: Date.now() + ttlMs };
      await this.redis.set(this.cacheKey, this.crypto.encrypt(JSON.stringify(cached), FIELDS.darajaToken(this.cacheKey)), 'PX', ttlMs);
      await this.record(endpoint, status, body, started, 'ok');
      this.logger.log(`Fetched a Daraja access token valid for ${expiresIn}s (cached ${Math.round(ttlMs / 1000)}s)`);
      return token;
    } catch (error) {
      if (error instanceof DarajaError) throw error;
      const networkError = classifyNetworkError(error);
      await this.record(
        endpoint,
        status,
        { error: networkError.message },
        started,
        networkError.outcome === DarajaOutcome.NotSent ? 'network_error' : 'timeout',
      );
      // Fetching a token moves no money, and without one the request that needed it was never sent.
      throw new DarajaError(DarajaOutcome.NotSent, `Daraja OAuth failed: ${networkError.message}`);
    }
  }

  /**
   * How far this fleet's clock was from Daraja's (ours minus theirs, ms) at the last OAuth answer any process saw
   * in the past day; undefined when none was seen. Reads only: never fetches a token.
   */
  async lastClockSkewMs(): Promise<number | undefined> {
    const raw = await this.redis.get(this.clockSkewKey);
    const skew = raw === null ? NaN : Number(raw);
    return Number.isFinite(skew) ? skew : undefined;
  }

  private get clockSkewKey(): string {
    return `${this.cacheKey}:clock-skew-ms`;
  }

  /** Remembers how far our clock is from Daraja's (read by the preflight check). */
  private async recordClockSkew(serverDate: string, sentAt: number): Promise<void> {
    const server = Date.parse(serverDate);
    if (Number.isNaN(server)) return;
    const midpoint = sentAt + (Date.now() - sentAt) / 2;
    await this.redis.set(this.clockSkewKey, String(Math.round(midpoint - server)), 'EX', 86_400);
  }

  private async record(
    endpoint: string,
    statusCode: number | null,
    response: unknown,
    started: number,
    outcome: 'ok' | 'daraja_error' | 'network_error' | 'timeout',
  ) {
    await this.observer
      ?.record({
        api: 'OAUTH',
        endpoint,
        request: { grant_type: 'client_credentials' },
        response: redact(response),
        statusCode,
        durationMs: Date.now() - started,
        outcome,
        context: {},
      })
      .catch((e: unknown) => this.logger.warn(`Could not record the OAuth call: ${String(e)}`));
  }
}

export function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text.slice(0, 500);
  }
}
