/**
 * Safaricom MSISDNs as Daraja wants them: `2547XXXXXXXX` or `2541XXXXXXXX` (12 digits, no `+`).
 * Accepts `07…`, `01…`, `7…`/`1…` (9 digits), `2547…`, `2541…` and `+254…`, with spaces, dashes or parentheses.
 * Returns undefined for anything else.
 */
export function normalizeKenyanPhone(input: unknown): string | undefined {
  if (typeof input !== 'string' && typeof input !== 'number') return undefined;
  const raw = String(input).trim();
  if (!/^\+?[\d\s\-()]+$/.test(raw)) return undefined;
  const digits = raw.replace(/[\s\-()+]/g, '');
  let msisdn: string;
  if (/^0[17]\d{8}$/.test(digits)) msisdn = `254${digits.slice(1)}`;
  else if (/^[17]\d{8}$/.test(digits)) msisdn = `254${digits}`;
  else if (/^254[17]\d{8}$/.test(digits)) msisdn = digits;
  else return undefined;
  if (raw.startsWith('+') && !digits.startsWith('254')) return undefined;
  return msisdn;
}

/** `254708374149` -> `2547****149`: enough to recognise one's own number, not enough to dial it. */
export function maskPhone(msisdn: string): string {
  if (msisdn.length < 8) return '*'.repeat(msisdn.length);
  return `${msisdn.slice(0, 4)}****${msisdn.slice(-3)}`;
}
