import { AsyncLocalStorage } from 'node:async_hooks';
import { redactText } from './redaction';

/**
 * The request id a unit of work is filed under: the HTTP request that started it (the caller's X-Request-Id, or a
 * UUID), carried into its jobs through their data. Logs (see logging.ts), audit events, transaction-log rows and
 * enqueued jobs read it from here when their caller did not name one, so one id finds a payment everywhere.
 */
export interface RequestContext {
  requestId?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** What the caller may send as X-Request-Id: short, plain, and not a phone number (it is logged and stored). */
const USABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function isUsableRequestId(value: unknown): value is string {
  return typeof value === 'string' && USABLE_REQUEST_ID.test(value) && redactText(value) === value;
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** Runs `fn` filed under `requestId`; without one, `fn` keeps the current context. */
export function withRequestId<T>(requestId: string | null | undefined, fn: () => T): T {
  return requestId ? storage.run({ requestId }, fn) : fn();
}

/** Job payloads carry the request id of the work they continue (absent for scheduled work such as the sweep). */
export interface Traced {
  requestId?: string;
}

/** A job's Traced part: the given request id, else the one being handled now. */
export function traced(requestId: string | null | undefined): Traced {
  const id = requestId ?? currentRequestId();
  return id ? { requestId: id } : {};
}

/**
 * The first line of every processor's `process()`: runs the handler filed under the request id in the job's data,
 * or under none (never under whatever context the worker happened to start in).
 */
export function runJobInContext<T>(job: { data?: unknown }, fn: () => T): T {
  const requestId = (job.data as Traced | undefined)?.requestId;
  return storage.run({ requestId: typeof requestId === 'string' ? requestId : undefined }, fn);
}

/** Fastify onRequest hook: everything the request does (guards, services, Daraja calls, enqueues) is filed under its id. */
export function requestContextHook(request: { id: unknown }, _reply: unknown, done: () => void): void {
  storage.run({ requestId: String(request.id) }, done);
}
