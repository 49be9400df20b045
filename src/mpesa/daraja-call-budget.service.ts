import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import Redis from 'ioredis';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { REDIS_CLIENT, RedisKeys } from '../common/redis/redis.module';
import { mpesaConfig } from '../config/configuration';
import {
  BudgetAnswer,
  budgetIntervals,
  BudgetIntervals,
  DARAJA_BUDGET_SCRIPT,
  DarajaApi,
  darajaCallPriority,
  DarajaCallPriority,
  effectiveCallsPerSecond,
  nextBudgetStep,
  queryJitterMs,
} from './daraja-call-budget';
import { DarajaError, DarajaOutcome } from './daraja-errors';

/** The budget's state, for metrics and health (read-only; never takes a slot). */
export interface DarajaBudgetState {
  /** DARAJA_MAX_CALLS_PER_SECOND. */
  callsPerSecond: number;
  /** What the fleet may send now: lower during a cool-down. */
  effectiveCallsPerSecond: number;
  /** While set, status queries and balance checks are paused and money calls run at the reduced rate. */
  coolingDownUntil: Date | null;
  /** How far ahead the schedule is booked (money calls waiting for their slot), ms. */
  backlogMs: number;
}

type BudgetScriptOp = 'take' | 'charge' | 'cool' | 'peek';

interface RedisWithBudget extends Redis {
  darajaCallBudget(key: string, ...args: (string | number)[]): Promise<number[]>;
}

const SCRIPT_NAME = 'darajaCallBudget';

/**
 * One budget of Daraja calls per second shared by every API and worker process, kept in Redis (see
 * daraja-call-budget.ts for the model). Every Daraja request takes a slot before it is sent; a call that cannot get
 * one within DARAJA_BUDGET_MAX_WAIT_MS fails as `NotSent` (certainly not sent: callers retry it, a push is queued
 * for retry). Daraja's spike-arrest and quota answers start a fleet-wide cool-down instead of per-worker retries.
 */
@Injectable()
export class DarajaCallBudgetService {
  private readonly logger = new Logger(DarajaCallBudgetService.name);
  private readonly key: string;
  private readonly intervals: BudgetIntervals;
  private readonly ttlMs: number;

  constructor(
    @Inject(mpesaConfig.KEY) private readonly settings: ConfigType<typeof mpesaConfig>,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    keys: RedisKeys,
  ) {
    // Daraja limits per app (consumer key), like the OAuth token: the same account id as DarajaAuthService's cache key.
    const account = createHash('sha256').update(settings.consumerKey).digest('hex').slice(0, 16);
    this.key = keys.key('mpesa', 'budget', settings.environment, account);
    this.intervals = budgetIntervals(settings.callBudget);
    // The hash outlives any slot booked ahead (at most the maximum wait) and any cool-down.
    this.ttlMs = settings.callBudget.cooldownMs + settings.callBudget.maxWaitMs + 60_000;
    if (!(SCRIPT_NAME in redis)) redis.defineCommand(SCRIPT_NAME, { numberOfKeys: 1, lua: DARAJA_BUDGET_SCRIPT });
  }

