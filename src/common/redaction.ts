import { maskPhone } from './phone-number';

const SECRET_KEYS = new Set(
  [
    'password',
    'securitycredential',
    'security_credential',
    'initiatorpassword',
    'initiator_password',
    'access_token',
    'accesstoken',
    'refresh_token',
    'authorization',
    'cookie',
    'set-cookie',
    'consumerkey',
    'consumer_key',
    'consumersecret',
    'consumer_secret',
    'client_secret',
    'passkey',
    'token',
    'secret',
    'apikey',
    'api_key',
    'x-api-key',
  ].map((k) => k.toLowerCase()),
);
const PHONE_KEYS = new Set(['partya', 'phonenumber', 'msisdn', 'phone', 'mobile', 'receiverparty']);
/**
 * Names are personal data too: B2C and Transaction Status results ("254722000000 - John Doe"), C2B payloads, an
 * org-portal statement row's `Other Party Info` and a Pull transaction's `sender`.
 */
const NAME_KEYS = new Set([
  'other party info',
  'sender',
  'receiverpartypublicname',
  'creditpartypublicname',
  'creditpartyname',
  'debitpartyname',
  'firstname',
  'middlename',
  'lastname',
  'customername',
]);

// 2547XXXXXXXX / 2541XXXXXXXX, +254..., and local 07/01 forms anywhere in free text, also with spaces or dashes; never
// inside a longer run of letters, digits or underscores, so M-Pesa's own ids (ws_CO_…2547…) stay traceable.
const PHONE_IN_TEXT = /(?<!\w)\+?254[\s-]?[17]\d{2}[\s-]?\d{3}[\s-]?\d{3}(?!\d)|\b0[17]\d{2}[\s-]?\d{3}[\s-]?\d{3}\b/g;
const TOKEN_IN_TEXT = /(Invalid Access Token\s*-\s*)\S+/gi;
// Credentials are long; "Missing bearer token" is a message, not a token.
const BEARER_IN_TEXT = /((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]{12,}/gi;
const URL_TOKEN = /([?&](?:token|sig|t)=)[^&\s"]+/gi;
// `"access_token":"..."`, `Password=...`: a secret's value inside a JSON or form text (an echoed body, an error).
// Not after a letter or `_`: `MPESA_PASSKEY: must be set` names a variable, it does not hold one.
const SECRET_IN_TEXT =
  /((?<![A-Za-z_])(?:access_token|refresh_token|password|passkey|securitycredential|security_credential|consumer_?key|consumer_?secret|client_secret|api_?key)["']?\s*[:=]\s*["']?)[^"'&\s,}]+/gi;
// The name M-Pesa writes after a party's number: `Pay Bill from 2547****123 - JANE DOE Acc. 42` (a statement's
// Details), `254722000123 - John Doe` (a public name in free text). The name is the words up to `Acc`; a word
// followed by `*` is already masked, so masking twice changes nothing. The number is masked by PHONE_IN_TEXT.
const NAME_WORD = String.raw`[A-Za-z][A-Za-z'.-]*(?![A-Za-z'.*-])`;
const NAME_AFTER_NUMBER = new RegExp(String.raw`(\b\d{2,4}[\d*]{5,9}\d\s+-\s+)(${NAME_WORD}(?:\s+(?!Acc\b)${NAME_WORD})*)`, 'g');

// Any of the patterns above, tested once: most strings we store (ids, amounts, Daraja's descriptions) hold none of
// them, and a scan per pattern of each such string was a visible share of a request's CPU. When this finds nothing, no
// replacement below can change the text, so skipping them is exact.
const ANYTHING_TO_REDACT = new RegExp(
  [TOKEN_IN_TEXT, BEARER_IN_TEXT, URL_TOKEN, SECRET_IN_TEXT, PHONE_IN_TEXT, NAME_AFTER_NUMBER]
    .map((pattern) => `(?:${pattern.source})`)
    .join('|'),
  'i',
);

function maskPhoneInText(match: string): string {
  const digits = match.replace(/\D/g, '');
  return maskPhone(digits.startsWith('0') ? `254${digits.slice(1)}` : digits);
}

/** Masks phone numbers and strips tokens from free text (Daraja error messages, descriptions...). */
export function redactText(text: string): string {
  if (!ANYTHING_TO_REDACT.test(text)) return text;
  return text
    .replace(TOKEN_IN_TEXT, '$1[REDACTED]')
    .replace(BEARER_IN_TEXT, '$1[REDACTED]')
    .replace(URL_TOKEN, '$1[REDACTED]')
    .replace(SECRET_IN_TEXT, '$1[REDACTED]')
    .replace(PHONE_IN_TEXT, maskPhoneInText)
    .replace(NAME_AFTER_NUMBER, (_match, number: string, name: string) => `${number}${maskWords(name)}`);
}

/** Each word reduced to its initial: `JANE DOE` -> `J*** D**`. */
function maskWords(text: string): string {
  return text.replace(/\p{L}[\p{L}'.-]*/gu, (word) => `${word[0]}${'*'.repeat(Math.min(word.length - 1, 6))}`);
}

/** `254722000000 - John Doe` -> `2547****000 - J*** D**`: the phone masked, each name reduced to its initial. */
export function maskPartyName(value: string): string {
  return maskWords(redactText(value));
}

/** The rule for one field, by its name: a secret, a phone, a name, or anything else (redacted as text). */
function redactField(key: string, value: unknown, depth: number): unknown {
  const lower = key.toLowerCase();
  if (SECRET_KEYS.has(lower)) return value === undefined || value === null || value === '' ? value : '[REDACTED]';
  if (PHONE_KEYS.has(lower) && (typeof value === 'string' || typeof value === 'number')) return maskPhone(String(value));
  if (NAME_KEYS.has(lower) && typeof value === 'string') return maskPartyName(value);
  return redact(value, depth + 1);
}

/**
 * A deep copy safe to store in logs, audit events, transaction logs and job data:
 * secrets replaced, phone numbers masked (as keys or inside text), callback tokens removed.
 */
export function redact<T>(value: T, depth = 0): T {
  if (depth > 8 || value === null || value === undefined) return value;
  if (typeof value === 'string') return redactText(value) as T;
  if (typeof value === 'number') {
    const digits = String(value);
    return (/^254[17]\d{8}$/.test(digits) ? maskPhone(digits) : value) as T;
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1)) as T;
  if (value instanceof Date) return value;
  if (value instanceof Error) {
    // message and stack are not enumerable: copied explicitly, or they would vanish (or leak, unredacted).
    return {
      ...redact({ ...value }, depth + 1),
      type: value.name,
      message: redactText(value.message),
      stack: value.stack && redactText(value.stack),
    } as T;
  }
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    const entries = Object.entries(value as Record<string, unknown>);
    // Daraja's `{ Name: 'PhoneNumber', Value }` / `{ Key: 'ReceiverPartyPublicName', Value }` items: the rule is the item's name.
    const itemName = (value as { Name?: unknown; Key?: unknown }).Name ?? (value as { Key?: unknown }).Key;
    for (const [key, v] of entries) {
      out[key] = key === 'Value' && typeof itemName === 'string' ? redactField(itemName, v, depth) : redactField(key, v, depth);
    }
    return out as T;
  }
  return value;
}
