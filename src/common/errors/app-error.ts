/** Every error the API answers with: a stable code, a message a client can show, optional details. */
export enum ErrorCode {
  VALIDATION = 'VALIDATION_ERROR',
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  NOT_FOUND = 'NOT_FOUND',
  CONFLICT = 'CONFLICT',
  PAYMENT_PENDING_FOR_PHONE = 'PAYMENT_PENDING_FOR_PHONE',
  IDEMPOTENCY_IN_FLIGHT = 'IDEMPOTENCY_KEY_IN_USE',
  IDEMPOTENCY_MISMATCH = 'IDEMPOTENCY_KEY_REUSED',
  CALLBACK_REJECTED = 'CALLBACK_REJECTED',
  DARAJA_REJECTED = 'MPESA_REJECTED',
  DARAJA_UNAVAILABLE = 'MPESA_UNAVAILABLE',
  SUBSCRIBER_BUSY = 'MPESA_SUBSCRIBER_BUSY',
  RATE_LIMITED = 'RATE_LIMITED',
  /** A dependency this request needs (Redis for an STK push) is away: nothing was stored, try again shortly. */
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
  INTERNAL = 'INTERNAL_ERROR',
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCode.VALIDATION, message, details);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string) {
    super(ErrorCode.NOT_FOUND, `${what} not found`);
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'Authentication required') {
    super(ErrorCode.UNAUTHENTICATED, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'You are not allowed to do this') {
    super(ErrorCode.FORBIDDEN, message);
  }
}

/** Over an inbound rate limit (src/rate-limit); the Retry-After header carries the same number of seconds. */
export class RateLimitedError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    limit: string,
  ) {
    super(ErrorCode.RATE_LIMITED, message, { retryAfterSeconds, limit });
  }
}

/** A dependency the request needs is away; nothing was stored. The Retry-After header carries the seconds. */
export class ServiceUnavailableError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(ErrorCode.SERVICE_UNAVAILABLE, message, { retryAfterSeconds });
  }
}
