// Reconciliation over HTTP against the embedded simulator, whose ledger is M-Pesa's books: Pull Transactions runs that
// recover payments whose notification was lost, the org-portal statement imported and reconciled (twice), a day
// reconciled through Pull, and the decisions a person takes on each difference.
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { kenyaDayOf } from '../../src/reconciliation/kenya-time';
import { SIMULATED_CUSTOMER_NAME } from '../../src/mpesa/simulator/simulator-money-out-wire';
import { api, ApiOptions, ApiResponse, sim, testEnv, tokenFor, uniquePhone, waitFor } from '../support/app';
import { ExtraApp, startExtraApp } from '../support/extra-app';
import { pushStk, stkPushBody, waitForPaymentStatus } from '../support/factories';

const SHORTCODE = '174379';
const admin = tokenFor({ sub: `admin-${randomUUID()}`, role: 'admin' });
const client = tokenFor({ sub: `client-${randomUUID()}`, role: 'client' });

/** A call to the run's app, or to `app` when given. */
const call = (path: string, options: ApiOptions = {}, app?: ExtraApp) => api(path, { ...options, ...(app ? { baseUrl: app.url } : {}) });
const control = (path: string, options: ApiOptions = {}, app?: ExtraApp) => call(`/simulator/control${path}`, options, app);

/** A paybill payment made from the phone through the simulator's C2B simulate, as the sandbox offers it. */
async function payPaybill(app: ExtraApp | undefined, body: { amount: number; phone: string; account: string }): Promise<void> {
  const basic = Buffer.from('simulator-consumer-key:simulator-consumer-secret').toString('base64');
  const token = await call(
    '/simulator/daraja/oauth/v1/generate',
    { query: { grant_type: 'client_credentials' }, headers: { authorization: `Basic ${basic}` } },
    app,
  );
  expect(token.status).toBe(200);
  const res = await call(
    '/simulator/daraja/mpesa/c2b/v2/simulate',
    {
      method: 'POST',
      headers: { authorization: `Bearer ${token.body.access_token}` },
      body: {
        ShortCode: SHORTCODE,
        CommandID: 'CustomerPayBillOnline',
        Amount: body.amount,
        Msisdn: body.phone,
        BillRefNumber: body.account,
      },
    },
    app,
  );
  expect(res.status).toBe(200);
}

/** The simulator ledger's rows of a phone's money (M-Pesa's side), newest last. */
async function ledgerRows(app: ExtraApp | undefined, query: Record<string, string>): Promise<any[]> {
  const res = await control('/ledger', { query }, app);
  expect(res.status).toBe(200);
  return res.body.items;
}

const itemsOf = (report: ApiResponse) => report.body.data.items.items as any[];
/** The report's line for a receipt (not its charge, which shares the receipt). */
const itemFor = (report: ApiResponse, receipt: string) => itemsOf(report).find((i) => i.receipt === receipt && i.kind !== 'charge');

