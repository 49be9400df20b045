import { cleanResultDesc, normalizeResultCode } from './daraja-result-codes';
import { parseDarajaTimestamp } from './daraja-time';
import { DarajaResultPayload, ResultParameterItem } from './daraja.types';

/**
 * Parsers for the result envelope that B2C, Account Balance, Reversal and Transaction Status POST to their
 * ResultURL (docs/daraja.md §5.3, §6, §7, §8). Pure: no I/O, unit-tested against the reference's samples.
 */

export type ResultValue = string | number | undefined;

export interface ResultParameterEntry {
  /** As Daraja sent it. */
  key: string;
  value: ResultValue;
}

export interface ParsedResult {
  resultType: string;
  resultCode: string;
  resultDesc: string;
  originatorConversationId: string;
  conversationId: string;
  /** B2C: the receipt; Balance/Status: a placeholder such as `OA90000000`. */
  transactionId?: string;
  /**
   * By normalised key: spaces removed, lower case (`"Conversation ID"` and `"ConversationID"` are both
   * `conversationid`). A key that repeats keeps its first value here; `parameterList` has them all.
   */
  parameters: Record<string, ResultValue>;
  /** By the key exactly as sent (first value when repeated). */
  parametersByKey: Record<string, ResultValue>;
  /** Every parameter in order, repeats included (Transaction Status sends `DebitPartyName` twice). */
  parameterList: ResultParameterEntry[];
  /** ReferenceData items by normalised key (e.g. `queuetimeouturl`, `occasion`). */
  referenceData: Record<string, ResultValue>;
  referenceDataByKey: Record<string, ResultValue>;
}

export type ResultParseOutcome = { ok: true; value: ParsedResult } | { ok: false; reason: string };

const ID = /^[A-Za-z0-9_.-]{1,100}$/;

export function normaliseResultKey(key: string): string {
  return key.replace(/\s+/g, '').toLowerCase();
}

/** `ResultParameter` / `ReferenceItem`: one object or an array; entries without a string Key are dropped. */
function entries(items: unknown): ResultParameterEntry[] {
  const list = Array.isArray(items) ? items : items && typeof items === 'object' ? [items] : [];
  const out: ResultParameterEntry[] = [];
  for (const item of list) {
    if (!item || typeof item !== 'object') continue;
    const { Key, Value } = item as Partial<ResultParameterItem>;
    if (typeof Key !== 'string' || !Key.trim()) continue;
    const value = typeof Value === 'string' || (typeof Value === 'number' && Number.isFinite(Value)) ? Value : undefined;
    out.push({ key: Key.trim(), value });
  }
  return out;
}

function index(list: ResultParameterEntry[], keyOf: (key: string) => string): Record<string, ResultValue> {
  const out: Record<string, ResultValue> = {};
  for (const { key, value } of list) {
    const k = keyOf(key);
    if (!(k in out)) out[k] = value;
  }
  return out;
}

/** Validates the common `{ Result: {...} }` envelope; looks parameters up by key, never by position. */
export function parseResultCallback(body: unknown): ResultParseOutcome {
  const result = (body as Partial<DarajaResultPayload> | undefined)?.Result;
  if (!result || typeof result !== 'object') return { ok: false, reason: 'Result is missing' };
  const resultCode = normalizeResultCode(result.ResultCode);
  if (resultCode === undefined || resultCode.length > 32) return { ok: false, reason: 'Result.ResultCode is missing' };
  const { OriginatorConversationID, ConversationID, TransactionID } = result;
  if (typeof OriginatorConversationID !== 'string' || !ID.test(OriginatorConversationID)) {
    return { ok: false, reason: 'Result.OriginatorConversationID is missing or malformed' };
  }
  if (typeof ConversationID !== 'string' || !ID.test(ConversationID)) {
    return { ok: false, reason: 'Result.ConversationID is missing or malformed' };
  }
  const parameterList = entries((result.ResultParameters as { ResultParameter?: unknown } | undefined)?.ResultParameter);
  const referenceList = entries((result.ReferenceData as { ReferenceItem?: unknown } | undefined)?.ReferenceItem);
  return {
    ok: true,
    value: {
      resultType: normalizeResultCode(result.ResultType) ?? '',
      resultCode,
      resultDesc: (cleanResultDesc(result.ResultDesc) ?? '').slice(0, 500),
      originatorConversationId: OriginatorConversationID,
      conversationId: ConversationID,
      transactionId: typeof TransactionID === 'string' && ID.test(TransactionID) ? TransactionID : undefined,
      parameters: index(parameterList, normaliseResultKey),
      parametersByKey: index(parameterList, (k) => k),
      parameterList,
      referenceData: index(referenceList, normaliseResultKey),
      referenceDataByKey: index(referenceList, (k) => k),
    },
  };
}

