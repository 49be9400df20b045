import { JobsOptions } from 'bullmq';

export const TREASURY_QUEUE = 'treasury';

export enum TreasuryJob {
  /** Scheduled: Account Balance and Transaction Status requests whose result never came end `expired`. */
  ExpireRequests = 'expire-requests',
}

export interface TreasuryJobPayloads {
  [TreasuryJob.ExpireRequests]: Record<string, never>;
}

export const TREASURY_SCHEDULER_ID = 'treasury-expiry';
/** How often each worker re-asserts the scheduler (Redis may have lost it). */
export const TREASURY_SCHEDULER_REFRESH_MS = 30_000;

/** Two guarded UPDATEs: a failed run is simply the next run's work. */
export const TREASURY_JOB_DEFAULTS: Record<TreasuryJob, JobsOptions> = {
  [TreasuryJob.ExpireRequests]: { attempts: 1, removeOnComplete: true, removeOnFail: 100 },
};
