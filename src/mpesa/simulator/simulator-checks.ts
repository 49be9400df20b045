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

export const fail = (reply: DarajaReply): { ok: false; reply: DarajaReply } => ({ ok: false, reply });

/** Clients that send UTC land 3 h off and fail; a little skew is tolerated like any server would. */
export const MAX_TIMESTAMP_SKEW_MS = 10 * 60 * 1000;
export const STK_TRANSACTION_TYPES = ['CustomerPayBillOnline', 'CustomerBuyGoodsOnline'] as const;
export const STK_MAX_AMOUNT = 250_000;
export const ACCOUNT_REFERENCE_MAX = 12;
export const TRANSACTION_DESC_MAX = 13;
export const MSISDN = /^254[17]\d{8}$/;

/** Daraja accepts numbers or strings for its numeric fields; anything else is "not given". */
export const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;

export const asRecord = (body: unknown): Record<string, unknown> =>
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

/** Which clock a Timestamp was read on: Kenya time (what Daraja's callbacks use), UTC, or the client host's zone. */
export type TimestampZone = 'kenya' | 'utc' | 'host-local';

/**
 * `strict`: Kenya time within MAX_TIMESTAMP_SKEW_MS, nothing else. `lenient`: the same, else UTC, else this host's
 * local time (public clients send `new Date().toISOString()` digits or local time; Safaricom documents no zone).
 */
export function timestampZone(timestamp: string, now: Date, mode: 'strict' | 'lenient'): TimestampZone | undefined {
  const kenya = /^\d{14}$/.test(timestamp) ? parseDarajaTimestamp(timestamp) : undefined;
  if (!kenya) return undefined;
  const near = (at: number) => Math.abs(at - now.getTime()) <= MAX_TIMESTAMP_SKEW_MS;
  if (near(kenya.getTime())) return 'kenya';
  if (mode === 'strict') return undefined;
  const utc = kenya.getTime() + EAT_OFFSET_MS;
  if (near(utc)) return 'utc';
  const [y, mo, d, h, mi, se] = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(timestamp)!.slice(1).map(Number);
  if (near(new Date(y, mo - 1, d, h, mi, se).getTime())) return 'host-local';
  return undefined;
}

const EAT_OFFSET_MS = 3 * 60 * 60 * 1000;

