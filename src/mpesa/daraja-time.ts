/** Kenya (EAT) is UTC+3 all year: no daylight saving, so a fixed offset is exact. */
const EAT_OFFSET_MS = 3 * 60 * 60 * 1000;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Daraja's `Timestamp`: `YYYYMMDDHHmmss` in Kenya time. Generate once per request and reuse for the Password. */
export function darajaTimestamp(at: Date = new Date()): string {
  const eat = new Date(at.getTime() + EAT_OFFSET_MS);
  return (
    pad(eat.getUTCFullYear(), 4) +
    pad(eat.getUTCMonth() + 1) +
    pad(eat.getUTCDate()) +
    pad(eat.getUTCHours()) +
    pad(eat.getUTCMinutes()) +
    pad(eat.getUTCSeconds())
  );
}

/**
 * Parses a Kenya-time `YYYYMMDDHHmmss` (string or the number STK callbacks send) into an instant.
 * Returns undefined for anything that is not a real calendar time.
 */
export function parseDarajaTimestamp(value: string | number | undefined | null): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const text = String(value);
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
  const utc = Date.UTC(year, month - 1, day, hour, minute, second) - EAT_OFFSET_MS;
  const check = new Date(utc + EAT_OFFSET_MS);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    check.getUTCHours() !== hour ||
    check.getUTCMinutes() !== minute ||
    check.getUTCSeconds() !== second
  ) {
    return undefined;
  }
  return new Date(utc);
}

/** STK `Password` = base64(BusinessShortCode + Passkey + Timestamp), plain concatenation in that order. */
export function stkPassword(shortcode: string, passkey: string, timestamp: string): string {
  return Buffer.from(`${shortcode}${passkey}${timestamp}`, 'utf8').toString('base64');
}

/** Pull Transactions' `StartDate` / `EndDate`: `YYYY-MM-DD HH:mm:ss` in Kenya time (docs/daraja.md §17.3). */
export function pullDateTime(at: Date): string {
  const eat = new Date(at.getTime() + EAT_OFFSET_MS);
  return (
    `${pad(eat.getUTCFullYear(), 4)}-${pad(eat.getUTCMonth() + 1)}-${pad(eat.getUTCDate())} ` +
    `${pad(eat.getUTCHours())}:${pad(eat.getUTCMinutes())}:${pad(eat.getUTCSeconds())}`
  );
}

/**
 * Pull's `trxDate` (ISO 8601, e.g. `2020-08-05T10:13:00Z`). Whether its `Z` really means UTC is unverified
 * (docs/daraja.md §22): a value with an offset is taken as written, one without is read as Kenya time.
 */
export function parsePullDate(value: unknown): Date | undefined {
  if (typeof value !== 'string' || !value.trim()) return undefined;
  const text = value.trim().replace(' ', 'T');
  const withZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(text) ? text : `${text}+03:00`;
  const at = new Date(withZone);
  return Number.isNaN(at.getTime()) ? undefined : at;
}
