import { cleanResultDesc, normalizeResultCode } from '../mpesa/daraja-result-codes';
import { parseDarajaTimestamp } from '../mpesa/daraja-time';
import { StkCallbackItem, StkCallbackPayload } from '../mpesa/daraja.types';

export interface ParsedStkCallback {
  merchantRequestId: string;
  checkoutRequestId: string;
  resultCode: string;
  resultDesc: string;
  amount?: number;
  receiptNumber?: string;
  transactionDate?: Date;
  /** As sent; may be masked or absent in newer payloads. */
  phoneNumber?: string;
}

export type ParseResult = { ok: true; value: ParsedStkCallback } | { ok: false; reason: string };

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const RECEIPT = /^[A-Z0-9]{8,20}$/;

/**
 * Validates an STK callback body (docs/daraja.md §3). Items are looked up by Name, never by position; a success
 * must carry an amount and a receipt number, a failure carries no metadata.
 */
export function parseStkCallback(body: unknown): ParseResult {
  const callback = (body as Partial<StkCallbackPayload> | undefined)?.Body?.stkCallback;
  if (!callback || typeof callback !== 'object') return { ok: false, reason: 'Body.stkCallback is missing' };
  const { MerchantRequestID, CheckoutRequestID, ResultCode, ResultDesc, CallbackMetadata } = callback;
  if (typeof CheckoutRequestID !== 'string' || !ID.test(CheckoutRequestID))
    return { ok: false, reason: 'CheckoutRequestID is missing or malformed' };
  if (typeof MerchantRequestID !== 'string' || !ID.test(MerchantRequestID))
    return { ok: false, reason: 'MerchantRequestID is missing or malformed' };
  const resultCode = normalizeResultCode(ResultCode);
  if (resultCode === undefined || resultCode.length > 32) return { ok: false, reason: 'ResultCode is missing' };
  const value: ParsedStkCallback = {
    merchantRequestId: MerchantRequestID,
    checkoutRequestId: CheckoutRequestID,
    resultCode,
    resultDesc: (cleanResultDesc(ResultDesc) ?? '').slice(0, 500),
  };
  if (resultCode !== '0') return { ok: true, value };

  const items = Array.isArray(CallbackMetadata?.Item) ? CallbackMetadata.Item : undefined;
  if (!items) return { ok: false, reason: 'CallbackMetadata.Item is missing on a successful callback' };
  const item = (name: string) => items.find((i: StkCallbackItem) => i && i.Name === name)?.Value;
  const amount = Number(item('Amount'));
  if (!Number.isFinite(amount) || amount <= 0) return { ok: false, reason: 'Amount is missing or invalid' };
  const receipt = item('MpesaReceiptNumber');
  if (typeof receipt !== 'string' || !RECEIPT.test(receipt)) return { ok: false, reason: 'MpesaReceiptNumber is missing or malformed' };
  const rawDate = item('TransactionDate');
  const transactionDate = parseDarajaTimestamp(rawDate as string | number | undefined);
  if (rawDate !== undefined && !transactionDate) return { ok: false, reason: 'TransactionDate is malformed' };
  const phone = item('PhoneNumber');
  return {
    ok: true,
    value: {
      ...value,
      amount,
      receiptNumber: receipt,
      transactionDate,
      phoneNumber: phone === undefined ? undefined : String(phone),
    },
  };
}