/** The BusinessShortCode / Timestamp / Password trio that both STK Push and STK Query check, in Daraja's order. */
export function checkMerchantSecurity(
  body: unknown,
  expected: ExpectedMerchant,
  now: Date,
  mode: 'strict' | 'lenient' = 'strict',
): Checked<{ timestamp: string; zone: TimestampZone }> {
  const b = asRecord(body);
  if (text(b.BusinessShortCode) !== expected.shortcode) return fail(invalidField('BusinessShortCode'));

  const timestamp = text(b.Timestamp);
  const zone = timestamp ? timestampZone(timestamp, now, mode) : undefined;
  if (!timestamp || !zone) return fail(invalidField('Timestamp'));

  if (b.Password !== stkPassword(expected.shortcode, expected.passkey, timestamp)) return fail(wrongCredentials());
  return { ok: true, value: { timestamp, zone } };
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

export function wholeAmount(value: unknown, min = 1, max = STK_MAX_AMOUNT): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

export function httpUrl(value: unknown): string | undefined {
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
  // The only optional field (docs/daraja.md §2.1); present-but-unusable is as bad as too long.
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

// ---- Money out: B2C, Account Balance, Reversal, Transaction Status ----

/** What the initiator-based APIs check the caller against. */
export interface ExpectedInitiator {
  initiatorName: string;
  /** The plain initiator password the SecurityCredential must decrypt to. */
  initiatorPassword: string;
  /** PartyA of B2C and Account Balance. */
  b2cShortcode: string;
  /** The STK (collection) shortcode: Reversal's ReceiverParty, and a valid Transaction Status PartyA. */
  shortcode: string;
}

/** SecurityCredential -> plain password, or undefined when it does not decrypt (see simulator-credential.ts). */
export type DecryptCredential = (credential: unknown) => string | undefined;

export const B2C_COMMAND_IDS = ['BusinessPayment', 'SalaryPayment', 'PromotionPayment'] as const;
export const B2C_MIN_AMOUNT = 10;
export const B2C_MAX_AMOUNT = 250_000;
export const REMARKS_MIN = 2;
export const REMARKS_MAX = 100;
export const ORIGINATOR_CONVERSATION_ID_MAX = 64;
/** `11` per the current docs, `4` in the Daraja 1.0 sample (docs/daraja.md §7). */
export const REVERSAL_RECEIVER_IDENTIFIER_TYPES = ['11', '4'] as const;
const ORGANISATION_IDENTIFIER = '4';
const RECEIPT = /^[A-Za-z0-9]{10}$/;

/** Fields every initiator-based request shares. */
interface InitiatedRequest {
  /**
   * False when the credential decrypted, but not to the configured password: Daraja accepts such a request and
   * fails it in the result with 2001 (docs/daraja.md §5.4), so it is not a synchronous error.
   */
  initiatorValid: boolean;
  resultUrl: string;
  queueTimeoutUrl: string;
}

export interface ValidB2c extends InitiatedRequest {
  /** v3 only; v1 lets M-Pesa generate it. */
  originatorConversationId?: string;
  commandId: (typeof B2C_COMMAND_IDS)[number];
  amount: number;
  partyA: string;
  phone: string;
  remarks: string;
  occasion?: string;
}

export interface ValidBalanceQuery extends InitiatedRequest {
  partyA: string;
}

export interface ValidReversal extends InitiatedRequest {
  transactionId: string;
  amount: number;
  receiverParty: string;
}

export interface ValidStatusQuery extends InitiatedRequest {
  partyA: string;
  /** The ids given, in lookup order: receipt first, as docs/daraja.md §8 advises. */
  ids: string[];
  occasion?: string;
}

/** The initiator name (under the field name the API uses), then the credential. */
function checkInitiator(
  b: Record<string, unknown>,
  nameField: 'InitiatorName' | 'Initiator',
  expected: ExpectedInitiator,
  decrypt: DecryptCredential,
): Checked<boolean> {
  if (text(b[nameField]) !== expected.initiatorName) return fail(invalidField(nameField));
  const password = decrypt(b.SecurityCredential);
  if (password === undefined) return fail(invalidField('SecurityCredential'));
  return { ok: true, value: password === expected.initiatorPassword };
}

/** ResultURL then QueueTimeOutURL: both must be http(s) URLs without spaces. */
function checkResultUrls(b: Record<string, unknown>): Checked<{ resultUrl: string; queueTimeoutUrl: string }> {
  const resultUrl = httpUrl(b.ResultURL);
  if (!resultUrl) return fail(invalidField('ResultURL'));
  const queueTimeoutUrl = httpUrl(b.QueueTimeOutURL);
  if (!queueTimeoutUrl) return fail(invalidField('QueueTimeOutURL'));
  return { ok: true, value: { resultUrl, queueTimeoutUrl } };
}

const remarksOk = (value: string | undefined) => value !== undefined && value.length >= REMARKS_MIN && value.length <= REMARKS_MAX;

/**
 * Remarks is mandatory for B2C (2–100 chars, docs/daraja.md §5.1); the other APIs' docs are vaguer, so there a
 * missing Remarks passes and only a present-but-unusable one fails.
 */
function optionalRemarksOk(b: Record<string, unknown>): boolean {
  return b.Remarks === undefined || b.Remarks === null || remarksOk(text(b.Remarks));
}

/** `Occassion` is the v3 docs' spelling, `Occasion` the SDKs'; either is fine (docs/daraja.md §5.1). */
function occasionOf(b: Record<string, unknown>): string | undefined {
  return text(b.Occassion) ?? text(b.Occasion);
}

/** B2C v1/v3 in the simulator's order; the duplicate-OriginatorConversationID check needs Redis and is the service's. */
export function checkB2cRequest(
  body: unknown,
  version: 'v1' | 'v3',
  expected: ExpectedInitiator,
  decrypt: DecryptCredential,
): Checked<ValidB2c> {
  const b = asRecord(body);

  let originatorConversationId: string | undefined;
  if (version === 'v3') {
    originatorConversationId = text(b.OriginatorConversationID);
    if (
      !originatorConversationId ||
      originatorConversationId.length > ORIGINATOR_CONVERSATION_ID_MAX ||
      /\s/.test(originatorConversationId)
    ) {
      return fail(invalidField('OriginatorConversationID'));
    }
  }

  const initiator = checkInitiator(b, 'InitiatorName', expected, decrypt);
  if (!initiator.ok) return initiator;

  const commandId = text(b.CommandID);
  if (!commandId || !(B2C_COMMAND_IDS as readonly string[]).includes(commandId)) return fail(invalidField('CommandID'));
  const amount = wholeAmount(b.Amount, B2C_MIN_AMOUNT, B2C_MAX_AMOUNT);
  if (amount === undefined) return fail(invalidField('Amount'));
  const partyA = text(b.PartyA);
  if (partyA !== expected.b2cShortcode) return fail(invalidField('PartyA'));
  const phone = text(b.PartyB);
  if (!phone || !MSISDN.test(phone)) return fail(invalidField('PartyB'));
  const remarks = text(b.Remarks);
  if (!remarks || !remarksOk(remarks)) return fail(invalidField('Remarks'));
  const urls = checkResultUrls(b);
  if (!urls.ok) return urls;

  return {
    ok: true,
    value: {
      originatorConversationId,
      initiatorValid: initiator.value,
      commandId: commandId as ValidB2c['commandId'],
      amount,
      partyA,
      phone,
      remarks,
      occasion: occasionOf(b),
      ...urls.value,
    },
  };
}

export function checkBalanceQuery(body: unknown, expected: ExpectedInitiator, decrypt: DecryptCredential): Checked<ValidBalanceQuery> {
  const b = asRecord(body);
  const initiator = checkInitiator(b, 'Initiator', expected, decrypt);
  if (!initiator.ok) return initiator;
  if (text(b.CommandID) !== 'AccountBalance') return fail(invalidField('CommandID'));
  const partyA = text(b.PartyA);
  if (partyA !== expected.b2cShortcode) return fail(invalidField('PartyA'));
  if (text(b.IdentifierType) !== ORGANISATION_IDENTIFIER) return fail(invalidField('IdentifierType'));
  if (!optionalRemarksOk(b)) return fail(invalidField('Remarks'));
  const urls = checkResultUrls(b);
  if (!urls.ok) return urls;
  return { ok: true, value: { initiatorValid: initiator.value, partyA, ...urls.value } };
}

export function checkReversalRequest(body: unknown, expected: ExpectedInitiator, decrypt: DecryptCredential): Checked<ValidReversal> {
  const b = asRecord(body);
  const initiator = checkInitiator(b, 'Initiator', expected, decrypt);
  if (!initiator.ok) return initiator;
  if (text(b.CommandID) !== 'TransactionReversal') return fail(invalidField('CommandID'));
  const transactionId = text(b.TransactionID);
  if (!transactionId || !RECEIPT.test(transactionId)) return fail(invalidField('TransactionID'));
  const amount = wholeAmount(b.Amount);
  if (amount === undefined) return fail(invalidField('Amount'));
  const receiverParty = text(b.ReceiverParty);
  if (receiverParty !== expected.shortcode) return fail(invalidField('ReceiverParty'));
  // Safaricom's misspelling is the only accepted key: a correctly spelled ReceiverIdentifierType alone is
  // answered with this very error (real capture, docs/daraja.md §7).
  const identifierType = text(b.RecieverIdentifierType);
  if (!identifierType || !(REVERSAL_RECEIVER_IDENTIFIER_TYPES as readonly string[]).includes(identifierType)) {
    return fail(invalidField('RecieverIdentifierType'));
  }
  if (!optionalRemarksOk(b)) return fail(invalidField('Remarks'));
  const urls = checkResultUrls(b);
  if (!urls.ok) return urls;
  return {
    ok: true,
    value: { initiatorValid: initiator.value, transactionId: transactionId.toUpperCase(), amount, receiverParty, ...urls.value },
  };
}

export function checkStatusQuery(body: unknown, expected: ExpectedInitiator, decrypt: DecryptCredential): Checked<ValidStatusQuery> {
  const b = asRecord(body);
  const initiator = checkInitiator(b, 'Initiator', expected, decrypt);
  if (!initiator.ok) return initiator;
  if (text(b.CommandID) !== 'TransactionStatusQuery') return fail(invalidField('CommandID'));

  // The docs name the conversation field OriginalConversationID, one SDK sends OriginatorConversationID and it is
  // unverified which Daraja honours (docs/daraja.md §8): take any of them.
  const ids = [b.TransactionID, b.OriginatorConversationID, b.OriginalConversationID]
    .map(text)
    .filter((id): id is string => id !== undefined && id.trim() !== '' && id.length <= ORIGINATOR_CONVERSATION_ID_MAX);
  if (ids.length === 0) return fail(invalidField('TransactionID'));

  const partyA = text(b.PartyA);
  if (!partyA || (partyA !== expected.shortcode && partyA !== expected.b2cShortcode)) return fail(invalidField('PartyA'));
  if (text(b.IdentifierType) !== ORGANISATION_IDENTIFIER) return fail(invalidField('IdentifierType'));
  if (!optionalRemarksOk(b)) return fail(invalidField('Remarks'));
  const urls = checkResultUrls(b);
  if (!urls.ok) return urls;
  return { ok: true, value: { initiatorValid: initiator.value, partyA, ids: [...new Set(ids)], occasion: occasionOf(b), ...urls.value } };
}
