import { DarajaErrorBody } from './daraja.types';

/**
 * What a failed Daraja call means for the caller. The kind, not the message text, decides retries:
 * - `InvalidToken`: the gateway refused our token; refresh and resend once (safe: nothing was processed).
 * - `Busy`: spike arrest / quota / "system is busy" / HTTP 429: Daraja did not take the request; retry with backoff.
 *   The client also starts the fleet-wide cool-down (DarajaCallBudgetService.reportRateLimited).
 * - `System`: Daraja answered with a server error and did not accept the request; retry with backoff.
 * - `Rejected`: a definite refusal (bad input, wrong credentials, subscriber locked); never retried.
 * - `StillProcessing`: STK Query's "The transaction is being processed": pending, not an error.
 * - `NotSent`: the connection failed before the request left (refused, DNS); safe to retry.
 * - `OutcomeUnknown`: the request may have reached Daraja (timeout, connection dropped): never resend blindly.
 */
export enum DarajaErrorKind {
  InvalidToken = 'invalid_token',
  Busy = 'busy',
  System = 'system',
  Rejected = 'rejected',
  StillProcessing = 'still_processing',
  NotSent = 'not_sent',
  OutcomeUnknown = 'outcome_unknown',
}

/**
 * A refusal that callers treat apart from other refusals. `subscriber_busy`: 500.001.1001 "Unable to lock subscriber, a
 * transaction is already in process for the current subscriber": the customer's phone is busy with another prompt.
 */
export type DarajaRefusal = 'subscriber_busy';

export class DarajaError extends Error {
  constructor(
    readonly kind: DarajaErrorKind,
    message: string,
    readonly httpStatus: number | null = null,
    readonly errorCode: string | null = null,
    readonly refusal?: DarajaRefusal,
  ) {
    super(message);
    this.name = 'DarajaError';
  }

  /** Retrying cannot take money twice: Daraja certainly did not act on the request. */
  get retryable(): boolean {
    return this.kind === DarajaErrorKind.Busy || this.kind === DarajaErrorKind.System || this.kind === DarajaErrorKind.NotSent;
  }
}

/**
 * A Daraja API was called without the settings it needs (initiator, credential, certificate). Nothing was sent.
 * A `Rejected` DarajaError so that callers already treating refusals as final do the same here; `variables`
 * names what to set.
 */
export class DarajaConfigurationError extends DarajaError {
  constructor(
    message: string,
    readonly variables: string[],
  ) {
    super(DarajaErrorKind.Rejected, message);
    this.name = 'DarajaConfigurationError';
  }
}

/** 500.002.1001 "Duplicate OriginatorConversationID.": this id was already used; the first request's outcome stands. */
export const DUPLICATE_ORIGINATOR_CONVERSATION_ID = '500.002.1001';

/** B2C v3 refused a resend because its OriginatorConversationID was already used (docs/daraja.md §5.2). */
export function isDuplicateOriginatorConversationId(error: unknown): boolean {
  return (
    error instanceof DarajaError &&
    error.kind === DarajaErrorKind.Rejected &&
    error.errorCode === DUPLICATE_ORIGINATOR_CONVERSATION_ID &&
    DUPLICATE.test(error.message)
  );
}

const INVALID_TOKEN = /invalid access token/i;
// 500.002.1001 carries both "Duplicate OriginatorConversationID." (a refusal) and "System internal error." (retryable),
// and 500.003.1001 "Duplicate notification info": only the message tells them apart (docs/daraja.md §1.5).
const DUPLICATE = /duplicate/i;
const STILL_PROCESSING = /being processed/i;
const SUBSCRIBER_LOCKED = /unable to lock subscriber/i;
const BUSY_CODES = new Set(['500.003.02', '500.003.03']);

/** Reads the error envelope whatever its casing (`errorCode` / `ErrorCode`), or the Apigee fault shape. */
export function readErrorBody(body: unknown): DarajaErrorBody {
  if (!body || typeof body !== 'object') return {};
  const record = body as Record<string, unknown>;
  const pick = (...names: string[]) => {
    for (const name of names) {
      const value = record[name];
      if (typeof value === 'string' || typeof value === 'number') return String(value);
    }
    return undefined;
  };
  const fault = record['fault'] as { faultstring?: string; detail?: { errorcode?: string } } | undefined;
  if (fault && typeof fault === 'object') {
    return { errorCode: fault.detail?.errorcode, errorMessage: fault.faultstring };
  }
  return {
    requestId: pick('requestId', 'RequestID', 'requestID'),
    errorCode: pick('errorCode', 'ErrorCode'),
    errorMessage: pick('errorMessage', 'ErrorMessage'),
  };
}

/** Classifies a non-2xx Daraja answer. Pure: unit-tested against the documented error table. */
export function classifyDarajaError(httpStatus: number, body: unknown): DarajaError {
  const { errorCode, errorMessage } = readErrorBody(body);
  const message = errorMessage ?? (typeof body === 'string' && body ? body.slice(0, 200) : `HTTP ${httpStatus}`);
  const code = errorCode ?? null;
  let kind: DarajaErrorKind;
  if (INVALID_TOKEN.test(message)) kind = DarajaErrorKind.InvalidToken;
  else if (code === '500.001.1001' && STILL_PROCESSING.test(message)) kind = DarajaErrorKind.StillProcessing;
  // 429 is a gateway rate limit whatever the body (Apigee's SpikeArrest/Quota policies answer it): never processed.
  else if ((code && BUSY_CODES.has(code)) || /spike ?arrest|quota|system is busy/i.test(message) || httpStatus === 429)
    kind = DarajaErrorKind.Busy;
  else if (DUPLICATE.test(message)) kind = DarajaErrorKind.Rejected;
  else if (code === '500.001.1001') kind = DarajaErrorKind.Rejected;
  else if (httpStatus >= 500) kind = DarajaErrorKind.System;
  else kind = DarajaErrorKind.Rejected;
  return new DarajaError(
    kind,
    message,
    httpStatus,
    code,
    code === '500.001.1001' && SUBSCRIBER_LOCKED.test(message) ? 'subscriber_busy' : undefined,
  );
}

/** Turns a fetch failure into NotSent (connection never made) or OutcomeUnknown (it may have arrived). */
export function classifyNetworkError(error: unknown): DarajaError {
  const err = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
    return new DarajaError(DarajaErrorKind.OutcomeUnknown, 'Daraja did not answer in time');
  }
  const code = err?.cause?.code ?? '';
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT'].includes(code)) {
    return new DarajaError(DarajaErrorKind.NotSent, `Could not connect to Daraja (${code})`);
  }
  return new DarajaError(
    DarajaErrorKind.OutcomeUnknown,
    `Connection to Daraja failed after sending (${code || err?.cause?.message || err?.message || 'unknown'})`,
  );
}
