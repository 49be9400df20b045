// Helpers for e2e tests: talk to the app that global-setup started, sign tokens, poll, look at rows.
import { randomInt } from 'node:crypto';
import { sign, SignOptions } from 'jsonwebtoken';
import { Pool } from 'pg';
import { E2eState, readStateFile, STATE_ENV_VAR } from './e2e-state';

let cached: E2eState | undefined;

/**
 * The running app's details (see E2eState): this jest worker's own app (global-setup starts one per worker, so files
 * running side by side never share one). Throws if the tests were not started through jest's e2e project.
 */
export function e2e(): E2eState {
  if (cached) return cached;
  const file = process.env[STATE_ENV_VAR];
  const state = file ? readStateFile(file) : undefined;
  if (!state?.apps?.length) {
    throw new Error(
      `e2e state not found (${STATE_ENV_VAR}=${file ?? 'unset'}): run e2e tests through jest's e2e project ` +
        '(`npm run test:e2e` or `npx jest --selectProjects e2e`), whose globalSetup starts the app',
    );
  }
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  cached = state.apps[(Math.max(1, worker) - 1) % state.apps.length];
  return cached;
}

/** The env the app runs with, e.g. `testEnv().WEBHOOK_SECRET`. */
export function testEnv(): Readonly<Record<string, string>> {
  return e2e().env;
}

export function appUrl(path = ''): string {
  return `${e2e().appUrl}${path}`;
}

export interface ApiOptions {
  method?: string;
  /** Objects and arrays are sent as JSON; strings and Buffers as they are. */
  body?: unknown;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  headers?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined>;
  timeoutMs?: number;
  /** Another app than the run's shared one, e.g. `startExtraApp()`'s `url`. */
  baseUrl?: string;
}

export interface ApiResponse<T = any> {
  status: number;
  /** Parsed JSON when the response says it is JSON, else the text ('' for an empty body). */
  body: T;
  /** Lower-case names. */
  headers: Record<string, string>;
  text: string;
}

/** One HTTP request to the app; never throws for an HTTP status, only for a network failure. */
export async function api<T = any>(path: string, options: ApiOptions = {}): Promise<ApiResponse<T>> {
  const url = new URL(options.baseUrl ? `${options.baseUrl}${path}` : appUrl(path));
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Buffer | undefined;
  if (options.body !== undefined) {
    if (typeof options.body === 'string' || Buffer.isBuffer(options.body)) body = options.body;
    else {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
  }
  const res = await fetch(url, {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
    signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
  });
  const text = await res.text();
  const isJson = /\bjson\b/i.test(res.headers.get('content-type') ?? '');
  let parsed: unknown = text;
  if (isJson && text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: res.status, body: parsed as T, headers: Object.fromEntries(res.headers.entries()), text };
}

/** The embedded simulator's controls, e.g. `sim('/scenarios', { method: 'POST', body: {...} })`. */
export function sim<T = any>(path: string, options: ApiOptions = {}): Promise<ApiResponse<T>> {
  return api<T>(`/simulator/control${path.startsWith('/') ? path : `/${path}`}`, options);
}

export interface TokenClaims {
  sub: string;
  role: string;
  [claim: string]: unknown;
}

/** An HS256 JWT signed with the app's test JWT_SECRET (valid 1 h unless `options` say otherwise). */
export function tokenFor(claims: TokenClaims, options: SignOptions = {}): string {
  return sign(claims, testEnv().JWT_SECRET, { algorithm: 'HS256', expiresIn: '1h', ...options });
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Says what was awaited when it times out. */
  message?: string;
}

/**
 * Calls `fn` until it returns a truthy value (returned) or the time is up. A throw counts as "not yet", so
 * `expect(...)` inside `fn` works; the last error is in the timeout message.
 */
/** What a truthy result of `fn` can be: `cond && value` returns the value once `cond` holds. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

export async function waitFor<T>(fn: () => T | Promise<T>, options: WaitOptions = {}): Promise<Truthy<T>> {
  const { timeoutMs = 15_000, intervalMs = 200 } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let lastValue: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as Truthy<T>;
      lastValue = value;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
  const what = options.message ?? 'condition';
  const last = lastError ? `last error: ${(lastError as Error)?.message ?? lastError}` : `last value: ${JSON.stringify(lastValue)}`;
  throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms (${last})`);
}

let pool: Pool | undefined;

/** A small pool on the test database, for asserting rows. Closed after each test file (see e2e-setup.ts). */
export function db(): Pool {
  if (!pool) {
    // allowExitOnIdle + an error listener: a pool reopened by a late afterAll must neither keep jest alive nor
    // crash it when teardown drops the test database under it.
    pool = new Pool({ connectionString: e2e().databaseUrl, max: 3, idleTimeoutMillis: 5_000, allowExitOnIdle: true });
    pool.on('error', () => undefined);
  }
  return pool;
}

export async function closeDb(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.end();
}

const usedPhones = new Set<string>();

/**
 * A random valid Safaricom MSISDN (2547XXXXXXXX) that is not one of the simulator's scenario numbers
 * (2547000..., 25470837...) and not handed out before in this test file.
 */
export function uniquePhone(): string {
  for (;;) {
    const phone = `2547${String(randomInt(0, 100_000_000)).padStart(8, '0')}`;
    if (phone.startsWith('2547000') || phone.startsWith('25470837') || usedPhones.has(phone)) continue;
    usedPhones.add(phone);
    return phone;
  }
}
