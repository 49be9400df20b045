import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AppError, ErrorCode, RateLimitedError, ServiceUnavailableError } from './app-error';

export interface ErrorBody {
  success: false;
  message: string;
  code?: string;
  details?: Record<string, unknown>;
}

/** The one place where an error code becomes an HTTP status. */
export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.VALIDATION:
      return HttpStatus.BAD_REQUEST;
    case ErrorCode.UNAUTHENTICATED:
      return HttpStatus.UNAUTHORIZED;
    case ErrorCode.FORBIDDEN:
    case ErrorCode.CALLBACK_REJECTED:
      return HttpStatus.FORBIDDEN;
    case ErrorCode.NOT_FOUND:
      return HttpStatus.NOT_FOUND;
    case ErrorCode.CONFLICT:
    case ErrorCode.PAYMENT_PENDING_FOR_PHONE:
    case ErrorCode.IDEMPOTENCY_IN_FLIGHT:
    case ErrorCode.SUBSCRIBER_BUSY:
      return HttpStatus.CONFLICT;
    case ErrorCode.IDEMPOTENCY_MISMATCH:
      return HttpStatus.UNPROCESSABLE_ENTITY;
    case ErrorCode.RATE_LIMITED:
      return HttpStatus.TOO_MANY_REQUESTS;
    case ErrorCode.DARAJA_REJECTED:
      return HttpStatus.BAD_GATEWAY;
    case ErrorCode.DARAJA_UNAVAILABLE:
    case ErrorCode.SERVICE_UNAVAILABLE:
      return HttpStatus.SERVICE_UNAVAILABLE;
    case ErrorCode.INTERNAL:
      return HttpStatus.INTERNAL_SERVER_ERROR;
  }
}

/** Status and body of an AppError; also used where Nest's filter does not reach (Fastify hooks). */
export function appErrorResponse(error: AppError): [number, ErrorBody] {
  return [
    httpStatusFor(error.code),
    { success: false, message: error.message, code: error.code, ...(error.details ? { details: error.details } : {}) },
  ];
}

const HTTP_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: ErrorCode.UNAUTHENTICATED,
  403: ErrorCode.FORBIDDEN,
  404: ErrorCode.NOT_FOUND,
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
};

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);
// SQLSTATE 57P01-57P03: the server is shutting down or starting; class 08: the connection failed.
const UNAVAILABLE_SQLSTATE = /^(57P0[123]|08\d{3})$/;
const UNREACHABLE_MESSAGE = /Connection terminated|timeout exceeded when trying to connect|Connection is not established/i;

/**
 * PostgreSQL cannot be reached, or is shutting down: an outage, not a bug. TypeORM wraps the driver's error
 * (`driverError`); pg's pool reports a lost or timed-out connection by message only.
 */
function databaseUnavailable(exception: unknown): boolean {
  for (let e = exception as Record<string, unknown> | undefined, depth = 0; e && depth < 3; depth++) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (UNREACHABLE_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code)) return true;
    if (typeof e.message === 'string' && UNREACHABLE_MESSAGE.test(e.message)) return true;
    e = (e.driverError ?? e.cause) as Record<string, unknown> | undefined;
  }
  return false;
}

// ioredis: the connection dropped with the command in flight, or the command outlived its timeout; ours: an enqueue
// that found no connection (common/queues/add-job.ts).
const REDIS_UNAVAILABLE_NAMES = new Set(['MaxRetriesPerRequestError', 'QueueUnavailableError']);
const REDIS_UNAVAILABLE_MESSAGE = /^(Connection is closed\.?|Command timed out|Stream isn't writeable.*)$/;

/** Redis cannot be reached: an outage, not a bug (the places that can do without it catch this themselves). */
function isRedisOutage(exception: unknown): boolean {
  if (!(exception instanceof Error)) return false;
  return REDIS_UNAVAILABLE_NAMES.has(exception.name) || REDIS_UNAVAILABLE_MESSAGE.test(exception.message);
}

/** Seconds a client is asked to wait when the database or Redis is away (restarts take a few seconds). */
const DATABASE_RETRY_AFTER_SECONDS = 5;

@Catch()
export class AppErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(AppErrorFilter.name);

  catch(caught: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const store = databaseUnavailable(caught) ? 'the database' : isRedisOutage(caught) ? 'Redis' : undefined;
    const exception = store
      ? new ServiceUnavailableError(
          `A store this request needs (${store}) does not answer. Try again shortly, with the same Idempotency-Key for a payment or payout`,
          DATABASE_RETRY_AFTER_SECONDS,
        )
      : caught;
    const [status, body] = this.toResponse(exception);
    // A 503 for a dependency that is away is expected during an outage: one line, not a stack per request.
    if (exception instanceof ServiceUnavailableError) this.logger.warn(exception.message);
    else if (status >= 500) this.logger.error(exception instanceof Error ? exception.stack : String(exception));
    if (exception instanceof RateLimitedError || exception instanceof ServiceUnavailableError) {
      void reply.header('retry-after', String(exception.retryAfterSeconds));
    }
    void reply.status(status).send(body);
  }

  private toResponse(exception: unknown): [number, ErrorBody] {
    if (exception instanceof AppError) return appErrorResponse(exception);
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const raw = typeof response === 'object' && response !== null ? (response as { message?: unknown }).message : response;
      const message = Array.isArray(raw) ? raw.join('; ') : String(raw ?? exception.message);
      return [status, { success: false, message, code: HTTP_CODES[status] ?? (status >= 500 ? ErrorCode.INTERNAL : 'HTTP_ERROR') }];
    }
    // Fastify's own errors (bad JSON, body too large) carry a statusCode.
    const fastifyStatus = (exception as { statusCode?: unknown })?.statusCode;
    if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
      const message = exception instanceof Error ? exception.message : 'Bad request';
      return [fastifyStatus, { success: false, message, code: HTTP_CODES[fastifyStatus] ?? 'BAD_REQUEST' }];
    }
    return [500, { success: false, message: 'Internal server error', code: ErrorCode.INTERNAL }];
  }
}
