import { redact, redactText } from '../common/redaction';
import { maskPhone } from '../common/phone-number';

/**
 * Masking of personal data for retention and anonymisation. Pure and idempotent: masking a masked value gives the
 * same value back, so a second run (or a retention run after an anonymisation) changes nothing.
 */

/** `John Kamau Doe` -> `J*** K*** D***`: recognisable to its owner on a receipt, not enough to identify anyone. */
export function maskName(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  return words.length ? words.map((w) => `${w[0]}***`).join(' ') : '***';
}

/** `jane.doe@example.co.ke` -> `j***@***.ke`. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  const tld = email
    .slice(at + 1)
    .split('.')
    .pop();
  return `${email[0]}***@***${tld && tld !== '***' ? `.${tld}` : ''}`;
}

/** Already masked values stay as they are (`2547****149`). */
export function maskMsisdn(msisdn: string): string {
  return maskPhone(msisdn);
}

const EMAIL_IN_TEXT = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;

/** Phone numbers and email addresses inside free text. */
export function maskContactsInText(text: string): string {
  return redactText(text).replace(EMAIL_IN_TEXT, (m) => maskEmail(m));
}

/**
 * Daraja's "public name" values are `<MSISDN> - <NAME>` (ReceiverPartyPublicName, CreditPartyName...): the number
 * is masked like any other, the name word by word.
 */
export function maskPublicName(value: string): string {
  const split = /^(.*?)\s+-\s+(.*)$/.exec(value);
  if (!split) return maskName(value);
  return `${maskContactsInText(split[1])} - ${maskName(split[2])}`;
}

const normalise = (key: string) => key.replace(/[\s_-]+/g, '').toLowerCase();

/** Keys (normalised) that hold a person's name: Daraja's result parameters and our own payloads. */
const NAME_KEY =
  /(partyname|publicname|firstname|middlename|lastname|fullname|customername|payername|recipientname|receivername|accountname|^name$)/;
/** Label/value pairs: Daraja's `{ Key, Value }` result parameters and `{ Name, Value }` callback metadata. */
const LABEL_KEYS = ['key', 'name'];

/** A masked value when the key says the value is a person's name; undefined otherwise (emails and phones are found in any text). */
function maskByKey(key: string, value: unknown): string | undefined {
  return typeof value === 'string' && NAME_KEY.test(normalise(key)) ? maskPublicName(value) : undefined;
}

function scrub(value: unknown, depth: number): unknown {
  if (depth > 10 || value === null || value === undefined) return value;
  if (typeof value === 'string') return maskContactsInText(value);
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  if (typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const valueKey = Object.keys(obj).find((k) => normalise(k) === 'value');
  const labelKey = valueKey ? Object.keys(obj).find((k) => LABEL_KEYS.includes(normalise(k))) : undefined;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(obj)) {
    if (labelKey && key === valueKey && typeof obj[labelKey] === 'string') {
      // `{ Key: 'ReceiverPartyPublicName', Value: '2547... - JANE DOE' }`: the label says what the value is.
      out[key] = maskByKey(obj[labelKey] as string, v) ?? scrub(v, depth + 1);
      continue;
    }
    if (key === labelKey) {
      out[key] = v; // a label, not a person's name
      continue;
    }
    out[key] = maskByKey(key, v) ?? scrub(v, depth + 1);
  }
  return out;
}

/**
 * A copy of a stored JSON document (Daraja payloads, notification payloads, stored answers) with phone numbers,
 * names and email addresses masked; amounts, receipts, codes and timestamps are left as they are. Secrets are
 * removed too (through `redact`), though stored documents should hold none already.
 */
export function scrubPersonalData<T>(value: T): T {
  return scrub(redact(value), 0) as T;
}

/** The rows whose scrubbed document differs from the stored one, with their new value (nothing to write otherwise). */
export function scrubbedOnly(rows: { id: string; before: unknown }[]): { id: string; value: unknown }[] {
  return rows
    .map(({ id, before }) => ({ id, before, value: scrubPersonalData(before) }))
    .filter(({ before, value }) => JSON.stringify(before) !== JSON.stringify(value))
    .map(({ id, value }) => ({ id, value }));
}
