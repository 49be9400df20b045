import { JobsOptions } from 'bullmq';

export const RECONCILIATION_QUEUE = 'reconciliation';

export enum ReconciliationJob {
  /** Scheduled (PULL_INTERVAL_MINUTES): one Pull Transactions run over the latest window, unknown receipts recovered. */
  PullRun = 'pull-run',
  /** Scheduled (RECONCILIATION_DAILY_CRON, Kenyan hours): the previous Kenya day reconciled through Pull. */
  DailyReconciliation = 'daily-reconciliation',
}

export interface ReconciliationJobPayloads {
  [ReconciliationJob.PullRun]: Record<string, never>;
  [ReconciliationJob.DailyReconciliation]: Record<string, never>;
}

export const PULL_SCHEDULER_ID = 'pull-transactions';
export const DAILY_RECONCILIATION_SCHEDULER_ID = 'daily-reconciliation';
/** How often each worker re-asserts the schedulers (Redis may have lost them). */
export const RECONCILIATION_SCHEDULER_REFRESH_MS = 30_000;
/** Cron hours are Kenyan: "the previous day" is the previous Kenya day, whatever the servers' time zone. */
export const RECONCILIATION_CRON_TZ = 'Africa/Nairobi';

export const RECONCILIATION_JOB_DEFAULTS: Record<ReconciliationJob, JobsOptions> = {
  // Not retried: the next run comes within PULL_INTERVAL_MINUTES with a window that overlaps this one (and reaches back
  // to the last good run), and a failed run stays visible in GET /api/reconciliation/pull-runs.
  [ReconciliationJob.PullRun]: { attempts: 1, removeOnComplete: true, removeOnFail: 100 },
  // A day reconciled is reconciled once (its report is unique), so retries are safe; Pull may be down for a while.
  [ReconciliationJob.DailyReconciliation]: {
    attempts: 4,
    backoff: { type: 'exponential', delay: 5 * 60_000 },
    removeOnComplete: true,
    removeOnFail: 100,
  },
};
