import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { darajaTimestamp } from '../daraja-time';
import { darajaRequestId } from './daraja-errors';
import type { C2bCommandId, C2bResponseType } from './simulator-c2b-checks';
import { formatMsisdn, LedgerEntry, MsisdnFormat } from './simulator-ledger';
import type { C2bOutcome } from './simulator-scenarios';

/**
 * Records and Daraja wire shapes of C2B (docs/daraja.md §9) and Pull Transactions (§17), as the simulator sends them.
 */

/** The URLs registered for a shortcode (one registration per shortcode, as in production). */
export interface C2bRegistration {
  shortCode: string;
  responseType: C2bResponseType;
  confirmationUrl: string;
  validationUrl: string;
  /** Which Register URL version was called. */
  version: 'v1' | 'v2';
  registeredAt: string;
}

/** Where a payment made through C2B simulate stands, as `GET /simulator/control/c2b/payments/:id` shows it. */
export type C2bPaymentStatus = 'pending' | 'completed' | 'cancelled';

/**
 * How validation went: `not_sent` (no URLs registered, validation switched off, or the `no_result` fault),
 * `accepted` ("0"), `rejected` (any other ResultCode: the payment is cancelled), `unreachable` (no answer in time, an
 * HTTP error or no JSON: the registered ResponseType decides).
 */
export type C2bValidation = 'not_sent' | 'accepted' | 'rejected' | 'unreachable';

export interface SimulatedC2bPayment {
  /** What the acknowledgement's `OriginatorCoversationID` said. */
  originatorConversationId: string;
  version: 'v1' | 'v2';
  shortCode: string;
  commandId: C2bCommandId;
  amount: number;
  /** `Msisdn`: picks the scenario. */
  phone: string;
  billRefNumber: string | null;
  /** TransID: decided on acceptance, so validation and confirmation carry the same one. */
  receipt: string;
  outcome: C2bOutcome;
  status: C2bPaymentStatus;
  validation: C2bValidation | null;
  /** The validation answer's ResultCode, when it answered. */
  validationResultCode?: string;
  /** How many confirmations were scheduled (0: none will come). */
  confirmations: number;
  /** No notification at all (the `no_result` fault). */
  silent: boolean;
  createdAt: string;
  completedAt?: string;
}

// ---- Synchronous answers ----

/** The v2 samples' id: `6e86-45dd-91ac-fd5d4178ab523408729`, three groups of 4 hex, 12 hex and 7 digits. */
export function newC2bV2OriginatorId(): string {
  const hex = randomBytes(12).toString('hex');
  return `${hex.slice(0, 4)}-${hex.slice(4, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 24)}${randomInt(1_000_000, 9_999_999)}`;
}

/** The v1 samples' id: `7619-37765134-1`; `sequence` (a Redis counter) makes it unique. */
export const newC2bV1OriginatorId = (sequence: number) => `${randomInt(1_000, 99_999)}-${37_000_000 + sequence}-1`;

/**
 * Register URL's success, with Daraja's misspelled `OriginatorCoversationID` (both versions); v2 says `Success`,
 * v1 `success` (docs/daraja.md §9.2).
 */
export function registerUrlResponse(version: 'v1' | 'v2', originatorConversationId: string) {
  return {
    OriginatorCoversationID: originatorConversationId,
    ResponseCode: '0',
    ResponseDescription: version === 'v2' ? 'Success' : 'success',
  };
}

const SIMULATE_ACCEPTED = 'Accept the service request successfully.';

/**
 * Simulate's acknowledgement: v2 as documented; v1 as the real 2018 capture, with a ConversationID and no
 * ResponseCode (docs/daraja.md §9.11).
 */
export function simulateResponse(version: 'v1' | 'v2', originatorConversationId: string, conversationId: string) {
  return version === 'v2'
    ? { OriginatorCoversationID: originatorConversationId, ResponseCode: '0', ResponseDescription: SIMULATE_ACCEPTED }
    : { ConversationID: conversationId, OriginatorCoversationID: originatorConversationId, ResponseDescription: SIMULATE_ACCEPTED };
}

// ---- Validation and confirmation (POSTed to the registered URLs) ----

/** docs/daraja.md §9.5: every value a string, the names split over three keys. */
export interface C2bCallbackBody {
  TransactionType: string;
  TransID: string;
  TransTime: string;
  TransAmount: string;
  BusinessShortCode: string;
  BillRefNumber: string;
  InvoiceNumber: string;
  OrgAccountBalance: string;
  ThirdPartyTransID: string;
  MSISDN: string;
  FirstName: string;
  MiddleName: string;
  LastName: string;
}

/** What a C2B callback says about the payment; the ledger row has all of it. */
export type C2bCallbackFacts = Pick<LedgerEntry, 'receipt' | 'amount' | 'msisdn' | 'name' | 'accountReference' | 'transactionType'> & {
  /** The shortcode the URLs were registered for. */
  shortCode: string;
  completedAt: Date;
};

/**
 * The validation request (`stage: 'validation'`: blank OrgAccountBalance and ThirdPartyTransID, as in the Daraja 1.0
 * sample) or the confirmation (the shortcode's balance after the payment, and the ThirdPartyTransID validation
 * returned). `TransactionType` is `Pay Bill` or `Buy Goods`, for STK payments too (their real value is unknown:
 * docs/daraja.md §22.5). Data minimisation: the first name only, middle and last blank.
 */
