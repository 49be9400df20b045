import { DarajaErrorBody } from './daraja.types';

/**
 * How a Daraja call that was not accepted ended. One table, in this file, for every API (STK Push, B2C, Reversal,
 * Account Balance, Transaction Status); the products hold no ambiguity rules of their own (docs/outcome-model.md):
 * - `not_sent`: it certainly did not reach M-Pesa: no connection (refused, DNS, TLS before the request was written),
 *   or our own call budget refused it. Safe to resend.
 * - `rejected_transient`: a documented "not processed, try later": HTTP 503 or 429, 500.003.02 (spike arrest,
 *   system busy), 500.003.03 (quota), or the gateway still refusing our token after one refresh. Safe to resend.
 * - `rejected`: a documented refusal that will not change by resending: 400.002.02 "Bad Request - Invalid ...",
 *   500.001.1001 "Merchant does not exist" / wrong credentials / "Unable to lock subscriber", and our own refusals
 *   before sending. Nothing was processed; the request is final.
 * - `unknown`: everything else: a timeout after the request was written, a dropped connection, any other 5xx, an HTML
 *   or unreadable body, "Duplicate OriginatorConversationID". Never resent: resolved by asking (STK Query,
 *   Transaction Status) or by the callback.
 */
export enum DarajaOutcome {
  NotSent = 'not_sent',
  RejectedTransient = 'rejected_transient',
  Rejected = 'rejected',
  Unknown = 'unknown',
}

/**
 * Why, when a caller treats the case apart:
 * - `invalid_token`: the gateway refused our access token (the client refreshes it and resends once first);
 * - `busy`: Daraja's rate limits or "system is busy" (the client also starts the fleet-wide cool-down);
 * - `subscriber_busy`: 500.001.1001 "Unable to lock subscriber": the customer's phone has another prompt open;
 * - `still_processing`: STK Query's "The transaction is being processed": the payment is still pending;
 * - `duplicate_request`: "Duplicate OriginatorConversationID": an earlier request with our id arrived;
 * - `budget`: our own call budget refused the call;
 * - `timeout`, `connection_dropped`, `unreadable_answer`: why an outcome is unknown.
 */
export type DarajaReason =
  | 'invalid_token'
  | 'busy'
  | 'subscriber_busy'
  | 'still_processing'
  | 'duplicate_request'
  | 'budget'
  | 'timeout'
  | 'connection_dropped'
  | 'unreadable_answer'
  /** C2B Register URL: some URLs are registered for this shortcode already (docs/daraja.md §9.2). */
  | 'already_registered';

export class DarajaError extends Error {
  constructor(
    readonly outcome: DarajaOutcome,
    message: string,
    readonly httpStatus: number | null = null,
    readonly errorCode: string | null = null,
    readonly reason?: DarajaReason,
  ) {
    super(message);
    this.name = 'DarajaError';
  }

  /** Resending cannot take money twice: M-Pesa certainly did not act on the request. */
  get resendable(): boolean {
    return this.outcome === DarajaOutcome.NotSent || this.outcome === DarajaOutcome.RejectedTransient;
  }
}

/**
 * A Daraja API was called without the settings it needs (initiator, credential, certificate). Nothing was sent, and
 * resending will not help until someone sets `variables`: `rejected`.
 */
export class DarajaConfigurationError extends DarajaError {
  constructor(
    message: string,
    readonly variables: string[],
  ) {
    super(DarajaOutcome.Rejected, message);
    this.name = 'DarajaConfigurationError';
  }
}

/** "Duplicate OriginatorConversationID": an earlier request with this id reached M-Pesa; its outcome must be asked for. */
export function isDuplicateOriginatorConversationId(error: unknown): boolean {
  return error instanceof DarajaError && error.reason === 'duplicate_request';
}

const INVALID_TOKEN = /invalid access token/i;
// 500.002.1001 carries both "Duplicate OriginatorConversationID." and "System internal error.", and 500.003.1001
// "Duplicate notification info": only the message tells them apart (docs/daraja.md §1.5).
const DUPLICATE = /duplicate/i;
const STILL_PROCESSING = /being processed/i;
const SUBSCRIBER_LOCKED = /unable to lock subscriber/i;
const BUSY_CODES = new Set(['500.003.02', '500.003.03']);
const BUSY_TEXT = /spike ?arrest|quota|system is busy/i;
/** 500.001.1001's documented refusals (its other messages are not: they are `unknown`). */
const FINAL_REFUSALS = /merchant does not exist|wrong credentials|invalid credentials/i;

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

