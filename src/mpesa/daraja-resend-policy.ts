/**
 * The spec's retry policy for a request Daraja certainly did not take (busy, unavailable, never sent): at most 3
 * resends, after 1 s, 2 s and 5 s. The same policy serves STK pushes and B2C payouts; nothing whose outcome is
 * unknown is ever resent.
 */
export const DARAJA_RESEND_DELAYS_MS = [1_000, 2_000, 5_000] as const;
export const DARAJA_MAX_RESENDS = DARAJA_RESEND_DELAYS_MS.length;

/** BullMQ's name for the backoff below, set on the jobs that resend to Daraja. */
export const DARAJA_RESEND_BACKOFF = 'daraja-resend';

/** Attempt n (1-based, already made) waits DARAJA_RESEND_DELAYS_MS[n]. */
export function darajaResendBackoff(attemptsMade: number): number {
  return DARAJA_RESEND_DELAYS_MS[Math.min(attemptsMade, DARAJA_RESEND_DELAYS_MS.length - 1)];
}
