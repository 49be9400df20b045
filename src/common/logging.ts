import type { Params } from 'nestjs-pino';
import pino, { type DestinationStream, type Logger } from 'pino';
import { redact, redactText } from './redaction';
import { currentRequestId } from './request-context';

/** The requestId a logger is already bound to (pino-http binds the HTTP request's own), cached per logger. */
const boundRequestIds = new WeakMap<object, string | null>();
function boundRequestId(logger: Logger): string | null {
  let bound = boundRequestIds.get(logger);
  if (bound === undefined) {
    const value = (logger.bindings() as { requestId?: unknown }).requestId;
    bound = typeof value === 'string' ? value : null;
    boundRequestIds.set(logger, bound);
  }
  return bound;
}

/**
 * Every line says which request it belongs to (src/common/request-context.ts): jobs, the Daraja client and services
 * log through the root logger and get `requestId` here. HTTP lines are already bound to their own request's id; when
 * that request works for another one (a callback settling a payment), the payment's id is added as `originRequestId`.
 */
function requestIdMixin(_merge: object, _level: number, logger: Logger): object {
  const requestId = currentRequestId();
  if (!requestId) return {};
  const bound = boundRequestId(logger);
  if (bound === null) return { requestId };
  return bound === requestId ? {} : { originRequestId: requestId };
}

/** Plain objects and errors are redacted like stored data; other objects (req, res) go to their serializers as they are. */
function scrubLogArgument(arg: unknown): unknown {
  if (typeof arg === 'string') return redactText(arg);
  if (arg instanceof Error) return redact(arg);
  if (!arg || typeof arg !== 'object' || Object.getPrototypeOf(arg) !== Object.prototype) return arg;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(arg)) {
    const plain =
      value === null ||
      typeof value !== 'object' ||
      Array.isArray(value) ||
      value instanceof Error ||
      Object.getPrototypeOf(value) === Object.prototype;
    out[key] = plain ? redact({ [key]: value })[key] : value;
  }
  return out;
}

/**
 * JSON logs. Secrets and phone numbers never reach them: request lines carry the method and path only (callback
 * URLs hold a token in the query), and every message and field is passed through the same redaction as audit
 * events and transaction logs (src/common/redaction.ts).
 */
export function loggerOptions(level: string, flushIntervalMs = 0): Params {
  return {
    pinoHttp: [
      {
        level,
        autoLogging: { ignore: (req) => (req.url ?? '').startsWith('/health') },
        redact: {
          paths: ['req.headers.authorization', 'req.headers.cookie', 'req.query.token', 'req.query'],
          censor: '[REDACTED]',
        },
        serializers: {
          // Callback URLs carry a token in the query string: log the path only.
          req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, path: req.url.split('?')[0] }),
        },
        customProps: (req) => ({ requestId: (req as { id?: unknown }).id }),
        mixin: requestIdMixin,
        hooks: {
          logMethod(args, method) {
            return method.apply(this, args.map(scrubLogArgument) as Parameters<typeof method>);
          },
        },
      },
      stdout(flushIntervalMs),
    ],
  };
}

/** Pipes guarantee atomic writes up to this size: lines of several API_PROCESSES sharing stdout never interleave. */
const PIPE_ATOMIC_BYTES = 4096;

/**
 * Standard output, one write per line, or (flushIntervalMs > 0) whole lines gathered into writes of at most
 * PIPE_ATOMIC_BYTES, written every flushIntervalMs or once 2 KB wait. pino writes what is left when the process exits.
 */
function stdout(flushIntervalMs: number): DestinationStream {
  if (flushIntervalMs <= 0) return pino.destination({ dest: 1, sync: true });
  return pino.destination({
    dest: 1,
    sync: false,
    minLength: PIPE_ATOMIC_BYTES / 2,
    maxWrite: PIPE_ATOMIC_BYTES,
    periodicFlush: flushIntervalMs,
  });
}
