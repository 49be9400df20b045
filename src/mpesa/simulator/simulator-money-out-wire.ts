import { randomBytes, randomInt } from 'node:crypto';
import { darajaTimestamp } from '../daraja-time';
import type { B2cDelivery, B2cOutcome } from './simulator-scenarios';

/**
 * Records and Daraja wire shapes of the money-out APIs (docs/daraja.md §5–§8). Amounts the simulator keeps are
 * integers: whole shillings for transactions, cents for account balances.
 */

/** A B2C payout the simulator accepted, as stored in Redis (JSON) and shown by `GET /simulator/control/b2c/:id`. */
export interface SimulatedB2cPayment {
  originatorConversationId: string;
  conversationId: string;
  version: 'v1' | 'v3';
  commandId: string;
  amount: number;
  partyA: string;
  /** `PartyB`: picks the scenario. */
  phone: string;
  remarks: string;
  occasion?: string;
  /** Exactly as received: the POSTs go there verbatim. */
  resultUrl: string;
  queueTimeoutUrl: string;
  outcome: B2cOutcome;
  /** Whether the money left the Utility account. At most one per OriginatorConversationID, by construction. */
  paid: boolean;
  delivery: B2cDelivery;
  /** Set when a result is (or would be) sent. */
  resultCode?: number;
  resultDesc?: string;
  /** `Result.TransactionID`: the receipt when paid; a receipt-like id on a failure result, as Daraja sends one. */
  transactionId?: string;
  /** Paid only. */
  receipt?: string;
  /** Paid only, receiver-mismatch scenario: the MSISDN the money reached instead of PartyB. */
  receiverPhone?: string;
  /** Paid only: Transaction Status answers this many queries that find the payout with 2033 before showing it. */
  statusMisses?: number;
  /** Paid only: the balances right after the debit, reported in the result. */
  utilityAfterCents?: number;
  workingAfterCents?: number;
  /** ISO instants; a payout is decided (and paid) when accepted, its result is only delivered later. */
  createdAt: string;
  completedAt: string;
}

/** One row of `GET /simulator/control/b2c?phone=`. */
export interface SimulatedB2cSummary {
  originatorConversationId: string;
  conversationId: string;
  amount: number;
  commandId: string;
  outcome: B2cOutcome;
  paid: boolean;
  receipt: string | null;
  resultUrl: string;
  queueTimeoutUrl: string;
  createdAt: string;
}

export function summarizeB2c(p: SimulatedB2cPayment): SimulatedB2cSummary {
  return {
    originatorConversationId: p.originatorConversationId,
    conversationId: p.conversationId,
    amount: p.amount,
    commandId: p.commandId,
    outcome: p.outcome,
    paid: p.paid,
    receipt: p.receipt ?? null,
    resultUrl: p.resultUrl,
    queueTimeoutUrl: p.queueTimeoutUrl,
    createdAt: p.createdAt,
  };
}

/** A reversal of an STK payment, stored under the original receipt (which is what makes it happen once). */
export interface SimulatedReversal {
  originalReceipt: string;
  reversalReceipt: string;
  checkoutRequestId: string;
  amount: number;
  phone: string;
  originatorConversationId: string;
  conversationId: string;
  utilityAfterCents: number;
  createdAt: string;
}

/** The simulated organisation's accounts (cents). */
export interface SimulatedBalances {
  utilityCents: number;
  workingCents: number;
}

export const DEFAULT_BALANCES: SimulatedBalances = { utilityCents: 5_000_000_00, workingCents: 0 };
/** Fixed, as in Daraja's Account Balance sample (docs/daraja.md §6); the simulator charges no fees. */
export const CHARGES_PAID_CENTS = -1_540_00;
/** Every simulated customer has this registered name. */
export const SIMULATED_CUSTOMER_NAME = 'JOHN DOE';

export const customerPublicName = (phone: string) => `${phone} - ${SIMULATED_CUSTOMER_NAME}`;
export const organisationPublicName = (shortcode: string) => `${shortcode} - Daraja Simulator`;