export interface AccountBalanceEntry {
  /** `Working Account`, `Utility Account`, `Charges Paid Account`, `Merchant Account`... */
  account: string;
  currency: string;
  /** The four figures in Daraja's order, decimal shillings (labels per the community reading, docs/daraja.md §6). */
  current: number;
  available: number;
  reserved: number;
  uncleared: number;
}

/**
 * `Working Account|KES|700000.00|700000.00|0.00|0.00&Utility Account|KES|...`: accounts split by `&`, fields by `|`.
 * Returns undefined when no account could be read, so a garbled string is never mistaken for a zero balance.
 */
export function parseAccountBalance(value: string): AccountBalanceEntry[] | undefined {
  if (typeof value !== 'string') return undefined;
  const accounts: AccountBalanceEntry[] = [];
  for (const part of value.split('&')) {
    const fields = part.split('|').map((f) => f.trim());
    if (fields.length < 6 || !fields[0]) continue;
    const figures = fields.slice(2, 6).map((f) => (/^-?\d+(\.\d+)?$/.test(f) ? Number(f) : NaN));
    if (figures.some((n) => !Number.isFinite(n))) continue;
    const [current, available, reserved, uncleared] = figures;
    accounts.push({ account: fields[0], currency: fields[1], current, available, reserved, uncleared });
  }
  return accounts.length > 0 ? accounts : undefined;
}

/** Kenya time is UTC+3 all year. */
const EAT_OFFSET_MS = 3 * 60 * 60 * 1000;

/** B2C's `TransactionCompletedDateTime`: `DD.MM.YYYY HH:mm:ss` in Kenya time. */
export function parseDottedDarajaTime(value: ResultValue): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{2})\.(\d{2})\.(\d{4}) (\d{2}):(\d{2}):(\d{2})$/.exec(value.trim());
  if (!m) return undefined;
  const [day, month, year, hour, minute, second] = m.slice(1).map(Number);
  const utc = Date.UTC(year, month - 1, day, hour, minute, second) - EAT_OFFSET_MS;
  const check = new Date(utc + EAT_OFFSET_MS);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1 || check.getUTCHours() !== hour) return undefined;
  return new Date(utc);
}

function num(value: ResultValue): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

function str(value: ResultValue): string | undefined {
  if (value === undefined) return undefined;
  const s = String(value).trim();
  return s || undefined;
}

/** `YYYYMMDDHHmmss` as a string or a number, Kenya time. */
function compactTime(value: ResultValue): Date | undefined {
  return typeof value === 'string' || typeof value === 'number' ? parseDarajaTimestamp(String(value).trim()) : undefined;
}

/** `"254705912645 - NICHOLAS JOHN SONGOK"` -> its two halves; anything else is kept whole as the name. */
function splitPublicName(value: ResultValue): { msisdn?: string; name?: string } {
  const text = str(value);
  if (!text) return {};
  const m = /^(\d{6,15})\s*-\s*(.*)$/.exec(text);
  return m ? { msisdn: m[1], name: m[2].trim() || undefined } : { name: text };
}

export interface B2cResultDetails {
  amount?: number;
  receipt?: string;
  /** Personal data: the caller masks or encrypts it before storing. */
  receiverName?: string;
  /** Personal data, as in `ReceiverPartyPublicName`. */
  receiverMsisdn?: string;
  completedAt?: Date;
  utilityBalance?: number;
  workingBalance?: number;
  chargesPaidBalance?: number;
  recipientRegistered?: boolean;
}