/** Classifies a Daraja answer that is not an acceptance. Pure: unit-tested against the documented error table. */
export function classifyDarajaError(httpStatus: number, body: unknown): DarajaError {
  const { errorCode, errorMessage } = readErrorBody(body);
  const message = errorMessage ?? describeUnreadableBody(httpStatus, body);
  const code = errorCode ?? null;
  const answer = (outcome: DarajaOutcome, reason?: DarajaReason) => new DarajaError(outcome, message, httpStatus, code, reason);
  if (INVALID_TOKEN.test(message)) return answer(DarajaOutcome.RejectedTransient, 'invalid_token');
  if (code === '500.001.1001' && STILL_PROCESSING.test(message)) return answer(DarajaOutcome.Unknown, 'still_processing');
  // 503, and 429 whatever the body (Apigee's SpikeArrest/Quota policies answer it): documented "not processed".
  if (httpStatus === 503 || httpStatus === 429 || (code && BUSY_CODES.has(code)) || BUSY_TEXT.test(message)) {
    return answer(DarajaOutcome.RejectedTransient, 'busy');
  }
  if (DUPLICATE.test(message)) return answer(DarajaOutcome.Unknown, 'duplicate_request');
  if (code === '500.001.1001' && SUBSCRIBER_LOCKED.test(message)) return answer(DarajaOutcome.Rejected, 'subscriber_busy');
  if (code === '500.001.1001' && FINAL_REFUSALS.test(message)) return answer(DarajaOutcome.Rejected);
  // A WAF or load-balancer page: we cannot tell whether the request was acted on.
  if (!body || typeof body !== 'object') return answer(DarajaOutcome.Unknown, 'unreadable_answer');
  if (httpStatus >= 400 && httpStatus < 500) return answer(DarajaOutcome.Rejected);
  return answer(DarajaOutcome.Unknown);
}

const HTML = /<\s*(!doctype|html|head|body|title)\b/i;

/**
 * What to say about an answer that is not Daraja's JSON. An HTML page (a load balancer's, a WAF's) is named by its
 * title, never copied: its markup would end up in API answers, error logs and webhooks. A short plain-text body is
 * kept (Apigee answers some refusals in plain text, and the classification reads it).
 */
function describeUnreadableBody(httpStatus: number, body: unknown): string {
  if (typeof body !== 'string' || !body.trim()) return `HTTP ${httpStatus}`;
  if (HTML.test(body)) {
    const title = /<title[^>]*>([^<]{1,80})<\/title>/i.exec(body)?.[1]?.trim();
    return `Daraja answered HTTP ${httpStatus} with an HTML page${title ? ` ("${title}")` : ''} instead of JSON`;
  }
  return body.replace(/\s+/g, ' ').trim().slice(0, 200);
}

/** Codes of a connection that failed before the request was written: nothing reached M-Pesa. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Turns a transport failure into `not_sent` (no connection, TLS refused) or `unknown` (it may have arrived). undici
 * (src/mpesa/daraja-http.ts) puts the code on the error itself; fetch put it on the error's `cause`: both are read.
 */
export function classifyNetworkError(error: unknown): DarajaError {
  const err = error as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
    return new DarajaError(DarajaOutcome.Unknown, 'Daraja did not answer in time', null, null, 'timeout');
  }
  // A response whose headers or body stalled past undici's own timeouts was sent: like a timeout, its outcome is unknown.
  if (err?.code === 'UND_ERR_HEADERS_TIMEOUT' || err?.code === 'UND_ERR_BODY_TIMEOUT') {
    return new DarajaError(DarajaOutcome.Unknown, 'Daraja did not answer in time', null, null, 'timeout');
  }
  const code = (typeof err?.code === 'string' ? err.code : undefined) ?? err?.cause?.code ?? '';
  if (NOT_SENT_CODES.has(code) || code.startsWith('ERR_SSL_')) {
    return new DarajaError(DarajaOutcome.NotSent, `Could not connect to Daraja (${code})`);
  }
  return new DarajaError(
    DarajaOutcome.Unknown,
    `Connection to Daraja failed after sending (${code || err?.cause?.message || err?.message || 'unknown'})`,
    null,
    null,
    'connection_dropped',
  );
}
