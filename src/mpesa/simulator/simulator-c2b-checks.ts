import { invalidField } from './daraja-errors';
import { asRecord, Checked, fail, httpUrl, MSISDN, STK_MAX_AMOUNT, text, wholeAmount } from './simulator-checks';

/**
 * C2B (Register URL, Simulate) and Pull Transactions request checks, pure like simulator-checks.ts. Each refusal is
 * the simulator's usual `400.002.02 Bad Request - Invalid <Field>`, naming the first field rejected.
 */

/** Paybills and tills: 5–6 digits per the docs, and a real 7-digit paybill exists (docs/daraja.md §9.5). */
const SHORTCODE = /^\d{5,7}$/;

export const C2B_COMMAND_IDS = ['CustomerPayBillOnline', 'CustomerBuyGoodsOnline'] as const;
export type C2bCommandId = (typeof C2B_COMMAND_IDS)[number];

/** The BillRefNumber a customer can type: up to 20 characters (docs/daraja.md §9.5). */
export const BILL_REF_MAX = 20;

/**
 * Words Safaricom refuses anywhere in a C2B URL, case-insensitively (docs/daraja.md §9.3). The app's preflight checks
 * the same list; the simulator refuses them too, so a URL production would refuse fails here first.
 */
export const FORBIDDEN_URL_WORDS = ['m-pesa', 'mpesa', 'safaricom', 'exec', 'exe', 'cmd', 'sql', 'query'] as const;

export const forbiddenWordIn = (url: string) => FORBIDDEN_URL_WORDS.find((word) => url.toLowerCase().includes(word));

export type C2bResponseType = 'Completed' | 'Cancelled';

export interface ValidC2bRegister {
  shortCode: string;
  responseType: C2bResponseType;
  confirmationUrl: string;
  validationUrl: string;
}

const c2bUrl = (value: unknown) => {
  const url = httpUrl(value);
  return url && !forbiddenWordIn(url) ? url : undefined;
};

export function checkC2bRegister(body: unknown): Checked<ValidC2bRegister> {
  const b = asRecord(body);
  const shortCode = text(b.ShortCode);
  if (!shortCode || !SHORTCODE.test(shortCode)) return fail(invalidField('ShortCode'));
  // The docs' text says Cancelled, their table and one SDK Canceled (docs/daraja.md §9.2): both mean the same.
  const responseType = text(b.ResponseType);
  if (responseType !== 'Completed' && responseType !== 'Cancelled' && responseType !== 'Canceled') {
    return fail(invalidField('ResponseType'));
  }
  const confirmationUrl = c2bUrl(b.ConfirmationURL);
  if (!confirmationUrl) return fail(invalidField('ConfirmationURL'));
  const validationUrl = c2bUrl(b.ValidationURL);
  if (!validationUrl) return fail(invalidField('ValidationURL'));
  return {
    ok: true,
    value: { shortCode, responseType: responseType === 'Completed' ? 'Completed' : 'Cancelled', confirmationUrl, validationUrl },
  };
}

export interface ValidC2bSimulate {
  shortCode: string;
  commandId: C2bCommandId;
  amount: number;
  phone: string;
  /** As typed (spaces kept); null for Buy Goods, which has no account number. */
  billRefNumber: string | null;
}

export function checkC2bSimulate(body: unknown): Checked<ValidC2bSimulate> {
  const b = asRecord(body);
  const shortCode = text(b.ShortCode);
  if (!shortCode || !SHORTCODE.test(shortCode)) return fail(invalidField('ShortCode'));
  const commandId = text(b.CommandID);
  if (!commandId || !(C2B_COMMAND_IDS as readonly string[]).includes(commandId)) return fail(invalidField('CommandID'));
  const amount = wholeAmount(b.Amount, 1, STK_MAX_AMOUNT);
  if (amount === undefined) return fail(invalidField('Amount'));
  const phone = text(b.Msisdn);
  if (!phone || !MSISDN.test(phone)) return fail(invalidField('Msisdn'));

  let billRefNumber: string | null = null;
  if (commandId === 'CustomerPayBillOnline') {
    // A paybill payment needs the account number the customer typed.
    const ref = text(b.BillRefNumber);
    if (ref === undefined || ref.trim() === '' || ref.length > BILL_REF_MAX) return fail(invalidField('BillRefNumber'));
    billRefNumber = ref;
  }
  return { ok: true, value: { shortCode, commandId: commandId as C2bCommandId, amount, phone, billRefNumber } };
}

