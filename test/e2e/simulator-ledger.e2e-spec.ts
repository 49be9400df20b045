// The simulator's C2B, Pull and ledger controls as the running app serves them: its module wiring, the control
// routes' body validation, and the ledger fed by a real STK payment of the app. The Daraja side of C2B and Pull (and
// the app's client against it) is tested in test/integration/simulator-c2b-pull.int-spec.ts; this file sends no
// Daraja request of its own (a token of ours would supersede the app's). Rows it adds use a shortcode of its own
// (600111) and are removed at the end, so other files' statements and Pull runs never see them.
import { sim } from '../support/app';
import { newClient, pushStk, stkPushBody, waitForPaymentStatus } from '../support/factories';

const SHORTCODE = '600111';
const client = newClient();
const added: string[] = [];

afterAll(async () => {
  for (const id of added) await sim(`/ledger/${encodeURIComponent(id)}`, { method: 'DELETE' });
  await sim('/c2b', {
    method: 'POST',
    body: { stkConfirmations: false, stkConfirmationDelayMs: 0, validation: true, registration: 'sandbox', msisdnFormat: 'masked' },
  });
  await sim('/pull', { method: 'POST', body: { pageSize: 100, offsetReading: 'page' } });
});

describe('C2B and Pull switches', () => {
  it('answers every switch, and refuses what is not one', async () => {
    expect((await sim('/c2b')).body).toMatchObject({
      stkConfirmations: false,
      validation: true,
      registration: 'sandbox',
      msisdnFormat: 'masked',
      registrations: expect.any(Array),
    });
    expect((await sim('/c2b', { method: 'POST', body: { msisdnFormat: 'hashed' } })).body).toMatchObject({
      msisdnFormat: 'hashed',
      validation: true,
    });
    expect((await sim('/c2b', { method: 'POST', body: { msisdnFormat: 'sha1' } })).status).toBe(400);
    expect((await sim('/c2b', { method: 'POST', body: { stkConfirmationDelayMs: 1.5 } })).status).toBe(400);
    expect((await sim('/c2b', { method: 'POST', body: { registration: 'production', other: true } })).status).toBe(400);

    expect((await sim('/pull', { method: 'POST', body: { pageSize: 2, offsetReading: 'row' } })).body).toEqual({
      pageSize: 2,
      offsetReading: 'row',
    });
    expect((await sim('/pull', { method: 'POST', body: { pageSize: 0 } })).status).toBe(400);
    expect((await sim('/pull')).body).toMatchObject({ pageSize: 2, offsetReading: 'row', registrations: expect.any(Array) });
  });

  it('takes faults for the new endpoints where they apply', async () => {
    expect((await sim('/faults', { method: 'POST', body: { endpoint: 'c2bsimulate', kind: 'pull_error' } })).status).toBe(400);
    expect((await sim('/faults', { method: 'POST', body: { endpoint: 'pullquery', kind: 'already_registered' } })).status).toBe(400);
    expect((await sim('/faults', { method: 'POST', body: { endpoint: 'nowhere', kind: 'system_busy' } })).status).toBe(400);
  });
});

