import { JobsOptions } from 'bullmq';

export const PRIVACY_QUEUE = 'privacy';

export enum PrivacyJob {
  /** Scheduled (daily): mask phone numbers, names and emails on settled payments and payouts past the retention age. */
  RetentionSweep = 'retention-sweep',
}

export interface PrivacyJobPayloads {
  [PrivacyJob.RetentionSweep]: Record<string, never>;
}

export type PrivacyJobOf<N extends PrivacyJob> = { name: N; data: PrivacyJobPayloads[N] };
export type AnyPrivacyJob = { [N in PrivacyJob]: PrivacyJobOf<N> }[PrivacyJob];

export const RETENTION_SCHEDULER_ID = 'retention-sweep';
/** How often each worker re-asserts the scheduler (Redis may have lost it); the sweep itself runs far less often. */
export const RETENTION_SCHEDULER_REFRESH_MS = 60_000;
/** Cron hours are Kenyan: the sweep belongs in LegalPro's quiet hours, whatever the servers' time zone. */
export const RETENTION_CRON_TZ = 'Africa/Nairobi';

/** The sweep is idempotent (guarded UPDATEs): a failed run is simply retried a few times, a minute apart and more. */
export const RETENTION_SWEEP_ATTEMPTS = 3;
export const RETENTION_SWEEP_BACKOFF_MS = 60_000;

export const PRIVACY_JOB_DEFAULTS: Record<PrivacyJob, JobsOptions> = {
  [PrivacyJob.RetentionSweep]: {
    attempts: RETENTION_SWEEP_ATTEMPTS,
    backoff: { type: 'exponential', delay: RETENTION_SWEEP_BACKOFF_MS },
    removeOnComplete: true,
    removeOnFail: 100,
  },
};
