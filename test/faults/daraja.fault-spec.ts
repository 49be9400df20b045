// Daraja misbehaves under load: slow answers, answers that never come before our timeout (MPESA_HTTP_TIMEOUT_MS 2.5 s),
// 5xx and HTML garbage, before and after processing, on STK push, STK query and B2C. Only what certainly was not
// processed is resent, so Daraja sees at most one push per payment and pays each payout at most once.
import { queueSimulatorFault } from '../support/factories';
import { FaultFleet } from '../support/fault-fleet';
import { FaultDriver, PushOutcome, record } from '../support/fault-load';

let fleet: FaultFleet;
let driver: FaultDriver;

beforeAll(async () => {
  fleet = await FaultFleet.start('daraja');
  driver = new FaultDriver(fleet);
});

afterAll(async () => {
  await fleet?.stop();
});

function answers(pushes: PushOutcome[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of pushes) out[String(p.status)] = (out[String(p.status)] ?? 0) + 1;
  return out;
}

/** Pushes under the queued faults, then waits until all settled and checks every invariant. */
async function loadAndCheck(name: string, count: number): Promise<Record<string, number>> {
  const t0 = Date.now();
  const pushes = await driver.pushMany(count, 8);
  const seen = answers(pushes);
  record(`daraja.${name}.answers`, JSON.stringify(seen));
  // Accepted (201), sent without a clear answer or queued for a resend (202), or refused for good by Daraja (502):
  // never a 500 of ours.
  expect(Object.keys(seen).filter((s) => !['201', '202', '502'].includes(s))).toEqual([]);
  record(`daraja.${name}.settle_ms`, Date.now() - t0 + (await driver.waitUntilDrained(120_000)));
  const report = await driver.check(`after Daraja ${name}`, true);
  record(`daraja.${name}.statuses`, JSON.stringify(report.counts.byStatus));
  return seen;
}

describe('Daraja under faults', () => {
  it('slow answers (1.5 s, under the timeout): accepted, one push each', async () => {
    await queueSimulatorFault('stkpush', 'delay', { count: 20, delayMs: 1_500 });
    await queueSimulatorFault('stkquery', 'delay', { count: 20, delayMs: 1_500 });
    const seen = await loadAndCheck('slow', 40);
    expect(seen['201']).toBeGreaterThan(0);
  });

  it('answers that hang past the timeout (4 s): left unknown, never resent, settled by the callback', async () => {
    await queueSimulatorFault('stkpush', 'delay', { count: 10, delayMs: 4_000 });
    await queueSimulatorFault('stkquery', 'delay', { count: 10, delayMs: 4_000 });
    const seen = await loadAndCheck('hang', 30);
    // The prompts Daraja processed but did not answer in time: "sent, not confirmed".
    expect(seen['202']).toBeGreaterThanOrEqual(1);
  });

  it('5xx (busy, internal error before and after processing) and connection resets: resent only when not processed', async () => {
    // System busy (500.003.02) certainly was not processed: resent. The others may have been: never resent.
    await queueSimulatorFault('stkpush', 'system_busy', { count: 6 });
    await queueSimulatorFault('stkpush', 'internal_error', { count: 6 });
    await queueSimulatorFault('stkpush', 'internal_error_after_processing', { count: 6 });
    await queueSimulatorFault('stkpush', 'reset', { count: 4 });
    await queueSimulatorFault('stkpush', 'reset_after_processing', { count: 4 });
    await queueSimulatorFault('stkquery', 'internal_error', { count: 10 });
    await loadAndCheck('5xx', 40);
  });

  it('HTML garbage (a load balancer 502 page) before and after processing', async () => {
    await queueSimulatorFault('stkpush', 'html_error', { count: 6 });
    await queueSimulatorFault('stkpush', 'html_after_processing', { count: 6 });
    await queueSimulatorFault('stkquery', 'html_error', { count: 10 });
    await loadAndCheck('html', 40);
  });

  it('B2C answering slowly, past the timeout, 5xx and HTML after processing: each payout paid at most once', async () => {
    const completed = await driver.paymentsIn('completed', 16);
    expect(completed.length).toBeGreaterThanOrEqual(12);
    await queueSimulatorFault('b2c', 'delay', { count: 3, delayMs: 1_500 });
    await queueSimulatorFault('b2c', 'delay', { count: 3, delayMs: 4_000 });
    await queueSimulatorFault('b2c', 'internal_error_after_processing', { count: 3 });
    await queueSimulatorFault('b2c', 'html_after_processing', { count: 3 });
    await queueSimulatorFault('b2c', 'internal_error', { count: 3 });
    const t0 = Date.now();
    const refunds = await Promise.all(completed.map((id) => driver.refund(id)));
    expect(refunds.map((r) => r.status).filter((s) => s !== 202)).toEqual([]);
    record('daraja.b2c.settle_ms', Date.now() - t0 + (await driver.waitUntilDrained(120_000)));
    const report = await driver.check('after B2C faults', true);
    record('daraja.b2c.payouts', `${report.counts.payouts} payouts, ${report.counts.paidB2c} paid by Daraja`);
    expect(report.counts.paidB2c).toBeLessThanOrEqual(report.counts.payouts);
  });
});