export interface ValidPullRegister {
  shortCode: string;
  nominatedNumber: string;
  callbackUrl: string;
}

/** The docs' sample is `0722000000`, their table `254722000000` (docs/daraja.md §17.2): either. */
const NOMINATED_NUMBER = /^(254|0)[17]\d{8}$/;

export function checkPullRegister(body: unknown): Checked<ValidPullRegister> {
  const b = asRecord(body);
  const shortCode = text(b.ShortCode);
  if (!shortCode || !SHORTCODE.test(shortCode)) return fail(invalidField('ShortCode'));
  if (text(b.RequestType) !== 'Pull') return fail(invalidField('RequestType'));
  const nominatedNumber = text(b.NominatedNumber);
  if (!nominatedNumber || !NOMINATED_NUMBER.test(nominatedNumber)) return fail(invalidField('NominatedNumber'));
  const callbackUrl = httpUrl(b.CallBackURL);
  if (!callbackUrl) return fail(invalidField('CallBackURL'));
  return { ok: true, value: { shortCode, nominatedNumber, callbackUrl } };
}

export interface ValidPullQuery {
  shortCode: string;
  start: Date;
  end: Date;
  offset: number;
}

/** Far beyond any real window's pages; keeps the arithmetic sane. */
export const MAX_PULL_OFFSET = 1_000_000;

export function checkPullQuery(body: unknown): Checked<ValidPullQuery> {
  const b = asRecord(body);
  const shortCode = text(b.ShortCode);
  if (!shortCode || !SHORTCODE.test(shortCode)) return fail(invalidField('ShortCode'));
  const start = parseKenyaDateTime(text(b.StartDate));
  if (!start) return fail(invalidField('StartDate'));
  const end = parseKenyaDateTime(text(b.EndDate));
  if (!end || end.getTime() < start.getTime()) return fail(invalidField('EndDate'));
  // A JSON number (KEP) or a string of digits (CEC, NAV, the docs' sample): both are sent in production (§17.3).
  const offset = wholeAmount(b.OffSetValue, 0, MAX_PULL_OFFSET);
  if (offset === undefined) return fail(invalidField('OffSetValue'));
  return { ok: true, value: { shortCode, start, end, offset } };
}

const EAT_OFFSET_MS = 3 * 60 * 60 * 1000;

/**
 * `YYYY-MM-DD HH:mm:ss` or `YYYY-MM-DD HH:mm` in Kenya time, the hour with one or two digits as in the docs' samples
 * (`2020-08-04 8:36:00`); a `T` instead of the space is accepted too. Undefined for anything else.
 */
export function parseKenyaDateTime(value: string | undefined): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(value?.trim() ?? '');
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map((part) => Number(part ?? 0));
  const utc = Date.UTC(year, month - 1, day, hour, minute, second) - EAT_OFFSET_MS;
  const check = new Date(utc + EAT_OFFSET_MS);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return undefined;
  return new Date(utc);
}

/**
 * A statement bound (`from` / `to` of the control API): an ISO instant with its zone, a Kenya date-time as Pull takes
 * it (`to`: to the end of its second), or a Kenya date (`from` = its first millisecond, `to` = its last). `null`:
 * unreadable; undefined: not given.
 */
export function parseStatementBound(value: unknown, edge: 'from' | 'to'): Date | null | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') return null;
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (day) {
    const start = parseKenyaDateTime(`${value} 00:00:00`);
    if (!start) return null;
    return edge === 'from' ? start : new Date(start.getTime() + 24 * 60 * 60 * 1000 - 1);
  }
  // Kenya date-times have whole seconds: `to` takes in the whole of its last second.
  const kenya = parseKenyaDateTime(value);
  if (kenya) return edge === 'from' ? kenya : new Date(kenya.getTime() + 999);
  if (/(Z|[+-]\d{2}:?\d{2})$/i.test(value)) {
    const at = new Date(value);
    return Number.isNaN(at.getTime()) ? null : at;
  }
  return null;
}
