import type { DarajaCallBudgetSettings } from '../config/configuration';
import type { DarajaCallRecord } from './daraja.types';

/**
 * The pure half of the fleet-wide Daraja call budget: priorities, interval maths, what a caller does with the
 * budget's answer, and the Redis script that keeps the shared schedule. The Redis half is
 * `DarajaCallBudgetService` (daraja-call-budget.service.ts).
 *
 * The model is Apigee's SpikeArrest, which is what answers Daraja's 500.003.02: a rate of N per second is enforced
 * as one call every 1000/N ms, not as N calls at the top of each second. So the budget is a single schedule in
 * Redis (a GCRA "theoretical arrival time"): each call takes the next free slot and waits for it.
 * - `money` calls (STK push, B2C, reversal) reserve the next slot, however far ahead, within their maximum wait:
 *   they are served first-come first-served among themselves.
 * - `query` calls (STK query, transaction status, account balance) only take a slot that is free now. Whenever
 *   money calls are queued the next slot is in the future, so queries wait until the money backlog is served:
 *   a query can delay a push by at most one interval.
 * - During a cool-down after a spike-arrest / quota answer, money calls keep `cooldownRatePercent` of the budget
 *   and queries are paused. The cool-down is in the same Redis hash, so every process honours it.
 */

export type DarajaApi = DarajaCallRecord['api'];
export type DarajaCallPriority = 'money' | 'query';

const MONEY_APIS: ReadonlySet<DarajaApi> = new Set<DarajaApi>(['STK_PUSH', 'B2C', 'REVERSAL']);

/** Money-moving requests go before status queries and balance checks. OAuth is charged, never queued (see `charge`). */
export function darajaCallPriority(api: DarajaApi): DarajaCallPriority {
  return MONEY_APIS.has(api) ? 'money' : 'query';
}

export interface BudgetIntervals {
  /** Microseconds between two calls at the full budget. */
  normalUs: number;
  /** Microseconds between two (money) calls during a cool-down. */
  cooldownUs: number;
}

/** Microsecond spacing of calls: integers, so Redis stores exact values. */
export function budgetIntervals(settings: Pick<DarajaCallBudgetSettings, 'callsPerSecond' | 'cooldownRatePercent'>): BudgetIntervals {
  const normalUs = Math.max(1, Math.ceil(1_000_000 / settings.callsPerSecond));
  const reducedRate = (settings.callsPerSecond * settings.cooldownRatePercent) / 100;
  return { normalUs, cooldownUs: Math.max(normalUs, Math.ceil(1_000_000 / reducedRate)) };
}

/** The calls per second the fleet may make now. */
export function effectiveCallsPerSecond(
  settings: Pick<DarajaCallBudgetSettings, 'callsPerSecond' | 'cooldownRatePercent'>,
  coolingDown: boolean,
): number {
  const { normalUs, cooldownUs } = budgetIntervals(settings);
  return 1_000_000 / (coolingDown ? cooldownUs : normalUs);
}

/** What the budget script answered to `take`: a slot (send after `waitUs`), or no slot yet (try again in `waitUs`). */
export interface BudgetAnswer {
  granted: boolean;
  waitUs: number;
  coolingDown: boolean;
}

export type BudgetStep =
  { action: 'send'; afterMs: number } | { action: 'retry'; afterMs: number } | { action: 'refuse'; reason: 'paused' | 'no_slot' };

/**
 * What a caller does with the script's answer, given how much of its maximum wait is left. A query that cannot get
 * a slot within its remaining wait gives up at once rather than sleeping to the deadline: the schedule only moves
 * later while money calls keep arriving, and a cool-down only ends when it ends.
 */
export function nextBudgetStep(answer: BudgetAnswer, remainingMs: number, jitterMs = 0): BudgetStep {
  const waitMs = answer.waitUs / 1000;
  if (answer.granted) return { action: 'send', afterMs: waitMs };
  if (waitMs > remainingMs) return { action: 'refuse', reason: answer.coolingDown ? 'paused' : 'no_slot' };
  // Queries wake when the slot frees up; a little jitter keeps the waiting processes from all asking at once.
  return { action: 'retry', afterMs: Math.min(remainingMs, waitMs + jitterMs) };
}

/** How long a query waiting for a slot sleeps on top of the wait: a tenth of an interval, at most 20 ms. */
export function queryJitterMs(intervals: BudgetIntervals, random: () => number = Math.random): number {
  return random() * Math.min(20, intervals.normalUs / 10_000);
}

/**
 * One script for the shared schedule; Redis' clock (TIME), never a process's, so processes on different hosts agree.
 * KEYS[1]: the budget hash {tat, cooldown_until} in microseconds.
 * ARGV: op (take|charge|cool|peek), normalUs, cooldownUs, priority (money|query), maxWaitUs, cooldownMs, ttlMs.
 * Returns take/charge: {granted 0|1, waitUs, cooling 0|1}; cool: {opened 0|1, untilInUs}; peek: {cooling, untilInUs, backlogUs}.
 * Numbers are written with %.0f: Lua's default %.14g would round a microsecond timestamp.
 */
export const DARAJA_BUDGET_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('HGET', KEYS[1], 'tat') or '0')
local untilUs = tonumber(redis.call('HGET', KEYS[1], 'cooldown_until') or '0')
local op = ARGV[1]
local cooling = now < untilUs
local coolingFlag = 0
if cooling then coolingFlag = 1 end
local interval = tonumber(ARGV[2])
if cooling then interval = tonumber(ARGV[3]) end
local ttl = tonumber(ARGV[7])

if op == 'peek' then
  return {coolingFlag, math.max(untilUs - now, 0), math.max(tat - now, 0)}
end

if op == 'cool' then
  local newUntil = now + tonumber(ARGV[6]) * 1000
  if newUntil > untilUs then redis.call('HSET', KEYS[1], 'cooldown_until', string.format('%.0f', newUntil)) end
  -- Whatever was scheduled, the next call waits one reduced interval: Daraja has just said we are too fast.
  local nextSlot = now + tonumber(ARGV[3])
  if nextSlot > tat then redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', nextSlot)) end
  redis.call('PEXPIRE', KEYS[1], ttl)
  local opened = 1
  if cooling then opened = 0 end
  return {opened, math.max(newUntil, untilUs) - now}
end

local slot = tat
if slot < now then slot = now end
local wait = slot - now
if op == 'take' then
  if ARGV[4] == 'query' then
    if cooling then return {0, untilUs - now, coolingFlag} end
    if wait > 0 then return {0, wait, coolingFlag} end
  elseif wait > tonumber(ARGV[5]) then
    return {0, wait, coolingFlag}
  end
end
redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', slot + interval))
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, wait, coolingFlag}
`;