describe('Reconciliation', () => {
  describe('Pull Transactions on demand', () => {
    it('registers the shortcode: 1000 the first time, 1001 "already registered" after, both success', async () => {
      await sim(`/pull/registrations/${SHORTCODE}`, { method: 'DELETE' });
      const first = await call('/api/mpesa/pull/register', { method: 'POST', token: admin, body: {} });
      expect(first.status).toBe(200);
      expect(first.body.data).toMatchObject({
        responseStatus: '1000',
        alreadyRegistered: false,
        shortCode: SHORTCODE,
        nominatedNumber: '254722000000',
      });
      const again = await call('/api/mpesa/pull/register', { method: 'POST', token: admin, body: { nominatedNumber: '0722000000' } });
      expect(again.status).toBe(200);
      expect(again.body.data).toMatchObject({ responseStatus: '1001', alreadyRegistered: true, nominatedNumber: '254722000000' });

      const shortcodeAsNumber = await call('/api/mpesa/pull/register', {
        method: 'POST',
        token: admin,
        body: { nominatedNumber: '600000' },
      });
      expect(shortcodeAsNumber.status).toBe(400);
      expect(shortcodeAsNumber.body.message).toMatch(/nominatedNumber must be a Safaricom number.*not the shortcode/);
      expect((await call('/api/mpesa/pull/register', { method: 'POST', token: client, body: {} })).status).toBe(403);
    });

    it('reports 1001 "no records" as ambiguous, never as success, and says which reading is likelier', async () => {
      await sim(`/pull/registrations/${SHORTCODE}`, { method: 'DELETE' });
      const res = await call('/api/reconciliation/pull-runs', { method: 'POST', token: admin });
      expect(res.status).toBe(201);
      const run = res.body.data;
      expect(run).toMatchObject({ trigger: 'manual', status: 'ambiguous', pages: 1, transactionsSeen: 0, ingested: 0, errors: [] });
      expect(run.responseCodes).toEqual([expect.objectContaining({ offset: 0, responseCode: '1001' })]);
      expect(run.note).toMatch(
        /^Pull answered 1001 "No records found or Organization Name not available".*(quiet window|not set up for Pull)/,
      );
      expect(new Date(run.windowEnd).getTime() - new Date(run.windowStart).getTime()).toBeGreaterThanOrEqual(2 * 3_600_000 - 1_000);

      const listed = await call('/api/reconciliation/pull-runs', { token: admin, query: { status: 'ambiguous', limit: 5 } });
      expect(listed.status).toBe(200);
      expect(listed.body.data.items[0]).toMatchObject({ id: run.id, status: 'ambiguous' });
      expect((await call('/api/reconciliation/pull-runs', { token: client })).status).toBe(403);
    });

    it('fails a run whose answer carries another ResponseCode inside HTTP 200', async () => {
      expect((await call('/api/mpesa/pull/register', { method: 'POST', token: admin, body: {} })).status).toBe(200);
      expect((await sim('/faults', { method: 'POST', body: { endpoint: 'pullquery', kind: 'pull_error' } })).status).toBe(200);
      const res = await call('/api/reconciliation/pull-runs', { method: 'POST', token: admin });
      expect(res.status).toBe(201);
      expect(res.body.data).toMatchObject({ status: 'failed', pages: 1, ingested: 0 });
      expect(res.body.data.responseCodes[0]).toMatchObject({
        responseCode: '500.003.02',
        responseMessage: 'System is busy. Please try again in few minutes.',
      });
      expect(res.body.data.errors[0]).toBe(
        'Pull answered ResponseCode 500.003.02 (System is busy. Please try again in few minutes.) at offset 0',
      );
      const stored = await call(`/api/reconciliation/pull-runs/${res.body.data.id}`, { token: admin });
      expect(stored.body.data.status).toBe('failed');
    });
  });

  describe('the org-portal statement', () => {
    it('names matched, missing and mismatched rows and charges, opens a review for each difference, and imports once', async () => {
      const from = new Date(Date.now() - 1_000).toISOString();
      // Four payments the service saw through their STK callbacks; M-Pesa's books are then made to disagree.
      const paid = async (amount: number) => {
        const push = await pushStk(client, stkPushBody({ amount, phoneNumber: uniquePhone() }));
        expect(push.status).toBe(201);
        return waitForPaymentStatus(push.body.data.paymentId, 'completed');
      };
      const matched = await paid(101);
      const [mismatched, missingAtMpesa] = await Promise.all([paid(102), paid(103)]);
      expect((await sim(`/ledger/${mismatched.mpesa_receipt_number}`, { method: 'PATCH', body: { amount: 112 } })).status).toBe(200);
      expect((await sim(`/ledger/${missingAtMpesa.mpesa_receipt_number}`, { method: 'DELETE' })).status).toBe(200);
      expect(
        (await sim('/ledger', { method: 'POST', body: { kind: 'charge', amount: 1, receipt: matched.mpesa_receipt_number } })).status,
      ).toBe(200);
      // Money M-Pesa took that no notification ever told the service about.
      const account = `NB${randomUUID().slice(0, 8).toUpperCase()}`;
      const unknown = await sim('/ledger', {
        method: 'POST',
        body: { kind: 'c2b', amount: 777, accountReference: account, phone: uniquePhone() },
      });
      expect(unknown.status).toBe(200);
      const missingHere: string = unknown.body.receipt;

      const statement = await sim('/statement.csv', { query: { from, shortCode: SHORTCODE } });
      expect(statement.status).toBe(200);
      const csv = { method: 'POST', token: admin, body: statement.text, headers: { 'content-type': 'text/csv' } };
      const imported = await call('/api/reconciliation/statements', csv);
      expect(imported.status).toBe(201);
      expect(imported.body.created).toBe(true);
      const report = imported.body.data;
      expect(report).toMatchObject({ kind: 'statement', layout: 'template', periodSource: 'rows', shortCode: null });
      expect(report.notes[0]).toMatch(/names no shortcode: it is taken to be 174379/);

      expect(itemFor(imported, matched.mpesa_receipt_number)).toMatchObject({
        kind: 'matched',
        amount: 101,
        recordedAmount: 101,
        recordId: matched.id,
      });
      expect(itemFor(imported, mismatched.mpesa_receipt_number)).toMatchObject({
        kind: 'amount_mismatch',
        amount: 112,
        recordedAmount: 102,
        recordType: 'payment',
      });
      expect(itemFor(imported, missingHere)).toMatchObject({
        kind: 'missing_here',
        direction: 'in',
        amount: 777,
        accountReference: account,
      });
      expect(itemsOf(imported).find((i) => i.kind === 'missing_at_mpesa' && i.recordId === missingAtMpesa.id)).toMatchObject({
        receipt: missingAtMpesa.mpesa_receipt_number,
        recordedAmount: 103,
        amount: null,
      });
      expect(itemsOf(imported).filter((i) => i.kind === 'charge' && i.receipt === matched.mpesa_receipt_number)).toHaveLength(1);
      expect(report.counts.charge).toBeGreaterThanOrEqual(1);
      expect(report.totals.charges).toBeGreaterThanOrEqual(1);

      // One review per difference, about the report's line.
      const differences = itemsOf(imported).filter((i) =>
        [missingHere, mismatched.mpesa_receipt_number, missingAtMpesa.mpesa_receipt_number].includes(i.receipt),
      );
      const reviews = await Promise.all(differences.map((i) => call(`/api/reviews/${i.reviewId}`, { token: admin })));
      expect(reviews.map((r) => [r.body.data.entityType, r.body.data.entityId, r.body.data.reason, r.body.data.status]).sort()).toEqual(
        differences.map((i) => ['reconciliation_item', i.id, i.kind, 'open']).sort(),
      );
      expect(reviews[0].body.data.evidence).toMatchObject({ reportId: report.id, decisions: expect.any(Object) });
      expect(report.openDifferences).toBeGreaterThanOrEqual(3);

      // The same statement again: the first report, nothing new.
      const openReviews = async () =>
        (await call('/api/reviews', { token: admin, query: { entityType: 'reconciliation_item', status: 'open', limit: 1 } })).body.data
          .total;
      const reviewsBefore = await openReviews();
      const reportsBefore = (await call('/api/reconciliation/reports', { token: admin, query: { limit: 1 } })).body.data.total;
      const again = await call('/api/reconciliation/statements', csv);
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ created: false, data: { id: report.id } });
      expect(await openReviews()).toBe(reviewsBefore);
      expect((await call('/api/reconciliation/reports', { token: admin, query: { limit: 1 } })).body.data.total).toBe(reportsBefore);

      const fetched = await call(`/api/reconciliation/reports/${report.id}`, { token: admin, query: { kind: 'missing_here' } });
      expect(fetched.status).toBe(200);
      expect(fetched.body.data.counts).toEqual(report.counts);
      expect(itemsOf(fetched).every((i) => i.kind === 'missing_here')).toBe(true);
      const listed = await call('/api/reconciliation/reports', { token: admin, query: { kind: 'statement' } });
      expect(listed.body.data.items.map((r: any) => r.id)).toContain(report.id);

      // Decisions: money in M-Pesa shows is recorded through the C2B path; the rest is explained, never forced.
      const decide = (item: any, resolution: string) =>
        call(`/api/reviews/${item.reviewId}/resolve`, {
          method: 'POST',
          token: admin,
          body: { resolution, note: 'Checked against the portal' },
        });
      const [here, mismatch, atMpesa] = [missingHere, mismatched.mpesa_receipt_number, missingAtMpesa.mpesa_receipt_number].map((r) =>
        differences.find((i) => i.receipt === r),
      );
      const refused = await decide(mismatch, 'complete');
      expect(refused.status).toBe(409);
      expect(refused.body.message).toMatch(/does not change the record/);
      expect((await decide(here, 'fail')).status).toBe(409);
      expect((await decide(here, 'complete')).status).toBe(200);
      const recorded = await call(`/api/reconciliation/reports/${report.id}`, { token: admin, query: { kind: 'missing_here' } });
      const resolvedItem = itemFor(recorded, missingHere);
      expect(resolvedItem).toMatchObject({ resolution: 'recorded', resolutionDetail: { outcome: 'created' } });
      const payment = await call(`/api/payments/${resolvedItem.resolutionDetail.paymentId}/status`, { token: admin });
      expect(payment.status).toBe(200);
      expect(payment.body.data).toMatchObject({ status: 'completed', amount: 777, mpesaReceiptNumber: missingHere });
      expect((await decide(mismatch, 'dismiss')).status).toBe(200);
      expect((await decide(atMpesa, 'dismiss')).status).toBe(200);
      expect((await call(`/api/reconciliation/reports/${report.id}`, { token: admin })).body.data.openDifferences).toBe(
        report.openDifferences - 3,
      );
    });

    it('refuses what is not a statement with a clear 4xx, and writes nothing', async () => {
      const reports = async () => (await call('/api/reconciliation/reports', { token: admin, query: { limit: 1 } })).body.data.total;
      const before = await reports();
      const post = (body: string | Buffer, contentType = 'text/csv') =>
        call('/api/reconciliation/statements', { method: 'POST', token: admin, body, headers: { 'content-type': contentType } });

      const invoices = await post('Invoice,Client,Amount\r\nINV-1,ACME,100\r\n');
      expect(invoices.status).toBe(400);
      expect(invoices.body.message).toMatch(/^This is not an M-Pesa statement/);
      const workbook = await post(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0, 0, 0]), 'application/vnd.ms-excel');
      expect(workbook.status).toBe(400);
      expect(workbook.body.message).toMatch(/\.xls workbook, not CSV/);
      const damaged = await post('Receipt No,Completion Time,Details,Paid In,Withdrawn\r\nSKZ1234567,31/31/2026 10:00,Pay Bill,100,0\r\n');
      expect(damaged.status).toBe(400);
      expect(damaged.body.details.problems).toEqual(["line 2: completion time '31/31/2026 10:00' is not a day-first date and time"]);
      const json = await call('/api/reconciliation/statements', { method: 'POST', token: admin, body: { csv: 'Receipt No' } });
      expect(json.status).toBe(415);
      expect(json.body.message).toMatch(/Content-Type: text\/csv/);
      expect((await post('Receipt No,Completion Time,Paid In,Withdrawn\r\n', 'text/csv; charset=utf-8')).status).toBe(400);
      expect(
        (
          await call('/api/reconciliation/statements', {
            method: 'POST',
            token: client,
            body: 'x',
            headers: { 'content-type': 'text/csv' },
          })
        ).status,
      ).toBe(403);
      expect(await reports()).toBe(before);
    });
  });

  describe('with Pull running every 3 s (an app of its own)', () => {
    let app: ExtraApp;
    let pool: Pool;
    const on = (path: string, options: ApiOptions = {}) => call(path, options, app);
    const runsAfter = async (since: number) =>
      ((await on('/api/reconciliation/pull-runs', { token: admin, query: { limit: 50 } })).body.data.items as any[]).filter(
        (r) => r.trigger === 'scheduled' && r.status !== 'running' && new Date(r.startedAt).getTime() > since,
      );
    const paymentsWithReceipt = async (receipt: string) =>
      (await pool.query('SELECT id, status, channel, settled_by, amount FROM payments WHERE mpesa_receipt_number = $1', [receipt])).rows;

    beforeAll(async () => {
      app = await startExtraApp(
        {
          PULL_ENABLED: 'true',
          PULL_INTERVAL_MINUTES: '0.05',
          PULL_WINDOW_MINUTES: '2',
          // A push nobody answers expires after 3 s and is not asked about again during the test.
          PAYMENT_MAX_PENDING_MS: '3000',
          PAYMENT_LATE_QUERY_DELAYS_MS: '600000',
        },
        'reconciliation',
      );
      pool = new Pool({ connectionString: app.databaseUrl, max: 2 });
      expect((await on('/api/mpesa/pull/register', { method: 'POST', token: admin, body: {} })).status).toBe(200);
    });

    afterAll(async () => {
      await pool?.end();
      await app?.stop();
    });

    it('recovers a payment whose confirmation never came, exactly once however many runs list it', async () => {
      const phone = '254700000020'; // C2B simulate: completed, confirmation never delivered
      const account = `LOST${randomUUID().slice(0, 6).toUpperCase()}`;
      await payPaybill(app, { amount: 250, phone, account });
      const [row] = await waitFor(
        async () => {
          const rows = (await ledgerRows(app, { kind: 'c2b' })).filter((r) => r.accountReference === account);
          return rows.length > 0 && rows;
        },
        { message: 'the simulated paybill payment in the ledger' },
      );
      const receipt: string = row.receipt;

      const recoveredBy = await waitFor(
        async () => (await runsAfter(0)).find((r) => r.recoveredReceipts.some((x: any) => x.receipt === receipt)),
        { timeoutMs: 15_000, message: `a scheduled Pull run recovering ${receipt}` },
      );
      expect(recoveredBy).toMatchObject({ status: 'succeeded', ingested: 1, recovered: 1 });
      expect(recoveredBy.recoveredReceipts).toEqual([{ receipt, outcome: 'created', paymentId: expect.any(String) }]);
      const [payment] = await paymentsWithReceipt(receipt);
      expect(payment).toMatchObject({ status: 'completed', channel: 'c2b', settled_by: 'pull', amount: 250 });
      const audit = await pool.query(`SELECT actor_id FROM audit_events WHERE entity_id = $1 AND action = 'payment.recovered'`, [
        payment.id,
      ]);
      expect(audit.rows).toEqual([{ actor_id: 'pull-transactions' }]);
      // The ledger keeps Pull's record with the payer's name reduced to initials, like its payer_name column.
      const ledger = (await pool.query('SELECT payer_name, payloads FROM mpesa_receipts WHERE receipt = $1', [receipt])).rows[0];
      expect(ledger.payloads.pull).toMatchObject({ transactionId: receipt, sender: ledger.payer_name });
      expect(JSON.stringify(ledger.payloads)).not.toContain(SIMULATED_CUSTOMER_NAME);

      // Two more runs list the same transaction (their windows overlap): it is known, nothing is recorded again.
      const later = await waitFor(
        async () => {
          const runs = await runsAfter(new Date(recoveredBy.finishedAt).getTime());
          return runs.length >= 2 && runs;
        },
        { timeoutMs: 15_000, message: 'two more scheduled Pull runs' },
      );
      for (const run of later) {
        expect(run).toMatchObject({ status: 'succeeded', ingested: 0, recoveredReceipts: [] });
        expect(run.alreadyKnown).toBeGreaterThanOrEqual(1);
      }
      expect(await paymentsWithReceipt(receipt)).toHaveLength(1);
    });

    it('recovers an STK payment the service let expire (callback lost, M-Pesa paid)', async () => {
      // While Pull does not answer for the shortcode, the push expires on our side.
      expect((await control(`/pull/registrations/${SHORTCODE}`, { method: 'DELETE' }, app)).status).toBe(200);
      const push = await call(
        '/api/payments/stk-push',
        { method: 'POST', token: client, body: stkPushBody({ amount: 333, phoneNumber: '254700000005' }) },
        app,
      );
      expect(push.status).toBe(201);
      const paymentId: string = push.body.data.paymentId;
      // Every status query is answered about another CheckoutRequestID (not evidence): only our give-up settles it.
      expect(
        (await control('/faults', { method: 'POST', body: { endpoint: 'stkquery', kind: 'other_checkout', count: 20 } }, app)).status,
      ).toBe(200);
      await waitFor(
        async () => (await pool.query('SELECT status FROM payments WHERE id = $1', [paymentId])).rows[0]?.status === 'expired',
        {
          timeoutMs: 15_000,
          message: 'the push to expire',
        },
      );
      expect((await control('/reset', { method: 'POST' }, app)).status).toBe(200);
      const [ledger] = (await ledgerRows(app, { kind: 'stk' })).filter((r) => r.amount === 333);
      expect(ledger).toBeDefined();

      expect((await on('/api/mpesa/pull/register', { method: 'POST', token: admin, body: {} })).status).toBe(200);
      const completed = await waitFor(
        async () => {
          const row = (await pool.query('SELECT * FROM payments WHERE id = $1', [paymentId])).rows[0];
          return row.status === 'completed' && row;
        },
        { timeoutMs: 15_000, message: 'Pull to complete the expired push' },
      );
      expect(completed).toMatchObject({ settled_by: 'pull', mpesa_receipt_number: ledger.receipt, channel: 'stk' });
      // The payment commits before its run ends and records what it recovered: wait for the finished run.
      const run = await waitFor(
        async () => (await runsAfter(0)).find((r) => r.recoveredReceipts.some((x: any) => x.receipt === ledger.receipt)),
        { timeoutMs: 15_000, message: 'the Pull run that recovered it to finish' },
      );
      expect(run.recoveredReceipts).toContainEqual({ receipt: ledger.receipt, outcome: 'attached', paymentId });
      expect(await paymentsWithReceipt(ledger.receipt)).toHaveLength(1);
    });

    it('reconciles today through Pull, and the alert fires while a difference is open', async () => {
      // One more STK payment, which M-Pesa's books then lose: Pull lists our other STK payments, so it is a difference.
      const push = await call('/api/payments/stk-push', { method: 'POST', token: client, body: stkPushBody({ amount: 444 }) }, app);
      expect(push.status).toBe(201);
      const paid = await waitFor(async () => {
        const row = (await pool.query('SELECT * FROM payments WHERE id = $1', [push.body.data.paymentId])).rows[0];
        return row.status === 'completed' && row;
      });
      expect((await control(`/ledger/${paid.mpesa_receipt_number}`, { method: 'DELETE' }, app)).status).toBe(200);

      const day = kenyaDayOf(new Date());
      const res = await on('/api/reconciliation/reports/pull-daily', { method: 'POST', token: admin, body: { day } });
      expect(res.status).toBe(201);
      const report = res.body.data;
      expect(report).toMatchObject({ kind: 'pull_daily', periodSource: 'day', shortCode: SHORTCODE, pullRunId: expect.any(String) });
      expect(report.counts.matched).toBeGreaterThanOrEqual(2);
      expect(report.counts.missing_at_mpesa).toBe(1);
      expect(report.counts.stk_not_listed).toBe(0);
      const missing = itemsOf(res).find((i) => i.kind === 'missing_at_mpesa');
      expect(missing).toMatchObject({ recordId: paid.id, receipt: paid.mpesa_receipt_number, reviewId: expect.any(String) });
      const run = await on(`/api/reconciliation/pull-runs/${report.pullRunId}`, { token: admin });
      expect(run.body.data).toMatchObject({ trigger: 'daily', status: 'succeeded' });

      const finding = async () =>
        ((await on('/api/alerts/evaluate', { method: 'POST', token: admin })).body.data.findings as any[]).find(
          (f) => f.rule === 'reconciliation_differences',
        );
      expect(await finding()).toMatchObject({ breached: true, value: 1 });
      const dismissed = await on(`/api/reviews/${missing.reviewId}/resolve`, {
        method: 'POST',
        token: admin,
        body: { resolution: 'dismiss', note: 'Removed from the simulated books on purpose' },
      });
      expect(dismissed.status).toBe(200);
      expect(await finding()).toMatchObject({ breached: false, value: 0 });

      const bad = await on('/api/reconciliation/reports/pull-daily', { method: 'POST', token: admin, body: { day: '2020-01-01' } });
      expect(bad.status).toBe(400);
      expect(bad.body.message).toMatch(/keeps the last 48 hours only: reconcile an older period by importing the statement/);
    });
  });
});

// The run's app runs other test files after this one: leave its Pull registered as they found it (unregistered).
afterAll(async () => {
  if (testEnv().MPESA_ENVIRONMENT === 'simulator') await sim(`/pull/registrations/${SHORTCODE}`, { method: 'DELETE' });
});
