import { JobsOptions } from 'bullmq';
import type { Traced } from '../../common/request-context';

export const PAYMENTS_QUEUE = 'payments';

export enum PaymentJob {
  /** Resend an STK push that Daraja did not accept for a transient reason. */
  StkPushRetry = 'stk-push-retry',
  /** Ask Daraja (STK Query) how one pending payment ended. */
  StkStatusQuery = 'stk-status-query',
  /** Scheduled: find pending payments (and open payouts) in Postgres and fan out one job each. */
  StatusSweep = 'status-sweep',
  /** Check the business balance, then send one B2C payout (resent with the same OriginatorConversationID). */
  PayoutSend = 'payout-send',
  /** Ask Transaction Status how a payout of unknown outcome ended. */
  PayoutResolve = 'payout-resolve',
}

/** `requestId` (Traced): the request that started the payment or payout; its jobs' logs and Daraja calls are filed under it. */
export interface PaymentJobPayloads {
  [PaymentJob.StkPushRetry]: { paymentId: string } & Traced;
  [PaymentJob.StkStatusQuery]: { paymentId: string } & Traced;
  [PaymentJob.StatusSweep]: Record<string, never>;
  [PaymentJob.PayoutSend]: { payoutId: string } & Traced;
  [PaymentJob.PayoutResolve]: { payoutId: string } & Traced;
}

export type PaymentJobOf<N extends PaymentJob> = { name: N; data: PaymentJobPayloads[N] };
export type AnyPaymentJob = { [N in PaymentJob]: PaymentJobOf<N> }[PaymentJob];

/** The spec's retry policy for a push Daraja did not accept: at most 3 resends, after 1 s, 2 s and 5 s. */
export const STK_RETRY_DELAYS_MS = [1_000, 2_000, 5_000] as const;
export const STK_MAX_RETRIES = STK_RETRY_DELAYS_MS.length;
export const STK_RETRY_BACKOFF = 'stk-retry';

/** Status queries are reads: a few quick retries, then the next sweep tries again. */
export const STATUS_QUERY_ATTEMPTS = 3;
export const STATUS_QUERY_BACKOFF_MS = 1_000;

/** How many pending payments one sweep looks at (the rest wait for the next sweep). */
export const SWEEP_BATCH_SIZE = 500;

export const SWEEP_SCHEDULER_ID = 'stk-status-sweep';
/** How often each worker re-asserts the sweep scheduler (it may have been lost with Redis data). */
export const SCHEDULER_REFRESH_MS = 10_000;

/** Removing finished jobs lets the next sweep reuse the same jobId; duplicates are only dropped while one is queued. */
export const JOB_DEFAULTS: Record<PaymentJob, JobsOptions> = {
  [PaymentJob.StkPushRetry]: {
    attempts: STK_MAX_RETRIES,
    delay: STK_RETRY_DELAYS_MS[0],
    backoff: { type: STK_RETRY_BACKOFF },
    removeOnComplete: true,
    removeOnFail: 1000,
  },
  [PaymentJob.StkStatusQuery]: {
    attempts: STATUS_QUERY_ATTEMPTS,
    backoff: { type: 'exponential', delay: STATUS_QUERY_BACKOFF_MS },
    removeOnComplete: true,
    removeOnFail: true,
  },
  [PaymentJob.StatusSweep]: { removeOnComplete: true, removeOnFail: 100 },
  // Same policy as STK: Daraja did not take the request, so resending (with the same id) is safe.
  [PaymentJob.PayoutSend]: {
    attempts: STK_MAX_RETRIES + 1,
    backoff: { type: STK_RETRY_BACKOFF },
    removeOnComplete: true,
    removeOnFail: 1000,
  },
  [PaymentJob.PayoutResolve]: {
    attempts: STATUS_QUERY_ATTEMPTS,
    backoff: { type: 'exponential', delay: STATUS_QUERY_BACKOFF_MS },
    removeOnComplete: true,
    removeOnFail: true,
  },
};

/** BullMQ backoff for STK retries: attempt n (1-based, already made) waits STK_RETRY_DELAYS_MS[n]. */
export function stkRetryBackoff(attemptsMade: number): number {
  return STK_RETRY_DELAYS_MS[Math.min(attemptsMade, STK_RETRY_DELAYS_MS.length - 1)];
}