/** `5000000.00`: Daraja's two-decimal money text. */
export const kesText = (cents: number) => (cents / 100).toFixed(2);
/** The JSON number the B2C result carries (`8959269.60` is `8959269.6` once parsed; Daraja's are the same). */
export const kesNumber = (cents: number) => Math.round(cents) / 100;

/** `Working Account|KES|<w>|<w>|0.00|0.00&…`, the five accounts of Daraja's sample in its order (docs/daraja.md §6). */
export function accountBalanceText(b: SimulatedBalances): string {
  const account = (name: string, cents: number) => `${name}|KES|${kesText(cents)}|${kesText(cents)}|0.00|0.00`;
  return [
    account('Working Account', b.workingCents),
    account('Float Account', 0),
    account('Utility Account', b.utilityCents),
    account('Charges Paid Account', CHARGES_PAID_CENTS),
    account('Organization Settlement Account', 0),
  ].join('&');
}

/** B2C's `TransactionCompletedDateTime`: `DD.MM.YYYY HH:mm:ss` in Kenya time. */
export function b2cCompletedDateTime(at: Date): string {
  const t = darajaTimestamp(at); // YYYYMMDDHHmmss
  return `${t.slice(6, 8)}.${t.slice(4, 6)}.${t.slice(0, 4)} ${t.slice(8, 10)}:${t.slice(10, 12)}:${t.slice(12, 14)}`;
}

// ---- Identifiers ----

/** `AG_20240706_20106e9209f64bebd05b`: Kenya date and 20 hex digits. */
export function newConversationId(at: Date = new Date()): string {
  return `AG_${darajaTimestamp(at).slice(0, 8)}_${randomBytes(10).toString('hex')}`;
}

/** `30567-20016094-1`, the shape M-Pesa generates; `sequence` (a Redis counter) makes it unique. */
export const newOriginatorConversationId = (sequence: number) => `${randomInt(10_000, 99_999)}-${20_000_000 + sequence}-${randomInt(1, 4)}`;

/** `OA90000000`: the placeholder TransactionID of results that moved no money (balance, unknown receipt). */
export const placeholderTransactionId = (prefix?: string) =>
  (prefix ?? Array.from({ length: 3 }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[randomInt(26)]).join('')).slice(0, 3) + '0000000';

// ---- Synchronous responses ----

export interface B2cResponse {
  ConversationID: string;
  OriginatorConversationID: string;
  ResponseCode: '0';
  ResponseDescription: string;
}

/** Account Balance, Reversal and Transaction Status acknowledge with the OriginatorConversationID first. */
export interface InitiatorResponse {
  OriginatorConversationID: string;
  ConversationID: string;
  ResponseCode: '0';
  ResponseDescription: string;
}

const ACCEPTED = 'Accept the service request successfully.';

export function b2cResponse(p: SimulatedB2cPayment): B2cResponse {
  return {
    ConversationID: p.conversationId,
    OriginatorConversationID: p.originatorConversationId,
    ResponseCode: '0',
    ResponseDescription: ACCEPTED,
  };
}

/** Account Balance's sample has no full stop; Reversal's and Transaction Status's have one. */
export function initiatorResponse(ids: ConversationIds, withFullStop = true): InitiatorResponse {
  return {
    OriginatorConversationID: ids.originatorConversationId,
    ConversationID: ids.conversationId,
    ResponseCode: '0',
    ResponseDescription: withFullStop ? ACCEPTED : ACCEPTED.slice(0, -1),
  };
}

// ---- Result callbacks (POSTed to ResultURL / QueueTimeOutURL) ----

export interface ResultParameter {
  Key: string;
  Value?: string | number;
}

export interface DarajaResult {
  Result: {
    ResultType: number | string;
    ResultCode: number | string;
    ResultDesc: string;
    OriginatorConversationID: string;
    ConversationID: string;
    TransactionID?: string;
    ResultParameters?: { ResultParameter: ResultParameter[] };
    ReferenceData: { ReferenceItem: ResultParameter };
  };
}

export interface ConversationIds {
  originatorConversationId: string;
  conversationId: string;
}

