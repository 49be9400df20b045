import { randomInt } from 'node:crypto';

/**
 * What a customer types as the account number when paying a bill by Paybill: 8 characters from an alphabet without
 * the look-alikes 0/O and 1/I, so a reference read off an invoice or an SMS cannot be typed two ways.
 * 32 symbols, 8 places: about 10^12 references, so a collision (retried on the unique constraint) is rare.
 */
export const ACCOUNT_REFERENCE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export const ACCOUNT_REFERENCE_LENGTH = 8;
const REFERENCE = new RegExp(`^[${ACCOUNT_REFERENCE_ALPHABET}]{${ACCOUNT_REFERENCE_LENGTH}}$`);

/** A new random bill reference (not yet checked for uniqueness: the database's constraint does that). */
export function newAccountReference(pick: (max: number) => number = randomInt): string {
  let reference = '';
  for (let i = 0; i < ACCOUNT_REFERENCE_LENGTH; i++) reference += ACCOUNT_REFERENCE_ALPHABET[pick(ACCOUNT_REFERENCE_ALPHABET.length)];
  return reference;
}

/**
 * An account number as typed on a phone, in the form bills store theirs: trimmed, upper-case, without the spaces and
 * dashes people add to read long numbers. Null when nothing is left.
 */
export function normalizeAccountNumber(typed: string | null | undefined): string | null {
  if (typed === null || typed === undefined) return null;
  const text = String(typed)
    .replace(/[\s-]+/g, '')
    .toUpperCase();
  return text || null;
}

/** Whether a normalised account number could be a bill's reference at all (saves a look-up for anything else). */
export function couldBeBillReference(normalized: string | null): normalized is string {
  return normalized !== null && REFERENCE.test(normalized);
}
