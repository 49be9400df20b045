import { parseDarajaTimestamp, stkPassword } from '../daraja-time';
import { DarajaReply, invalidField, wrongCredentials } from './daraja-errors';

/**
 * Daraja's request checks as pure functions (no Redis, no clock of their own), so unit tests can pin the
 * order and the exact envelopes. The token and the subscriber lock need Redis and live in the service.
 */

export interface ExpectedMerchant {
  shortcode: string;
  passkey: string;
  partyB: string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; reply: DarajaReply };

const fail = (reply: DarajaReply): { ok: false; reply: DarajaReply } => ({ ok: false, reply });

/** Clients that send UTC land 3 h off and fail; a little skew is tolerated like any server would. */
export const MAX_TIMESTAMP_SKEW_MS = 10 * 60 * 1000;
export const STK_TRANSACTION_TYPES = ['CustomerPayBillOnline', 'CustomerBuyGoodsOnline'] as const;
export const STK_MAX_AMOUNT = 250_000;
export const ACCOUNT_REFERENCE_MAX = 12;
export const TRANSACTION_DESC_MAX = 13;
const MSISDN = /^254[17]\d{8}$/;

/** Daraja accepts numbers or strings for its numeric fields; anything else is "not given". */
const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;

const asRecord = (body: unknown): Record<string, unknown> =>
  body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};

export type BasicAuth = { kind: 'credentials'; key: string; secret: string } | { kind: 'malformed' } | { kind: 'not_basic' };

/** `Authorization: Basic base64(key:secret)`. A Basic header that does not decode counts as wrong credentials. */
export function parseBasicAuth(header: string | undefined): BasicAuth {
  const m = /^Basic\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return header && /^Basic$/i.test(header.trim()) ? { kind: 'malformed' } : { kind: 'not_basic' };
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { kind: 'malformed' };
  return { kind: 'credentials', key: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
}

/** The BusinessShortCode / Timestamp / Password trio that both STK Push and STK Query check, in Daraja's order. */
export function checkMerchantSecurity(body: unknown, expected: ExpectedMerchant, now: Date): Checked<{ timestamp: string }> {
  const b = asRecord(body);
  if (text(b.BusinessShortCode) !== expected.shortcode) return fail(invalidField('BusinessShortCode'));

  const timestamp = text(b.Timestamp);
  const at = /^\d{14}$/.test(timestamp ?? '') ? parseDarajaTimestamp(timestamp) : undefined;
  if (!timestamp || !at || Math.abs(at.getTime() - now.getTime()) > MAX_TIMESTAMP_SKEW_MS) {
    return fail(invalidField('Timestamp'));
  }

  if (b.Password !== stkPassword(expected.shortcode, expected.passkey, timestamp)) return fail(wrongCredentials());
  return { ok: true, value: { timestamp } };
}

export interface ValidStkPush {
  transactionType: string;
  amount: number;
  partyA: string;
  phone: string;
  callbackUrl: string;
  accountReference: string;
  transactionDesc?: string;
}

function wholeAmount(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= STK_MAX_AMOUNT ? n : undefined;
}

function httpUrl(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '' || /\s/.test(value)) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The STK Push fields after the security trio, in the order the simulator reports them. */
export function checkStkPushFields(body: unknown, expected: ExpectedMerchant): Checked<ValidStkPush> {
  const b = asRecord(body);

  const transactionType = text(b.TransactionType);
  if (!transactionType || !(STK_TRANSACTION_TYPES as readonly string[]).includes(transactionType)) {
    return fail(invalidField('TransactionType'));
  }
  const amount = wholeAmount(b.Amount);
  if (amount === undefined) return fail(invalidField('Amount'));

  const partyA = text(b.PartyA);
  if (!partyA || !MSISDN.test(partyA)) return fail(invalidField('PartyA'));
  const phone = text(b.PhoneNumber);
  if (!phone || !MSISDN.test(phone)) return fail(invalidField('PhoneNumber'));
  if (text(b.PartyB) !== expected.partyB) return fail(invalidField('PartyB'));

  const callbackUrl = httpUrl(b.CallBackURL);
  if (!callbackUrl) return fail(invalidField('CallBackURL'));

  const accountReference = text(b.AccountReference);
  if (!accountReference || accountReference.trim() === '' || accountReference.length > ACCOUNT_REFERENCE_MAX) {
    return fail(invalidField('AccountReference'));
  }
  // The only optional field (reference.md §2.1); present-but-unusable is as bad as too long.
  let transactionDesc: string | undefined;
  if (b.TransactionDesc !== undefined && b.TransactionDesc !== null) {
    transactionDesc = text(b.TransactionDesc);
    if (transactionDesc === undefined || transactionDesc.length > TRANSACTION_DESC_MAX) return fail(invalidField('TransactionDesc'));
  }

  return { ok: true, value: { transactionType, amount, partyA, phone, callbackUrl, accountReference, transactionDesc } };
}

export function checkCheckoutRequestId(body: unknown): Checked<string> {
  const id = asRecord(body).CheckoutRequestID;
  return typeof id === 'string' && id !== '' ? { ok: true, value: id } : fail(invalidField('CheckoutRequestID'));
}
