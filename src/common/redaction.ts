import { maskPhone } from '../mpesa/phone-number';

const SECRET_KEYS = new Set(
  [
    'password',
    'securitycredential',
    'initiatorpassword',
    'access_token',
    'accesstoken',
    'authorization',
    'consumersecret',
    'consumer_secret',
    'passkey',
    'token',
  ].map((k) => k.toLowerCase()),
);
const PHONE_KEYS = new Set(['partya', 'phonenumber', 'msisdn', 'phone', 'receiverparty', 'creditpartypublicname']);

// 2547XXXXXXXX / 2541XXXXXXXX, +254..., and local 07/01 forms anywhere in free text.
const PHONE_IN_TEXT = /(\+?254[17]\d{8}|\b0[17]\d{8}\b)/g;
const TOKEN_IN_TEXT = /(Invalid Access Token\s*-\s*)\S+/gi;
const BEARER_IN_TEXT = /(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi;
const URL_TOKEN = /([?&](?:token|sig|t)=)[^&\s"]+/gi;

/** Masks phone numbers and strips tokens from free text (Daraja error messages, descriptions...). */
export function redactText(text: string): string {
  return text
    .replace(TOKEN_IN_TEXT, '$1[REDACTED]')
    .replace(BEARER_IN_TEXT, '$1[REDACTED]')
    .replace(URL_TOKEN, '$1[REDACTED]')
    .replace(PHONE_IN_TEXT, (m) => maskPhone(m.replace(/^\+/, '').replace(/^0/, '254')));
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
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      const lower = key.toLowerCase();
      if (SECRET_KEYS.has(lower)) out[key] = v === undefined || v === null || v === '' ? v : '[REDACTED]';
      else if (PHONE_KEYS.has(lower) && (typeof v === 'string' || typeof v === 'number')) out[key] = maskPhone(String(v));
      else out[key] = redact(v, depth + 1);
    }
    return out as T;
  }
  return value;
}
