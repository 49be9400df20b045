import {
  budgetIntervals,
  darajaCallPriority,
  effectiveCallsPerSecond,
  nextBudgetStep,
  queryJitterMs,
} from '../../src/mpesa/daraja-call-budget';

describe('darajaCallPriority', () => {
  it.each(['STK_PUSH', 'B2C', 'REVERSAL'] as const)('serves %s (money moves) first', (api) => {
    expect(darajaCallPriority(api)).toBe('money');
  });

  it.each(['STK_QUERY', 'TRANSACTION_STATUS', 'ACCOUNT_BALANCE'] as const)('puts %s (a query) behind money', (api) => {
    expect(darajaCallPriority(api)).toBe('query');
  });
});

describe('budgetIntervals', () => {
  it('spaces calls evenly: 20 a second is one every 50 ms', () => {
    expect(budgetIntervals({ callsPerSecond: 20, cooldownRatePercent: 50 })).toEqual({ normalUs: 50_000, cooldownUs: 100_000 });
  });

  it('keeps whole microseconds, rounding the spacing up so the rate is never exceeded', () => {
    expect(budgetIntervals({ callsPerSecond: 3, cooldownRatePercent: 100 })).toEqual({ normalUs: 333_334, cooldownUs: 333_334 });
  });

  it('goes below one call a second during a cool-down when the budget is tiny', () => {
    expect(budgetIntervals({ callsPerSecond: 1, cooldownRatePercent: 25 }).cooldownUs).toBe(4_000_000);
  });

  it('never spaces calls by less than a microsecond', () => {
    expect(budgetIntervals({ callsPerSecond: 5_000_000, cooldownRatePercent: 50 }).normalUs).toBe(1);
  });
});

describe('effectiveCallsPerSecond', () => {
  it('is the budget normally and the reduced share during a cool-down', () => {
    const settings = { callsPerSecond: 20, cooldownRatePercent: 50 };
    expect(effectiveCallsPerSecond(settings, false)).toBe(20);
    expect(effectiveCallsPerSecond(settings, true)).toBe(10);
  });
});

describe('nextBudgetStep', () => {
  it('sends a granted call once its slot comes', () => {
    expect(nextBudgetStep({ granted: true, waitUs: 250_000, coolingDown: false }, 5_000)).toEqual({ action: 'send', afterMs: 250 });
  });

  it('asks again when the slot frees up, plus the jitter', () => {
    expect(nextBudgetStep({ granted: false, waitUs: 40_000, coolingDown: false }, 5_000, 3)).toEqual({ action: 'retry', afterMs: 43 });
  });

  it('never sleeps past the deadline', () => {
    expect(nextBudgetStep({ granted: false, waitUs: 1_000_000, coolingDown: false }, 1_000, 5)).toEqual({
      action: 'retry',
      afterMs: 1_000,
    });
  });

  it('refuses at once when no slot can come within the remaining wait', () => {
    expect(nextBudgetStep({ granted: false, waitUs: 6_000_000, coolingDown: false }, 5_000)).toEqual({
      action: 'refuse',
      reason: 'no_slot',
    });
  });

  it('says the queries are paused when a cool-down outlasts the remaining wait', () => {
    expect(nextBudgetStep({ granted: false, waitUs: 30_000_000, coolingDown: true }, 5_000)).toEqual({
      action: 'refuse',
      reason: 'paused',
    });
  });
});

describe('queryJitterMs', () => {
  it('is at most a tenth of an interval', () => {
    expect(queryJitterMs({ normalUs: 50_000, cooldownUs: 100_000 }, () => 0.999)).toBeCloseTo(4.995);
  });

  it('is at most 20 ms however slow the budget', () => {
    expect(queryJitterMs({ normalUs: 1_000_000, cooldownUs: 2_000_000 }, () => 1)).toBe(20);
  });
});
