/** The retry settings of every webhook delivery, the default endpoint's included. */
export interface WebhookRetrySettings {
  webhookRetryScheduleMs: number[];
  webhookMaxAttempts: number;
}

/**
 * When to try again after failed attempt `attemptInRun` (1 for the first of a run; a redelivery starts a new run),
 * or null when that was the last. The schedule's last delay repeats until the limit.
 */
export function nextAttemptAt(attemptInRun: number, s: WebhookRetrySettings, now = Date.now()): Date | null {
  if (attemptInRun >= s.webhookMaxAttempts) return null;
  const schedule = s.webhookRetryScheduleMs;
  return new Date(now + schedule[Math.min(attemptInRun, schedule.length) - 1]);
}

/** What a delivery job does next: nothing (delivered, failed for good, or not ours any more), or run again at `at`. */
export type WebhookJobOutcome = { kind: 'done' } | { kind: 'retry'; at: Date };

/** A job that runs before its row's next attempt is due (queued again by a sweep, a duplicate) waits for it. */
export const EARLY_RUN_TOLERANCE_MS = 1_000;