  /**
   * Waits for this call's slot. Throws `NotSent` when none comes within the maximum wait (or Redis cannot be asked):
   * nothing left, so every caller may retry it.
   */
  async acquire(api: DarajaApi, priorityOverride?: DarajaCallPriority): Promise<void> {
    const priority = priorityOverride ?? darajaCallPriority(api);
    const { maxWaitMs } = this.settings.callBudget;
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      const remainingMs = Math.max(0, deadline - Date.now());
      const answer = await this.run('take', priority, remainingMs);
      const jitter = priority === 'query' ? queryJitterMs(this.intervals) : 0;
      const step = nextBudgetStep(answer, remainingMs, jitter);
      if (step.action === 'refuse') {
        const rate = formatRate(effectiveCallsPerSecond(this.settings.callBudget, answer.coolingDown));
        const why =
          step.reason === 'paused' && priority === 'query'
            ? 'status queries and balance checks are paused after Daraja answered spike arrest / quota violation'
            : `no slot in the Daraja call budget (${rate} calls/s${answer.coolingDown ? ' during a cool-down' : ''}) within ${maxWaitMs} ms`;
        throw new DarajaError(DarajaOutcome.NotSent, `Not sent: ${why}; retry later`, null, null, 'budget');
      }
      // Node's timers have millisecond granularity: a sub-millisecond wait (budgets above 1000/s) is not worth one.
      if (step.afterMs >= 1) await sleep(step.afterMs);
      if (step.action === 'send') return;
    }
  }

  /**
   * Counts a call against the budget without waiting for it. For OAuth: a token fetch runs under the fleet-wide
   * token lock (15 s) with every other call waiting on it, so queueing it would only stall them all; it happens
   * about once an hour, and charging it makes the next calls leave room for it.
   */
  async charge(api: DarajaApi): Promise<void> {
    try {
      await this.run('charge', darajaCallPriority(api), 0);
    } catch (error) {
      if (!(error instanceof DarajaError)) throw error;
      this.logger.warn(`Could not count a ${api} call against the Daraja budget: ${error.message}`);
    }
  }

  /**
   * Daraja answered spike arrest / quota violation / system busy (`Busy`): slow the whole fleet down for
   * DARAJA_COOLDOWN_MS. Logged once per episode (the process that opens it), never per call.
   */
  async reportRateLimited(api: DarajaApi, error: DarajaError): Promise<void> {
    const { cooldownMs, cooldownRatePercent } = this.settings.callBudget;
    try {
      const [opened] = await this.script('cool', 'money', 0);
      if (opened === 1) {
        const rate = effectiveCallsPerSecond(this.settings.callBudget, true);
        this.logger.warn(
          `Daraja rate limit: ${api} answered ${error.errorCode ?? `HTTP ${error.httpStatus ?? '?'}`} "${error.message}"; ` +
            `the whole fleet slows to ${formatRate(rate)} calls/s (${cooldownRatePercent}%) and pauses status queries and balance checks for ${cooldownMs} ms`,
        );
      }
    } catch (e) {
      // The call's own error still reaches the caller and its job backs off; only the fleet-wide slow-down is lost.
      this.logger.error(`Could not start the Daraja cool-down: ${String(e)}`);
    }
  }

  /** The current budget, cool-down and backlog; for metrics and health. */
  async state(): Promise<DarajaBudgetState> {
    const [cooling, untilInUs, backlogUs] = await this.script('peek', 'money', 0);
    return {
      callsPerSecond: this.settings.callBudget.callsPerSecond,
      effectiveCallsPerSecond: effectiveCallsPerSecond(this.settings.callBudget, cooling === 1),
      coolingDownUntil: cooling === 1 ? new Date(Date.now() + untilInUs / 1000) : null,
      backlogMs: backlogUs / 1000,
    };
  }

  private async run(op: 'take' | 'charge', priority: 'money' | 'query', maxWaitMs: number): Promise<BudgetAnswer> {
    let reply: number[];
    try {
      reply = await this.script(op, priority, maxWaitMs);
    } catch (e) {
      throw new DarajaError(
        DarajaOutcome.NotSent,
        `Not sent: the Daraja call budget could not be read from Redis (${(e as Error)?.message ?? e})`,
        null,
        null,
        'budget',
      );
    }
    const [granted, waitUs, cooling] = reply;
    return { granted: granted === 1, waitUs: Number(waitUs), coolingDown: cooling === 1 };
  }

  private script(op: BudgetScriptOp, priority: 'money' | 'query', maxWaitMs: number): Promise<number[]> {
    const { normalUs, cooldownUs } = this.intervals;
    return (this.redis as RedisWithBudget).darajaCallBudget(
      this.key,
      op,
      normalUs,
      cooldownUs,
      priority,
      Math.round(maxWaitMs * 1000),
      this.settings.callBudget.cooldownMs,
      this.ttlMs,
    );
  }
}

function formatRate(rate: number): string {
  return rate >= 10 ? String(Math.round(rate)) : rate.toFixed(2).replace(/\.?0+$/, '');
}
