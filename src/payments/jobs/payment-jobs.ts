import { JobsOptions } from 'bullmq';
import type { Traced } from '../../common/request-context';
import { DARAJA_MAX_RESENDS, DARAJA_RESEND_BACKOFF, DARAJA_RESEND_DELAYS_MS } from '../../mpesa/daraja-resend-policy';

export const PAYMENTS_QUEUE = 'payments';

export enum PaymentJob {
  /** Resend an STK push that Daraja did not accept for a transient reason. */
  StkPushRetry = 'stk-push-retry',
  /** Ask Daraja (STK Query) how one pending payment ended. */
  StkStatusQuery = 'stk-status-query',
  /** Give up on one pending payment that never got a CheckoutRequestID and is past its maximum age. */
  Expire = 'payment-expire',
  /** Scheduled: find pending payments in Postgres and enqueue one job per payment (query, retry or expiry). */
  StatusSweep = 'status-sweep',
}

/** `requestId` (Traced): the request that started the payment; its jobs' logs and Daraja calls are filed under it. */
export interface PaymentJobPayloads {
  [PaymentJob.StkPushRetry]: { paymentId: string } & Traced;
  [PaymentJob.StkStatusQuery]: { paymentId: string } & Traced;
  [PaymentJob.Expire]: { paymentId: string } & Traced;
  [PaymentJob.StatusSweep]: Record<string, never>;
}

export type PaymentJobOf<N extends PaymentJob> = { name: N; data: PaymentJobPayloads[N] };
export type AnyPaymentJob = { [N in PaymentJob]: PaymentJobOf<N> }[PaymentJob];

/** Retries of a push Daraja did not accept: the spec's policy (DARAJA_RESEND_DELAYS_MS). */
export const STK_RETRY_DELAYS_MS = DARAJA_RESEND_DELAYS_MS;
export const STK_MAX_RETRIES = DARAJA_MAX_RESENDS;

/** Status queries are reads: a few quick retries, then the next sweep tries again. */
export const STATUS_QUERY_ATTEMPTS = 3;
export const STATUS_QUERY_BACKOFF_MS = 1_000;

export const SWEEP_SCHEDULER_ID = 'stk-status-sweep';
/** How often each worker re-asserts the sweep scheduler (it may have been lost with Redis data). */
export const SCHEDULER_REFRESH_MS = 10_000;

/** Removing finished jobs lets the next sweep reuse the same jobId; duplicates are only dropped while one is queued. */
export const JOB_DEFAULTS: Record<PaymentJob, JobsOptions> = {
  [PaymentJob.StkPushRetry]: {
    attempts: STK_MAX_RETRIES,
    delay: STK_RETRY_DELAYS_MS[0],
    backoff: { type: DARAJA_RESEND_BACKOFF },
    removeOnComplete: true,
    // Gone once failed (counted and logged by the queue metrics): a failed job would keep its jobId and the sweep's
    // re-queue of the same row would be dropped as a duplicate (a refund stuck after a Postgres outage showed it).
    removeOnFail: true,
  },
  [PaymentJob.StkStatusQuery]: {
    attempts: STATUS_QUERY_ATTEMPTS,
    backoff: { type: 'exponential', delay: STATUS_QUERY_BACKOFF_MS },
    removeOnComplete: true,
    removeOnFail: true,
  },
  // A guarded UPDATE: repeating it is harmless, and the next sweep enqueues it again if it failed.
  [PaymentJob.Expire]: { attempts: 3, backoff: { type: 'exponential', delay: 1_000 }, removeOnComplete: true, removeOnFail: true },
  [PaymentJob.StatusSweep]: { removeOnComplete: true, removeOnFail: 100 },
};