export function c2bCallbackBody(
  facts: C2bCallbackFacts,
  stage: 'validation' | 'confirmation',
  options: { msisdnFormat: MsisdnFormat; orgBalanceCents?: number; thirdPartyTransId?: string },
): C2bCallbackBody {
  return {
    TransactionType: facts.transactionType === 'CustomerBuyGoodsOnline' ? 'Buy Goods' : 'Pay Bill',
    TransID: facts.receipt,
    TransTime: darajaTimestamp(facts.completedAt),
    TransAmount: facts.amount.toFixed(2),
    BusinessShortCode: facts.shortCode,
    BillRefNumber: facts.accountReference ?? '',
    InvoiceNumber: '',
    OrgAccountBalance: stage === 'confirmation' && options.orgBalanceCents !== undefined ? (options.orgBalanceCents / 100).toFixed(2) : '',
    ThirdPartyTransID: stage === 'confirmation' ? (options.thirdPartyTransId ?? '') : '',
    MSISDN: formatMsisdn(facts.msisdn, options.msisdnFormat),
    FirstName: facts.name.split(' ')[0] ?? '',
    MiddleName: '',
    LastName: '',
  };
}

/** What the app's validation URL answered, read as M-Pesa reads it (docs/daraja.md §9.8). */
export type ValidationAnswer =
  { kind: 'accepted'; thirdPartyTransId?: string } | { kind: 'rejected'; resultCode: string } | { kind: 'unreachable' };

/** `ResultCode` "0" (or 0) accepts; any other code rejects; no JSON object, or no ResultCode, counts as no answer. */
export function readValidationAnswer(body: unknown): ValidationAnswer {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { kind: 'unreachable' };
  const record = body as Record<string, unknown>;
  const code = record.ResultCode;
  if (typeof code !== 'string' && typeof code !== 'number') return { kind: 'unreachable' };
  if (String(code).trim() !== '0') return { kind: 'rejected', resultCode: String(code) };
  const thirdParty = record.ThirdPartyTransID;
  return typeof thirdParty === 'string' || typeof thirdParty === 'number'
    ? { kind: 'accepted', thirdPartyTransId: String(thirdParty) }
    : { kind: 'accepted' };
}

// ---- Pull Transactions ----

/** The registration's organisation name, as Pull's `organizationname` shows it. */
export const PULL_ORGANIZATION_NAME = 'Daraja Simulator';

export interface PullRegistration {
  shortCode: string;
  nominatedNumber: string;
  callbackUrl: string;
  registeredAt: string;
}

/** 1000 with the 3.0 docs' keys; 1001 with the 2.0 docs' keys with spaces (docs/daraja.md §17.2): clients read both. */
export function pullRegisterResponse(shortCode: string, alreadyRegistered: boolean) {
  return alreadyRegistered
    ? {
        ResponseRefID: darajaRequestId(),
        'Response Status': '1001',
        ShortCode: shortCode,
        'Response Description': 'ShortCode already Registered',
      }
    : {
        ResponseRefID: randomUUID(),
        ResponseStatus: '1000',
        ShortCode: shortCode,
        ResponseDescription: 'Shortcode Registered Successfully',
      };
}

/** One transaction as Pull lists it: lower-case keys (docs/daraja.md §17.4). */
export interface PullRecord {
  transactionId: string;
  /** ISO 8601 in UTC with its `Z`: the simulator's reading of the sample, whose zone is unverified (§22.8). */
  trxDate: string;
  /** A JSON number when plain, as in the samples; masked or hashed text otherwise. */
  msisdn: string | number;
  sender: string;
  transactiontype: string;
  billreference: string;
  /** A two-decimal string, like the sample. */
  amount: string;
  organizationname: string;
}

/** `c2b-pay-bill-debit` is the only documented type; the till one follows its pattern (a guess). */
export const pullTransactionType = (entry: LedgerEntry) =>
  entry.transactionType === 'CustomerBuyGoodsOnline' ? 'c2b-buy-goods-debit' : 'c2b-pay-bill-debit';

export function pullRecord(entry: LedgerEntry, msisdnFormat: MsisdnFormat): PullRecord {
  const msisdn = msisdnFormat === 'plain' && entry.msisdn ? Number(entry.msisdn) : formatMsisdn(entry.msisdn, msisdnFormat);
  return {
    transactionId: entry.receipt,
    trxDate: new Date(entry.completedAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    msisdn,
    sender: entry.name,
    transactiontype: pullTransactionType(entry),
    billreference: entry.accountReference ?? '',
    amount: entry.amount.toFixed(2),
    organizationname: PULL_ORGANIZATION_NAME,
  };
}

export const PULL_NO_RECORDS = 'No records found or Organization Name not available';

/** docs/daraja.md §17.4: `Response` an array of arrays (one inner list per answer here), paging totals included. */
export function pullQueryResponse(records: PullRecord[], totalPages: number, totalRecords: number) {
  return {
    ResponseRefID: darajaRequestId(),
    ResponseCode: '1000',
    ResponseMessage: 'Success',
    Response: [records],
    TotalPages: totalPages,
    TotalRecords: totalRecords,
  };
}

/** The production answer to a quiet window and to a shortcode not set up for Pull alike (docs/daraja.md §17.5). */
export function pullNoRecordsResponse() {
  return { ResponseRefID: darajaRequestId(), ResponseCode: '1001', ResponseMessage: PULL_NO_RECORDS };
}