describe('the ledger', () => {
  it('holds the app’s completed STK payment, dated at its settlement, and the statement shows it', async () => {
    const res = await pushStk(client.token, stkPushBody({ phoneNumber: '254708374149', amount: 1_234 }));
    expect(res.status).toBe(201);
    const payment = await waitForPaymentStatus(res.body.data.paymentId, 'completed');
    const receipt = payment.mpesa_receipt_number as string;

    const rows = (await sim('/ledger', { query: { receipt } })).body.items;
    expect(rows).toEqual([expect.objectContaining({ receipt, kind: 'stk', amount: 1_234, msisdn: '254708374149', origin: 'simulated' })]);

    const csv = await sim('/statement.csv', { query: { from: rows[0].completedAt } });
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.text.split('\r\n')[0]).toBe(
      'Receipt No,Completion Time,Details,Transaction Status,Paid In (KSHs),Withdrawn (KSHs),Balance (KSHs)',
    );
    expect(csv.text).toMatch(
      new RegExp(
        `\\r\\n${receipt},\\d{2}/\\d{2}/\\d{4} \\d{2}:\\d{2}:\\d{2},Pay Bill Online from 2547\\*{4}149 - JOHN DOE Acc\\. [^,]+,Completed,"1,234\\.00",0\\.00,`,
      ),
    );
  });

  it('adds, changes and removes rows through the control API, validating each body', async () => {
    for (const body of [
      { kind: 'refund', amount: 10 },
      { kind: 'c2b', amount: 1.234 },
      { kind: 'c2b', amount: 10, completedAt: '2026-12-05T10:00:00' },
      { kind: 'c2b', amount: 10, phone: '0708374149' },
      { kind: 'c2b', amount: 10, extra: 1 },
    ]) {
      expect({ body, status: (await sim('/ledger', { method: 'POST', body })).status }).toEqual({ body, status: 400 });
    }
    expect((await sim('/ledger', { method: 'POST', body: { kind: 'charge', amount: 5, shortCode: SHORTCODE } })).body).toMatchObject({
      statusCode: 400,
      message: expect.stringContaining('receipt'),
    });

    const row = await sim('/ledger', {
      method: 'POST',
      body: { kind: 'c2b', amount: 2_500, shortCode: SHORTCODE, accountReference: 'LPE2E1' },
    });
    expect(row).toMatchObject({ status: 200, body: { kind: 'c2b', amount: 2_500, shortCode: SHORTCODE, origin: 'control' } });
    const receipt = row.body.receipt as string;
    added.push(receipt);
    const charge = await sim('/ledger', { method: 'POST', body: { kind: 'charge', amount: 33, receipt, shortCode: SHORTCODE } });
    expect(charge.body).toMatchObject({ id: `${receipt}:charge`, receipt });
    added.push(charge.body.id);
    expect((await sim('/ledger', { method: 'POST', body: { kind: 'c2b', amount: 1, receipt, shortCode: SHORTCODE } })).status).toBe(409);

    expect((await sim(`/ledger/${receipt}`, { method: 'PATCH', body: { amount: 2_400 } })).body).toMatchObject({ amount: 2_400 });
    expect((await sim(`/ledger/${receipt}`, { method: 'PATCH', body: { amount: -1 } })).status).toBe(400);
    expect((await sim('/ledger/ZZZZZZZZZZ', { method: 'PATCH', body: { amount: 1 } })).status).toBe(404);

    const statement = await sim('/statement.csv', { query: { shortCode: SHORTCODE } });
    expect(statement.text.split('\r\n').slice(1, 3)).toEqual([
      `${receipt},${statement.text.split('\r\n')[1].split(',')[1]},Pay Bill Charge,Completed,0.00,-33.00,"2,367.00"`,
      expect.stringMatching(
        new RegExp(`^${receipt},.*,Pay Bill from 2547\\*{4}149 - JOHN DOE Acc\\. LPE2E1,Completed,"2,400\\.00",0\\.00,"2,400\\.00"$`),
      ),
    ]);
    expect(statement.headers['content-disposition']).toContain(`Statements for ${SHORTCODE} from`);
    expect((await sim('/statement.csv', { query: { from: 'last week' } })).status).toBe(400);

    expect((await sim(`/ledger/${encodeURIComponent(`${receipt}:charge`)}`, { method: 'DELETE' })).body).toEqual({
      id: `${receipt}:charge`,
      deleted: true,
    });
    expect((await sim('/ledger', { query: { shortCode: SHORTCODE } })).body.items).toEqual([expect.objectContaining({ id: receipt })]);
  });

  it('answers 404 for an unknown C2B payment and 400 for a bad phone', async () => {
    expect((await sim('/c2b/payments/nope')).status).toBe(404);
    expect((await sim('/c2b/payments', { query: { phone: '12' } })).status).toBe(400);
  });
});