const referenceData = (path: string) => ({
  ReferenceItem: { Key: 'QueueTimeoutURL', Value: `https://internalsandbox.safaricom.co.ke/mpesa/${path}/v1/submit` },
});

/** Success (with ResultParameters) or failure (without), as in docs/daraja.md §5.3. */
export function b2cResultPayload(p: SimulatedB2cPayment): DarajaResult {
  const parameters: ResultParameter[] | undefined =
    p.paid && p.receipt
      ? [
          { Key: 'TransactionAmount', Value: p.amount },
          { Key: 'TransactionReceipt', Value: p.receipt },
          { Key: 'ReceiverPartyPublicName', Value: customerPublicName(p.receiverPhone ?? p.phone) },
          { Key: 'TransactionCompletedDateTime', Value: b2cCompletedDateTime(new Date(p.completedAt)) },
          { Key: 'B2CUtilityAccountAvailableFunds', Value: kesNumber(p.utilityAfterCents ?? 0) },
          { Key: 'B2CWorkingAccountAvailableFunds', Value: kesNumber(p.workingAfterCents ?? 0) },
          { Key: 'B2CRecipientIsRegisteredCustomer', Value: 'Y' },
          { Key: 'B2CChargesPaidAccountAvailableFunds', Value: kesNumber(CHARGES_PAID_CENTS) },
        ]
      : undefined;
  return {
    Result: {
      ResultType: 0,
      ResultCode: p.resultCode ?? 0,
      ResultDesc: p.resultDesc ?? '',
      OriginatorConversationID: p.originatorConversationId,
      ConversationID: p.conversationId,
      TransactionID: p.transactionId,
      ...(parameters ? { ResultParameters: { ResultParameter: parameters } } : {}),
      ReferenceData: referenceData('b2cresults'),
    },
  };
}

/** Our own shape for QueueTimeOutURL (Safaricom documents none; see B2C_QUEUE_TIMEOUT). */
export function queueTimeoutPayload(ids: ConversationIds, code: { resultCode: number; resultDesc: string }): DarajaResult {
  return {
    Result: {
      ResultType: 0,
      ResultCode: code.resultCode,
      ResultDesc: code.resultDesc,
      OriginatorConversationID: ids.originatorConversationId,
      ConversationID: ids.conversationId,
      ReferenceData: referenceData('b2cresults'),
    },
  };
}

/** `ResultType`/`ResultCode` as strings and no full stop, like Daraja's Account Balance sample (docs/daraja.md §6). */
export function balanceResultPayload(ids: ConversationIds, balances: SimulatedBalances, at: Date): DarajaResult {
  return {
    Result: {
      ResultType: '0',
      ResultCode: '0',
      ResultDesc: 'The service request is processed successfully',
      OriginatorConversationID: ids.originatorConversationId,
      ConversationID: ids.conversationId,
      TransactionID: placeholderTransactionId(),
      ResultParameters: {
        ResultParameter: [
          { Key: 'AccountBalance', Value: accountBalanceText(balances) },
          { Key: 'BOCompletedTime', Value: darajaTimestamp(at) },
        ],
      },
      ReferenceData: referenceData('abresults'),
    },
  };
}

/** A failed Account Balance query (wrong initiator password), keeping the string types of its success. */
export function balanceFailurePayload(ids: ConversationIds, resultCode: number, resultDesc: string): DarajaResult {
  return {
    Result: {
      ResultType: '0',
      ResultCode: String(resultCode),
      ResultDesc: resultDesc,
      OriginatorConversationID: ids.originatorConversationId,
      ConversationID: ids.conversationId,
      TransactionID: placeholderTransactionId(),
      ReferenceData: referenceData('abresults'),
    },
  };
}

