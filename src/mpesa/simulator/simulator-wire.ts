import { randomInt } from 'node:crypto';
import { darajaTimestamp } from '../daraja-time';
import type { StkOutcome } from './simulator-scenarios';

/** A push the simulator accepted, as stored in Redis (JSON) and shown by `GET /simulator/control/stk/:id`. */
export interface SimulatedStkTransaction {
  checkoutRequestId: string;
  merchantRequestId: string;
  /** `PhoneNumber`: the phone that gets the prompt; it picks the scenario and holds the subscriber lock. */
  phone: string;
  partyA: string;
  amount: number;
  /** Exactly as received, query string included: callbacks go there verbatim. */
  callbackUrl: string;
  accountReference: string;
  transactionDesc?: string;
  transactionType: string;
  outcome: StkOutcome;
  /** ISO instants. */
  createdAt: string;
  settlesAt: string;
  resultCode: number;
  resultDesc: string;
  /** Success only. */
  receipt?: string;
  /** Success only: Kenya time `YYYYMMDDHHmmss` of the settlement, as the callback's TransactionDate. */
  transactionDate?: string;
}

/** One row of `GET /simulator/control/stk?phone=`. */
export type SimulatedStkSummary = Pick<
  SimulatedStkTransaction,
  | 'checkoutRequestId'
  | 'merchantRequestId'
  | 'callbackUrl'
  | 'amount'
  | 'phone'
  | 'outcome'
  | 'createdAt'
  | 'accountReference'
  | 'transactionDesc'
>;

export function summarize(t: SimulatedStkTransaction): SimulatedStkSummary {
  return {
    checkoutRequestId: t.checkoutRequestId,
    merchantRequestId: t.merchantRequestId,
    callbackUrl: t.callbackUrl,
    amount: t.amount,
    phone: t.phone,
    outcome: t.outcome,
    createdAt: t.createdAt,
    accountReference: t.accountReference,
    transactionDesc: t.transactionDesc,
  };
}

// ---- Daraja wire shapes (PascalCase, as Safaricom sends them) ----

export interface OAuthTokenResponse {
  access_token: string;
  /** A string, like real Daraja (docs/daraja.md §1.3). */
  expires_in: string;
}

export interface StkPushResponse {
  MerchantRequestID: string;
  CheckoutRequestID: string;
  ResponseCode: '0';
  ResponseDescription: string;
  CustomerMessage: string;
}

export interface StkQueryResponse {
  ResponseCode: '0';
  ResponseDescription: string;
  MerchantRequestID: string;
  CheckoutRequestID: string;
  /** A string here, unlike the callback's number (docs/daraja.md §4). */
  ResultCode: string;
  ResultDesc: string;
}

export interface StkCallbackItem {
  Name: string;
  Value?: number | string;
}

export interface StkCallbackPayload {
  Body: {
    stkCallback: {
      MerchantRequestID: string;
      CheckoutRequestID: string;
      ResultCode: number;
      ResultDesc: string;
      CallbackMetadata?: { Item: StkCallbackItem[] };
    };
  };
}

const ACCEPTED = 'Success. Request accepted for processing';
/** STK Query's ResponseDescription for any answered query (docs/daraja.md §4). */
export const STK_QUERY_ACCEPTED = 'The service request has been accepted successfully';

export function stkPushResponse(t: SimulatedStkTransaction): StkPushResponse {
  return {
    MerchantRequestID: t.merchantRequestId,
    CheckoutRequestID: t.checkoutRequestId,
    ResponseCode: '0',
    ResponseDescription: ACCEPTED,
    CustomerMessage: ACCEPTED,
  };
}

export function stkQueryResponse(t: SimulatedStkTransaction): StkQueryResponse {
  return {
    ResponseCode: '0',
    ResponseDescription: STK_QUERY_ACCEPTED,
    MerchantRequestID: t.merchantRequestId,
    CheckoutRequestID: t.checkoutRequestId,
    ResultCode: String(t.resultCode),
    ResultDesc: t.resultDesc,
  };
}

/** The production shape (docs/daraja.md §3.1): Balance without a Value, numbers where Daraja sends numbers. */
export function stkCallbackPayload(t: SimulatedStkTransaction): StkCallbackPayload {
  const stkCallback: StkCallbackPayload['Body']['stkCallback'] = {
    MerchantRequestID: t.merchantRequestId,
    CheckoutRequestID: t.checkoutRequestId,
    ResultCode: t.resultCode,
    ResultDesc: t.resultDesc,
  };
  if (t.resultCode === 0) {
    stkCallback.CallbackMetadata = {
      Item: [
        { Name: 'Amount', Value: t.amount },
        { Name: 'MpesaReceiptNumber', Value: t.receipt },
        { Name: 'Balance' },
        { Name: 'TransactionDate', Value: Number(t.transactionDate) },
        { Name: 'PhoneNumber', Value: Number(t.phone) },
      ],
    };
  }
  return { Body: { stkCallback } };
}

// ---- Identifiers ----

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

const pick = (alphabet: string, length: number) => Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');

/** 28 alphanumerics, like `c9SQxWWhmdVRlyh0zh8gZDTkubVF`. */
export const newAccessToken = () => pick(ALNUM, 28);

/** 10 uppercase alphanumerics starting with a letter, like `NLJ7RT61SV`; the caller makes it unique. */
export const newReceiptNumber = () => pick(UPPER, 1) + pick(UPPER_ALNUM, 9);

/** `29115-34620561-1`; `sequence` (a Redis counter) makes it unique, the random head makes it look real. */
export const newMerchantRequestId = (sequence: number) => `${randomInt(10_000, 99_999)}-${34_000_000 + sequence}-1`;

/** `ws_CO_` + Kenya time `ddMMyyyyHHmmssSSS` + random digits, like `ws_CO_1007202409152617172396192`. */
export function newCheckoutRequestId(at: Date = new Date()): string {
  const ts = darajaTimestamp(at); // yyyyMMddHHmmss
  const millis = String(at.getUTCMilliseconds()).padStart(3, '0');
  const stamp = ts.slice(6, 8) + ts.slice(4, 6) + ts.slice(0, 4) + ts.slice(8, 14) + millis;
  return `ws_CO_${stamp}${randomInt(10_000_000, 99_999_999)}`;
}
