import { JobsOptions } from 'bullmq';

export const ALERTS_QUEUE = 'alerts';

export enum AlertJob {
  /** Scheduled: measure the thresholds from the database, open or resolve episodes, notify on each change. */
  Evaluate = 'evaluate-alerts',
}

export interface AlertJobPayloads {
  [AlertJob.Evaluate]: Record<string, never>;
}

export type AnyAlertJob = { [N in AlertJob]: { name: N; data: AlertJobPayloads[N] } }[AlertJob];

export const ALERT_SCHEDULER_ID = 'alert-evaluation';
/** How often each worker re-asserts the scheduler (Redis may have lost it). */
export const ALERT_SCHEDULER_REFRESH_MS = 30_000;

/** An evaluation that fails is not retried: the next one comes within a minute and sees fresher data. */
export const ALERT_JOB_DEFAULTS: Record<AlertJob, JobsOptions> = {
  [AlertJob.Evaluate]: { attempts: 1, removeOnComplete: true, removeOnFail: 100 },
};