/** docs/daraja.md §7: Amount/Charge/TransCompletedTime are numbers, DebitAccountBalance one account's text. */
export function reversalResultPayload(r: SimulatedReversal, shortcode: string): DarajaResult {
  const utility = kesText(r.utilityAfterCents);
  return {
    Result: {
      ResultType: 0,
      ResultCode: 0,
      ResultDesc: 'The service request is processed successfully.',
      OriginatorConversationID: r.originatorConversationId,
      ConversationID: r.conversationId,
      TransactionID: r.reversalReceipt,
      ResultParameters: {
        ResultParameter: [
          { Key: 'DebitAccountBalance', Value: `Utility Account|KES|${utility}|${utility}|0.00|0.00` },
          { Key: 'Amount', Value: r.amount },
          { Key: 'TransCompletedTime', Value: Number(darajaTimestamp(new Date(r.createdAt))) },
          { Key: 'OriginalTransactionID', Value: r.originalReceipt },
          { Key: 'Charge', Value: 0 },
          { Key: 'CreditPartyPublicName', Value: customerPublicName(r.phone) },
          { Key: 'DebitPartyPublicName', Value: organisationPublicName(shortcode) },
        ],
      },
      ReferenceData: referenceData('reversalresults'),
    },
  };
}

/** Failures of any initiator API without parameters: `R000002` stays a string, numeric codes stay numbers. */
export function failureResultPayload(
  ids: ConversationIds,
  resultCode: number | string,
  resultDesc: string,
  transactionId: string,
  referencePath: 'reversalresults' | 'b2cresults',
): DarajaResult {
  return {
    Result: {
      ResultType: 0,
      ResultCode: resultCode,
      ResultDesc: resultDesc,
      OriginatorConversationID: ids.originatorConversationId,
      ConversationID: ids.conversationId,
      TransactionID: transactionId,
      ReferenceData: referenceData(referencePath),
    },
  };
}

/** What Transaction Status reports about a transaction it found (any product). */
export interface StatusView {
  receipt: string;
  amount: number;
  debitPartyName: string;
  creditPartyName: string;
  originatorConversationId: string;
  conversationId: string;
  initiatedAt: Date;
  finalisedAt: Date;
  reasonType: string;
  debitAccountType: string;
}

/** Transaction Status's Occasion echo: a key with no Value when none was sent, as in the docs (docs/daraja.md §8). */
const occasionReference = (occasion?: string) => ({
  ReferenceItem: occasion === undefined ? { Key: 'Occasion' } : { Key: 'Occasion', Value: occasion },
});

/** docs/daraja.md §8: strings for times and Amount, as the current docs' sample. */
export function statusResultPayload(ids: ConversationIds, found: StatusView, occasion?: string): DarajaResult {
  return {
    Result: {
      ConversationID: ids.conversationId,
      OriginatorConversationID: ids.originatorConversationId,
      ReferenceData: occasionReference(occasion),
      ResultCode: 0,
      ResultDesc: 'The service request is processed successfully.',
      ResultParameters: {
        ResultParameter: [
          { Key: 'DebitPartyName', Value: found.debitPartyName },
          { Key: 'CreditPartyName', Value: found.creditPartyName },
          { Key: 'OriginatorConversationID', Value: found.originatorConversationId },
          { Key: 'InitiatedTime', Value: darajaTimestamp(found.initiatedAt) },
          { Key: 'DebitAccountType', Value: found.debitAccountType },
          { Key: 'DebitPartyCharges' },
          { Key: 'TransactionReason' },
          { Key: 'ReasonType', Value: found.reasonType },
          { Key: 'TransactionStatus', Value: 'Completed' },
          { Key: 'FinalisedTime', Value: darajaTimestamp(found.finalisedAt) },
          { Key: 'Amount', Value: String(found.amount) },
          { Key: 'ConversationID', Value: found.conversationId },
          { Key: 'ReceiptNo', Value: found.receipt },
        ],
      },
      ResultType: 0,
      TransactionID: placeholderTransactionId(found.receipt),
    },
  };
}

export function statusFailurePayload(ids: ConversationIds, resultCode: number, resultDesc: string, occasion?: string): DarajaResult {
  return {
    Result: {
      ConversationID: ids.conversationId,
      OriginatorConversationID: ids.originatorConversationId,
      ReferenceData: occasionReference(occasion),
      ResultCode: resultCode,
      ResultDesc: resultDesc,
      ResultType: 0,
      TransactionID: placeholderTransactionId(),
    },
  };
}