/** The ResultParameters of a successful B2C result (docs/daraja.md §5.3). A failure has none: every field is undefined. */
export function b2cResultDetails(result: ParsedResult): B2cResultDetails {
  const p = result.parameters;
  const receiver = splitPublicName(p['receiverpartypublicname']);
  const registered = str(p['b2crecipientisregisteredcustomer'])?.toUpperCase();
  return {
    amount: num(p['transactionamount']),
    receipt: str(p['transactionreceipt']),
    receiverName: receiver.name,
    receiverMsisdn: receiver.msisdn,
    completedAt: parseDottedDarajaTime(p['transactioncompleteddatetime']),
    utilityBalance: num(p['b2cutilityaccountavailablefunds']),
    workingBalance: num(p['b2cworkingaccountavailablefunds']),
    chargesPaidBalance: num(p['b2cchargespaidaccountavailablefunds']),
    recipientRegistered: registered === 'Y' ? true : registered === 'N' ? false : undefined,
  };
}

export interface TransactionStatusDetails {
  /** `Completed`, `Cancelled`, `Declined`, `Expired`, `Initiated`, `Authorized`... (see `transactionStatusState`). */
  status?: string;
  receiptNo?: string;
  amount?: number;
  /** The queried transaction's ids (not the query's own, which are on the ParsedResult). */
  conversationId?: string;
  originatorConversationId?: string;
  initiatedAt?: Date;
  finalisedAt?: Date;
  reasonType?: string;
  transactionReason?: string;
  /** e.g. `Fee For B2C Payment|KES|22.40`, as sent. */
  debitPartyCharges?: string;
  debitAccountType?: string;
  /** Personal data when a customer is a party. */
  debitPartyName?: string;
  /** The second `DebitPartyName` of current docs, or `CreditPartyName` of older ones. Personal data. */
  creditPartyName?: string;
}

/** A Transaction Status result (docs/daraja.md §8); tolerates the 2017 key spellings with spaces. */
export function transactionStatusDetails(result: ParsedResult): TransactionStatusDetails {
  const p = result.parameters;
  const debitNames = result.parameterList.filter((e) => normaliseResultKey(e.key) === 'debitpartyname').map((e) => str(e.value));
  return {
    status: str(p['transactionstatus']),
    receiptNo: str(p['receiptno']),
    amount: num(p['amount']),
    conversationId: str(p['conversationid']),
    originatorConversationId: str(p['originatorconversationid']),
    initiatedAt: compactTime(p['initiatedtime']),
    finalisedAt: compactTime(p['finalisedtime']),
    reasonType: str(p['reasontype']),
    transactionReason: str(p['transactionreason']),
    debitPartyCharges: str(p['debitpartycharges']),
    debitAccountType: str(p['debitaccounttype']),
    debitPartyName: debitNames[0],
    creditPartyName: str(p['creditpartyname']) ?? debitNames[1],
  };
}

export interface ReversalDetails {
  amount?: number;
  /** The receipt that was reversed. */
  originalTransactionId?: string;
  charge?: number;
  completedAt?: Date;
  /** Personal data (the customer refunded). */
  creditPartyName?: string;
  debitPartyName?: string;
  /** The debited account after the reversal, parsed like an Account Balance line. */
  debitAccountBalance?: AccountBalanceEntry[];
}

/** A successful reversal's parameters (docs/daraja.md §7). */
export function reversalDetails(result: ParsedResult): ReversalDetails {
  const p = result.parameters;
  const balance = str(p['debitaccountbalance']);
  return {
    amount: num(p['amount']),
    originalTransactionId: str(p['originaltransactionid']),
    charge: num(p['charge']),
    completedAt: compactTime(p['transcompletedtime']),
    creditPartyName: str(p['creditpartypublicname']),
    debitPartyName: str(p['debitpartypublicname']),
    debitAccountBalance: balance ? parseAccountBalance(balance) : undefined,
  };
}
