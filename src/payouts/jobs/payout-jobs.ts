import { JobsOptions } from 'bullmq';
import type { Traced } from '../../common/request-context';
import { DARAJA_MAX_RESENDS, DARAJA_RESEND_BACKOFF } from '../../mpesa/daraja-resend-policy';

export const PAYOUTS_QUEUE = 'payouts';

export enum PayoutJob {
  /** Check the business balance, then send one B2C payout (resent with the same OriginatorConversationID). */
  Send = 'payout-send',
  /** Ask Transaction Status how a payout of unknown outcome ended. */
  Resolve = 'payout-resolve',
  /** A payout whose result never came, or whose sending worker died: its outcome becomes unknown. */
  MarkUnknown = 'payout-mark-unknown',
  /** Ask Transaction Status (or a person) how a reversal of unknown outcome ended. */
  ReversalResolve = 'reversal-resolve',
  /** A reversal whose result never came, or whose request died mid-way: its outcome becomes unknown. */
  ReversalMarkUnknown = 'reversal-mark-unknown',
  /** Scheduled: find payouts and reversals that need something in Postgres and enqueue one job each. */
  Sweep = 'payout-sweep',
}

/** Why a payout is marked unknown by the sweep. */
export type StaleReason = 'result_lost' | 'sender_stopped';

/** `requestId` (Traced): the request that asked for the payout; its jobs' logs and Daraja calls are filed under it. */
export interface PayoutJobPayloads {
  [PayoutJob.Send]: { payoutId: string } & Traced;
  [PayoutJob.Resolve]: { payoutId: string } & Traced;
  [PayoutJob.MarkUnknown]: { payoutId: string; reason: StaleReason } & Traced;
  [PayoutJob.ReversalResolve]: { reversalId: string } & Traced;
  [PayoutJob.ReversalMarkUnknown]: { reversalId: string } & Traced;
  [PayoutJob.Sweep]: Record<string, never>;
}

export type PayoutJobOf<N extends PayoutJob> = { name: N; data: PayoutJobPayloads[N] };
export type AnyPayoutJob = { [N in PayoutJob]: PayoutJobOf<N> }[PayoutJob];

/** Transaction Status queries are reads: a few quick retries, then the next sweep asks again. */
export const RESOLVE_ATTEMPTS = 3;
export const RESOLVE_BACKOFF_MS = 1_000;

/** How many payouts of each kind one sweep looks at (the rest wait for the next sweep). */
export const PAYOUT_SWEEP_BATCH_SIZE = 200;

export const PAYOUT_SWEEP_SCHEDULER_ID = 'payout-sweep';
/** How often each worker re-asserts the sweep scheduler (it may have been lost with Redis data). */
export const PAYOUT_SCHEDULER_REFRESH_MS = 10_000;

export const PAYOUT_JOB_DEFAULTS: Record<PayoutJob, JobsOptions> = {
  // The spec's resend policy: Daraja did not take the request, so resending (with the same id) is safe.
  [PayoutJob.Send]: {
    attempts: DARAJA_MAX_RESENDS + 1,
    backoff: { type: DARAJA_RESEND_BACKOFF },
    removeOnComplete: true,
    // Gone once failed (counted and logged by the queue metrics): a failed job would keep its jobId and the sweep's
    // re-queue of the same row would be dropped as a duplicate (a refund stuck after a Postgres outage showed it).
    removeOnFail: true,
  },
  [PayoutJob.Resolve]: {
    attempts: RESOLVE_ATTEMPTS,
    backoff: { type: 'exponential', delay: RESOLVE_BACKOFF_MS },
    removeOnComplete: true,
    removeOnFail: true,
  },
  // A guarded UPDATE: repeating it is harmless, and the next sweep enqueues it again if it failed.
  [PayoutJob.MarkUnknown]: { attempts: 3, backoff: { type: 'exponential', delay: 1_000 }, removeOnComplete: true, removeOnFail: true },
  [PayoutJob.ReversalResolve]: {
    attempts: RESOLVE_ATTEMPTS,
    backoff: { type: 'exponential', delay: RESOLVE_BACKOFF_MS },
    removeOnComplete: true,
    removeOnFail: true,
  },
  [PayoutJob.ReversalMarkUnknown]: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: true,
    removeOnFail: true,
  },
  [PayoutJob.Sweep]: { removeOnComplete: true, removeOnFail: 100 },
};
