import { Parsed } from '../callbacks/inbound-callbacks';
import { parseDarajaTimestamp } from '../mpesa/daraja-time';
import { wholeShillings } from '../payments/incoming-matching';

/** A C2B validation or confirmation request (docs/daraja.md §9.5), normalised: every field as trimmed text. */
export interface C2bNotification {
  transactionType: string;
  /** The M-Pesa receipt. */
  transId: string;
  /** TransTime read as Kenya time; null when absent or unreadable. */
  transTime: Date | null;
  /** Whole shillings; undefined when TransAmount is not a whole number (validation refuses it, confirmation is malformed). */
  amount: number | undefined;
  amountText: string;
  shortCode: string;
  /** The account number the customer typed (Paybill); empty for tills. */
  billRefNumber: string;
  invoiceNumber: string;
  thirdPartyTransId: string;
  /** As given: masked, hashed, plain or empty (docs/daraja.md §9.7). */
  msisdn: string;
  /** First, middle and last names joined, as given; null when none. */
  payerName: string | null;
}

const RECEIPT = /^[A-Za-z0-9]{6,32}$/;

/** Daraja sends strings, sometimes numbers, sometimes leaves keys out: `String(v ?? '').trim()` (docs/daraja.md §9.5). */
const text = (value: unknown): string => (typeof value === 'string' || typeof value === 'number' ? String(value).trim() : '');

function normalise(body: Record<string, unknown>): C2bNotification {
  const names = [body.FirstName, body.MiddleName, body.LastName].map(text).filter(Boolean);
  return {
    transactionType: text(body.TransactionType),
    transId: text(body.TransID).toUpperCase(),
    transTime: parseDarajaTimestamp(text(body.TransTime)) ?? null,
    amount: wholeShillings(body.TransAmount),
    amountText: text(body.TransAmount),
    shortCode: text(body.BusinessShortCode),
    billRefNumber: text(body.BillRefNumber),
    invoiceNumber: text(body.InvoiceNumber),
    thirdPartyTransId: text(body.ThirdPartyTransID),
    msisdn: text(body.MSISDN),
    payerName: names.length ? names.join(' ').slice(0, 150) : null,
  };
}

const isObject = (body: unknown): body is Record<string, unknown> => typeof body === 'object' && body !== null && !Array.isArray(body);

/** A validation request: anything shaped like an object is answered (the decision reads what it can). */
export function parseC2bValidation(body: unknown): Parsed<C2bNotification> {
  if (!isObject(body)) return { ok: false, reason: 'the body is not a JSON object' };
  return { ok: true, value: normalise(body) };
}

/** A confirmation: final money, so it must name its receipt and a whole amount of at least 1 shilling. */
export function parseC2bConfirmation(body: unknown): Parsed<C2bNotification> {
  if (!isObject(body)) return { ok: false, reason: 'the body is not a JSON object' };
  const value = normalise(body);
  if (!RECEIPT.test(value.transId)) return { ok: false, reason: 'TransID is missing or not an M-Pesa receipt' };
  if (value.amount === undefined || value.amount < 1) {
    return { ok: false, reason: `TransAmount ${JSON.stringify(value.amountText)} is not a whole number of shillings of at least 1` };
  }
  return { ok: true, value };
}
