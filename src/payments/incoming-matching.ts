// How money that arrives without our ids (a C2B confirmation, a Pull record, a statement row) is recognised as one of
// our STK pushes: pure functions, so the rule can be read and tested on its own (docs/reconciliation.md).
import { createHash } from 'node:crypto';
import { maskPhone, normalizeKenyanPhone } from '../common/phone-number';

/**
 * How long before the money's own time (TransTime, trxDate, Completion Time) a push may have started and still be
 * its push. A prompt dies on the phone within about two minutes and Daraja gives up on the customer after about one
 * (docs/daraja.md §3.3), so ten minutes is generous without reaching back to an earlier attempt at the same amount.
 */
export const MATCH_WINDOW_BEFORE_MS = 10 * 60_000;
/** How far after it: clock differences between M-Pesa and us (M-Pesa's times are Kenya time, to the second). */
export const MATCH_WINDOW_AFTER_MS = 2 * 60_000;

/** The forms a payer's number takes in C2B, Pull and statements (docs/daraja.md §9.7, §18.4). */
export type MsisdnKind = 'empty' | 'plain' | 'masked' | 'sha256' | 'unreadable';

const SHA256_HEX = /^[0-9a-f]{64}$/i;
const MASK_CHARS = /[*xX•]+/;

export function msisdnKind(given: string | null | undefined): MsisdnKind {
  const text = (given ?? '').trim();
  if (!text) return 'empty';
  if (SHA256_HEX.test(text)) return 'sha256';
  if (normalizeKenyanPhone(text)) return 'plain';
  if (MASK_CHARS.test(text) && /\d/.test(text)) return 'masked';
  return 'unreadable';
}

/** The digits a masked number shows, before and after its mask, with a local `07…` prefix read as `2547…`. */
export function visibleDigits(masked: string): { prefix: string; suffix: string } | undefined {
  const text = masked.replace(/[\s-]/g, '');
  const first = text.search(MASK_CHARS);
  if (first < 0) return undefined;
  const lastMask = text.length - text.split('').reverse().join('').search(MASK_CHARS);
  let prefix = text.slice(0, first).replace(/^\+/, '');
  const suffix = text.slice(lastMask);
  if (!/^\d*$/.test(prefix) || !/^\d*$/.test(suffix)) return undefined;
  if (prefix.startsWith('0')) prefix = `254${prefix.slice(1)}`;
  else if (/^[17]/.test(prefix)) prefix = `254${prefix}`;
  return { prefix, suffix };
}

/**
 * Whether a payer's number as M-Pesa gave it can be `phone` (our `2547XXXXXXXX`): `agrees` for the same plain number,
 * the same SHA-256, or a mask whose visible digits fit (at least three after the mask and five in all); `contradicts`
 * when they cannot be the same; `unknown` when nothing can be read (empty, too few digits, another format).
 */
export function phoneAgreement(phone: string, given: string | null | undefined): 'agrees' | 'contradicts' | 'unknown' {
  const text = (given ?? '').trim();
  switch (msisdnKind(text)) {
    case 'plain':
      return normalizeKenyanPhone(text) === phone ? 'agrees' : 'contradicts';
    case 'sha256':
      return createHash('sha256').update(phone).digest('hex') === text.toLowerCase() ? 'agrees' : 'contradicts';
    case 'masked': {
      const digits = visibleDigits(text);
      if (!digits || digits.suffix.length < 3 || digits.prefix.length + digits.suffix.length < 5) return 'unknown';
      return phone.startsWith(digits.prefix) && phone.endsWith(digits.suffix) ? 'agrees' : 'contradicts';
    }
    default:
      return 'unknown';
  }
}

/** How a payer's number is shown (API, webhooks): a plain number masked our way; a mask as M-Pesa sent it; a hash not at all. */
export function displayPayerMsisdn(given: string | null | undefined): string {
  const text = (given ?? '').trim();
  switch (msisdnKind(text)) {
    case 'plain':
      return maskPhone(normalizeKenyanPhone(text) as string);
    case 'masked':
      return text.replace(/\s+/g, '');
    case 'sha256':
      return 'hashed';
    default:
      return '';
  }
}

/** An STK AccountReference or a typed account number, compared trimmed and case-insensitively. */
export function referenceKey(reference: string | null | undefined): string | null {
  const text = (reference ?? '').trim().toUpperCase();
  return text || null;
}

/** The window of push times [from, to] that may belong to money received at `occurredAt`. */
export function matchWindow(occurredAt: Date): { from: Date; to: Date } {
  return { from: new Date(occurredAt.getTime() - MATCH_WINDOW_BEFORE_MS), to: new Date(occurredAt.getTime() + MATCH_WINDOW_AFTER_MS) };
}

/**
 * Whole Kenya shillings from Daraja's decimal text (`"5.00"`, `"10"`) or a number; undefined for anything else,
 * fractions included (M-Pesa moves whole shillings: a fraction means we misread the record).
 */
export function wholeShillings(value: unknown): number | undefined {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim().replace(/,/g, '') : '';
  const m = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(text);
  if (!m || (m[2] !== undefined && Number(m[2]) !== 0)) return undefined;
  const amount = Number(m[1]);
  return Number.isSafeInteger(amount) ? amount : undefined;
}
