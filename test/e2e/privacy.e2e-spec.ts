// Data protection: an admin exports everything held about a client and anonymises it on request; a retention
// sweep masks phone numbers (and names, emails) on settled payments and payouts past the retention age. Money
// records, receipts and the audit trail stay.
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { FieldEncryptionService } from '../../src/common/crypto/field-encryption.service';
import { FIELDS } from '../../src/common/crypto/sealed-field';
import { api, ApiResponse, db, testEnv, uniquePhone, waitFor } from '../support/app';
import { ExtraApp, startExtraApp } from '../support/extra-app';
import {
  masked,
  newAdmin,
  newClient,
  paymentRow,
  paymentStatus,
  pushStk,
  stkPushBody,
  TestUser,
  waitForPaymentStatus,
  waitUntilPayoutsSettled,
} from '../support/factories';
import { childEnv, TEST_DATA_ENCRYPTION_KEY } from '../support/test-env';

const admin = newAdmin();
const NAME = 'Wanjiru Kamau';
/** What the simulator puts in B2C results as the recipient's name (ReceiverPartyPublicName). */
const SIMULATED_NAME = 'JOHN DOE';
const FULL_PHONE = /254[17]\d{8}/;

const run = promisify(execFile);

// A reconciliation report's item as a statement gives it: the payer's name in the party, the narration and the row.
const PARTY = '2547****123 - JANE WANJIRU';
const DETAILS = 'Pay Bill Online from 2547****123 - JANE WANJIRU Acc. 42';
const MASKED_ITEM = {
  party: '2547****123 - J*** W******',
  details: 'Pay Bill Online from 2547****123 - J*** W****** Acc. 42',
  raw: {
    'Other Party Info': '2547****123 - J*** W******',
    Details: 'Pay Bill Online from 2547****123 - J*** W****** Acc. 42',
    'Paid In': '1500.00',
  },
};

/** A statement report created `daysAgo` with one unexplained item, about `paymentId` when given. */
async function reconciliationItem(daysAgo: number, paymentId?: string): Promise<{ reportId: string; itemId: string }> {
  const report = await db().query(
    `INSERT INTO reconciliation_reports (kind, fingerprint, period_start, period_end, period_source, created_by, created_at)
     VALUES ('statement', $1, now() - interval '1 day', now(), 'rows', 'privacy-test', now() - make_interval(days => $2)) RETURNING id`,
    [`privacy-test-${randomUUID()}`, daysAgo],
  );
  const reportId: string = report.rows[0].id;
  const item = await db().query(
    `INSERT INTO reconciliation_items (report_id, kind, direction, receipt, amount, party, details, record_type, record_id, raw)
     VALUES ($1, 'amount_mismatch', 'in', $2, 1500, $3, $4, $5, $6, $7) RETURNING id`,
    [
      reportId,
      `T${randomBytes(4).toString('hex').toUpperCase()}`,
      PARTY,
      DETAILS,
      paymentId ? 'payment' : null,
      paymentId ?? null,
      JSON.stringify({ 'Other Party Info': PARTY, Details: DETAILS, 'Paid In': '1500.00' }),
    ],
  );
  return { reportId, itemId: item.rows[0].id };
}

/**
 * The payment's receipt ledger row as one written before names were reduced on the way in: a statement's record with
 * the payer's whole name. Answers the receipt.
 */
async function ledgerRowNamingThePayer(paymentId: string): Promise<string> {
  const { rows } = await db().query(
    `UPDATE mpesa_receipts SET payloads = payloads || jsonb_build_object('statement', $2::jsonb) WHERE payment_id = $1 RETURNING receipt`,
    [paymentId, JSON.stringify({ 'Other Party Info': PARTY, Details: DETAILS, 'Paid In': '1500.00' })],
  );
  expect(rows).toHaveLength(1);
  return rows[0].receipt;
}

async function ledgerStatementRecord(receipt: string): Promise<unknown> {
  return (await db().query(`SELECT payloads->'statement' AS record FROM mpesa_receipts WHERE receipt = $1`, [receipt])).rows[0].record;
}

async function itemRow(itemId: string): Promise<{ party: string; details: string; raw: Record<string, unknown> }> {
  return (await db().query('SELECT party, details, raw FROM reconciliation_items WHERE id = $1', [itemId])).rows[0];
}

async function completedPayment(
  client: TestUser,
  phone = uniquePhone(),
  extra: Record<string, unknown> = {},
  baseUrl?: string,
): Promise<string> {
  const res = await api('/api/payments/stk-push', {
    method: 'POST',
    token: client.token,
    body: stkPushBody({ phoneNumber: phone, amount: 500, ...extra }),
    baseUrl,
  });
  expect(res.status).toBe(201);
  return res.body.data.paymentId;
}

/** A completed payment with the client's name and email, and a completed refund of part of it. */
async function paymentWithRefund(
  client: TestUser,
  phone = uniquePhone(),
): Promise<{ paymentId: string; payoutId: string; phone: string; email: string }> {
  const email = `${client.id.slice(0, 12)}@example.co.ke`;
  const paymentId = await completedPayment(client, phone, { customerName: NAME, email });
  await waitForPaymentStatus(paymentId, 'completed');
  const refund = await api(`/api/payments/${paymentId}/refund`, {
    method: 'POST',
    token: admin.token,
    body: { amount: 100, reason: 'Hearing adjourned' },
  });
  expect(refund.status).toBe(202);
  const payoutId: string = refund.body.data.id;
  await waitFor(async () => (await payoutRow(payoutId))?.status === 'completed', {
    timeoutMs: 25_000,
    message: `refund ${payoutId} to complete`,
  });
  return { paymentId, payoutId, phone, email };
}

async function payoutRow(id: string): Promise<Record<string, any> | undefined> {
  return (await db().query('SELECT * FROM payouts WHERE id = $1', [id])).rows[0];
}

function exportOf(body: unknown, token = admin.token): Promise<ApiResponse> {
  return api('/api/privacy/export', { method: 'POST', token, body });
}

function anonymise(body: unknown, token = admin.token): Promise<ApiResponse> {
  return api('/api/privacy/anonymise', { method: 'POST', token, body });
}

async function privacyEvents(action: string, entityId?: string): Promise<Record<string, any>[]> {
  const { rows } = await db().query(`SELECT * FROM audit_events WHERE action = $1 AND ($2::text IS NULL OR entity_id = $2) ORDER BY id`, [
    action,
    entityId ?? null,
  ]);
  return rows;
}

/** The app's field encryption, with the key the e2e app runs with. */
const fieldCrypto = new FieldEncryptionService({ dataKeyId: 'k1', dataKeys: { k1: Buffer.from(TEST_DATA_ENCRYPTION_KEY, 'hex') } });

/**
 * A pending payment of `client` that nothing will settle (flagged for a person, so the status sweep leaves it),
 * paid from the same phone as `samePhoneAs`. Its ciphertext is sealed for its own row: a copy of the other row's
 * would not open.
 */
async function insertStuckPendingPayment(clientId: string, samePhoneAs: string): Promise<string> {
  const source = (await paymentRow(samePhoneAs))!;
  const phone = fieldCrypto.decrypt(source.phone_number_encrypted, FIELDS.paymentPhone(samePhoneAs));
  const id = randomUUID();
  await db().query(
    `INSERT INTO payments (id, client_id, amount, status, payment_type, phone_number_encrypted, phone_number_hash, account_reference, transaction_desc, review_reason)
     VALUES ($1, $2, 700, 'pending', 'other', $3, $4, 'LPPRIVACY', 'Privacy test', 'privacy e2e fixture')`,
    [id, clientId, fieldCrypto.encrypt(phone, FIELDS.paymentPhone(id)), randomBytes(32).toString('hex')],
  );
  return id;
}

describe('POST /api/privacy/export', () => {
  const client = newClient();
  let first: { paymentId: string; payoutId: string; phone: string; email: string };
  let secondPaymentId: string;
  let secondPhone: string;

  beforeAll(async () => {
    first = await paymentWithRefund(client);
    secondPhone = uniquePhone();
    secondPaymentId = await completedPayment(client, secondPhone);
    await waitForPaymentStatus(secondPaymentId, 'completed');
  });

  it("returns the client's payments with phone, name and email, their payouts, audit trail and Daraja logs", async () => {
    const res = await exportOf({ clientId: client.id });

    expect(res.status).toBe(200);
    const data = res.body.data;
    expect(data.subject).toEqual({ clientId: client.id, phoneNumber: null });
    expect(data.payments.map((p: any) => p.id).sort()).toEqual([first.paymentId, secondPaymentId].sort());
    const withContact = data.payments.find((p: any) => p.id === first.paymentId);
    expect(withContact).toMatchObject({
      phoneNumber: first.phone,
      customerName: NAME,
      customerEmail: first.email,
      amount: 500,
      status: 'partially_refunded',
    });
    expect(withContact.phoneNumberEncrypted).toBeUndefined();
    expect(withContact.phoneNumberHash).toBeUndefined();
    expect(data.payments.find((p: any) => p.id === secondPaymentId)).toMatchObject({
      phoneNumber: secondPhone,
      customerName: null,
      customerEmail: null,
    });
    expect(data.payouts).toEqual([
      expect.objectContaining({ id: first.payoutId, kind: 'refund', amount: 100, status: 'completed', phoneNumber: first.phone }),
    ]);
    expect(data.auditEvents.map((e: any) => `${e.action}:${e.entityId}`)).toEqual(
      expect.arrayContaining([
        `payment.initiated:${first.paymentId}`,
        `payment.completed:${secondPaymentId}`,
        `payout.completed:${first.payoutId}`,
      ]),
    );
    expect(data.transactionLogs.map((l: any) => l.transactionType)).toEqual(expect.arrayContaining(['STK_PUSH', 'STK_CALLBACK']));
    expect(data.notifications.map((n: any) => n.subjectId)).toEqual(expect.arrayContaining([first.paymentId, first.payoutId]));
    expect(data.mpesaReceipts.map((r: any) => r.paymentId).sort()).toEqual([first.paymentId, secondPaymentId].sort());
    expect(data.reconciliationItems).toEqual([]);
  });

  it("includes the reconciliation report lines about the client's payments, and only those", async () => {
    const about = await reconciliationItem(3, secondPaymentId);
    await reconciliationItem(3);

    const res = await exportOf({ clientId: client.id });

    expect(res.status).toBe(200);
    expect(res.body.data.reconciliationItems).toEqual([
      expect.objectContaining({ id: about.itemId, reportId: about.reportId, recordId: secondPaymentId, party: PARTY, details: DETAILS }),
    ]);
  });

  it('is audited as privacy.exported with who asked and the counts, never the data', async () => {
    const before = (await privacyEvents('privacy.exported', client.id)).length;
    expect((await exportOf({ clientId: client.id })).status).toBe(200);

    const events = await privacyEvents('privacy.exported', client.id);
    expect(events).toHaveLength(before + 1);
    const event = events[events.length - 1];
    expect(event.actor_id).toBe(admin.id);
    expect(event.metadata).toMatchObject({ identifiedBy: ['clientId'], counts: { payments: 2, payouts: 1, mpesaReceipts: 2 } });
    const stored = JSON.stringify(event);
    expect(stored).not.toMatch(FULL_PHONE);
    expect(stored).not.toContain(NAME);
    expect(stored).not.toContain(first.email);
  });

  it('finds a client by the phone number in the body, in local format, and only what that phone paid', async () => {
    const res = await exportOf({ phoneNumber: `0${secondPhone.slice(3)}` });

    expect(res.status).toBe(200);
    expect(res.body.data.subject).toEqual({ clientId: null, phoneNumber: masked(secondPhone) });
    expect(res.body.data.payments.map((p: any) => p.id)).toEqual([secondPaymentId]);
  });

  it('also answers GET /api/privacy/clients/:clientId/export', async () => {
    const res = await api(`/api/privacy/clients/${encodeURIComponent(client.id)}/export`, { token: admin.token });

    expect(res.status).toBe(200);
    expect(res.body.data.payments).toHaveLength(2);
  });

  it('answers 404 for a client nothing is held about', async () => {
    const res = await exportOf({ clientId: `nobody-${randomUUID()}` });

    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ success: false, code: 'NOT_FOUND', message: expect.stringContaining('No data is held') });
  });

  it.each([
    ['neither a client id nor a phone number', {}],
    ['an invalid phone number', { phoneNumber: '12345' }],
    ['an unknown field', { clientId: client.id, email: 'x@example.com' }],
  ])('answers 400 for %s', async (_case, body) => {
    const res = await exportOf(body);

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, code: 'VALIDATION_ERROR' });
  });

  it('is for admins only: a client gets 403, even about itself', async () => {
    expect((await exportOf({ clientId: client.id }, client.token)).status).toBe(403);
    expect((await api(`/api/privacy/clients/${client.id}/export`, { token: client.token })).status).toBe(403);
  });
});

describe('POST /api/privacy/anonymise', () => {
  const client = newClient();
  let subject: { paymentId: string; payoutId: string; phone: string; email: string };
  let before: { payment: Record<string, any>; payout: Record<string, any> };

  beforeAll(async () => {
    subject = await paymentWithRefund(client);
    before = { payment: (await paymentRow(subject.paymentId))!, payout: (await payoutRow(subject.payoutId))! };
  });

  it('refuses with 400 and changes nothing when the input is bad', async () => {
    for (const body of [
      { clientId: client.id },
      { clientId: client.id, reason: 'x' },
      { phoneNumber: 'abc', reason: 'DPA request 1' },
      { reason: 'DPA request 1' },
    ]) {
      const res = await anonymise(body);
      expect(res.status).toBe(400);
    }
    expect((await paymentRow(subject.paymentId))!.version).toBe(before.payment.version);
    expect(await privacyEvents('privacy.anonymised', client.id)).toHaveLength(0);
  });

  it('is for admins only', async () => {
    expect((await anonymise({ clientId: client.id, reason: 'DPA request 1' }, client.token)).status).toBe(403);
    expect((await paymentRow(subject.paymentId))!.personal_data_masked_at).toBeNull();
  });

  it('answers 404 for a client nothing is held about', async () => {
    expect((await anonymise({ clientId: `nobody-${randomUUID()}`, reason: 'DPA request 1' })).status).toBe(404);
  });

  it("masks the phone, name and email on the client's payments and payouts and keeps the money record", async () => {
    const about = await reconciliationItem(3, subject.paymentId);
    const unrelated = await reconciliationItem(3);
    const receipt = await ledgerRowNamingThePayer(subject.paymentId);

    const res = await anonymise({ clientId: client.id, reason: 'DPA erasure request #2291' });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, message: 'Personal data anonymised', data: { changed: true, clientIds: [client.id] } });
    expect(res.body.data.counts).toMatchObject({ payments: 1, payouts: 1, mpesaReceipts: 1, reconciliationItems: 1 });
    expect(await ledgerStatementRecord(receipt)).toEqual(MASKED_ITEM.raw);
    // A reconciliation report's line about the payment loses the payer's name too; other lines keep theirs.
    expect(await itemRow(about.itemId)).toEqual(MASKED_ITEM);
    expect(await itemRow(unrelated.itemId)).toMatchObject({ party: PARTY, details: DETAILS });

    const payment = (await paymentRow(subject.paymentId))!;
    expect(payment).toMatchObject({
      personal_data_masked_by: 'anonymisation',
      customer_name: 'W*** K***',
      amount: before.payment.amount,
      refunded_amount: before.payment.refunded_amount,
      status: before.payment.status,
      mpesa_receipt_number: before.payment.mpesa_receipt_number,
      result_code: before.payment.result_code,
    });
    expect(payment.personal_data_masked_at).toBeInstanceOf(Date);
    expect(payment.phone_number_encrypted).not.toBe(before.payment.phone_number_encrypted);
    expect(payment.customer_email_encrypted).not.toBe(before.payment.customer_email_encrypted);
    // The look-up hash is gone: the phone number no longer leads to these rows.
    expect(payment.phone_number_hash).not.toBe(before.payment.phone_number_hash);
    expect(JSON.stringify([payment.request_payload, payment.callback_payload])).not.toMatch(FULL_PHONE);

    const payout = (await payoutRow(subject.payoutId))!;
    expect(payout).toMatchObject({
      personal_data_masked_by: 'anonymisation',
      amount: 100,
      status: 'completed',
      transaction_id: before.payout.transaction_id,
    });
    expect(JSON.stringify(payout.result_payload)).not.toContain(SIMULATED_NAME);
    expect(payout.result_payload).toMatchObject({ receiverpartypublicname: `${masked(subject.phone)} - J*** D***` });
    expect(payout.phone_number_hash).not.toBe(before.payout.phone_number_hash);
  });

  it('scrubs names from the Daraja logs and notifications about those records, and leaves the audit trail untouched', async () => {
    const { rows: logs } = await db().query('SELECT request_data, response_data FROM transaction_logs WHERE reference = ANY($1)', [
      [subject.paymentId, subject.payoutId],
    ]);
    expect(logs.length).toBeGreaterThan(0);
    expect(JSON.stringify(logs)).not.toContain(SIMULATED_NAME);
    expect(JSON.stringify(logs)).not.toMatch(FULL_PHONE);
    const { rows: notifications } = await db().query('SELECT payload FROM notifications WHERE subject_id = ANY($1)', [
      [subject.paymentId, subject.payoutId],
    ]);
    expect(JSON.stringify(notifications)).not.toMatch(FULL_PHONE);
    expect(JSON.stringify(notifications)).not.toContain(NAME);

    // audit_events is append-only (a trigger refuses UPDATE): it must already hold only masked data.
    const { rows: audit } = await db().query('SELECT * FROM audit_events WHERE entity_id = ANY($1)', [
      [subject.paymentId, subject.payoutId],
    ]);
    expect(audit.length).toBeGreaterThan(3);
    expect(JSON.stringify(audit)).not.toMatch(FULL_PHONE);
    expect(JSON.stringify(audit)).not.toContain(NAME);
    expect(JSON.stringify(audit)).not.toContain(subject.email);
  });

  it('writes one privacy.anonymised audit event with the counts and the reason', async () => {
    const events = await privacyEvents('privacy.anonymised', client.id);

    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor_id: admin.id, entity_type: 'client' });
    expect(events[0].metadata).toMatchObject({
      identifiedBy: ['clientId'],
      reason: 'DPA erasure request #2291',
      counts: { payments: 1, payouts: 1 },
    });
  });

  it('shows masked data afterwards: GET payment, the export, and refuses a refund to the number it no longer holds', async () => {
    const status = await paymentStatus(admin.token, subject.paymentId);
    expect(status.status).toBe(200);
    expect(status.body.data).toMatchObject({ phoneNumber: masked(subject.phone), amount: 500, status: 'partially_refunded' });

    const exported = await exportOf({ clientId: client.id });
    expect(exported.status).toBe(200);
    expect(exported.body.data.payments[0]).toMatchObject({
      phoneNumber: masked(subject.phone),
      customerName: 'W*** K***',
      customerEmail: `${subject.email[0]}***@***.ke`,
    });
    expect(exported.body.data.payouts[0]).toMatchObject({ phoneNumber: masked(subject.phone) });
    expect(JSON.stringify(exported.body.data)).not.toContain(subject.phone);

    const refund = await api(`/api/payments/${subject.paymentId}/refund`, {
      method: 'POST',
      token: admin.token,
      body: { amount: 100, reason: 'Second refund' },
    });
    expect(refund.status).toBe(409);
    expect(refund.body.message).toMatch(/phone number was anonymised .* no money can be sent to it/);
    expect((await db().query('SELECT count(*)::int AS n FROM payouts WHERE payment_id = $1', [subject.paymentId])).rows[0].n).toBe(1);
  });

  it('no longer finds the client by the phone number, which now leads nowhere', async () => {
    expect((await exportOf({ phoneNumber: subject.phone })).status).toBe(404);
  });

  it('changes nothing on a second call, and says so', async () => {
    const payment = (await paymentRow(subject.paymentId))!;

    const res = await anonymise({ clientId: client.id, reason: 'DPA erasure request #2291' });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ message: 'Already anonymised: nothing changed', data: { changed: false } });
    expect(Object.values(res.body.data.counts).every((n) => n === 0)).toBe(true);
    expect(Object.keys(res.body.data.counts)).toHaveLength(10);
    expect((await paymentRow(subject.paymentId))!.version).toBe(payment.version);
    expect(await privacyEvents('privacy.anonymised', client.id)).toHaveLength(1);
  });

  it('refuses with 409 while a payment of the client is pending or flagged for review, then anonymises once it settled', async () => {
    const other = newClient();
    const paymentId = await completedPayment(other);
    await waitForPaymentStatus(paymentId, 'completed');
    const pendingId = await insertStuckPendingPayment(other.id, paymentId);

    const refused = await anonymise({ clientId: other.id, reason: 'DPA request 7' });

    expect(refused.status).toBe(409);
    expect(refused.body.message).toMatch(/1 pending payment/);
    expect((await paymentRow(paymentId))!.personal_data_masked_at).toBeNull();
    expect(await privacyEvents('privacy.anonymised', other.id)).toHaveLength(0);

    // Settled, but still flagged for a person: a refund to that phone may yet be owed.
    await db().query(`UPDATE payments SET status = 'failed', failed_at = now() WHERE id = $1`, [pendingId]);
    const underReview = await anonymise({ clientId: other.id, reason: 'DPA request 7' });
    expect(underReview.status).toBe(409);
    expect(underReview.body.message).toMatch(/1 record\(s\) flagged for review/);
    expect((await paymentRow(paymentId))!.personal_data_masked_at).toBeNull();

    await db().query(`UPDATE payments SET review_reason = NULL WHERE id = $1`, [pendingId]);
    const accepted = await anonymise({ clientId: other.id, reason: 'DPA request 7' });
    expect(accepted.status).toBe(200);
    expect(accepted.body.data.counts.payments).toBe(2);
  });
});

describe('retention: phone numbers masked on old settled payments', () => {
  const client = newClient();
  const cli = join(__dirname, '..', '..', 'dist', 'src', 'cli', 'retention.js');
  let old: { paymentId: string; payoutId: string; phone: string; email: string };
  let oldFailed: string;
  let recent: string;
  let oldPending: string;

  async function runRetention(): Promise<Record<string, any>> {
    const { stdout } = await run(process.execPath, [cli], { env: childEnv({ ...testEnv() }), timeout: 30_000 });
    return JSON.parse(stdout.trim().split('\n').pop()!);
  }

  beforeAll(async () => {
    old = await paymentWithRefund(client);
    const failedRes = await pushStk(client.token, stkPushBody({ phoneNumber: '254700000001' })); // insufficient funds
    oldFailed = failedRes.body.data.paymentId;
    await waitForPaymentStatus(oldFailed, 'failed');
    recent = await completedPayment(client);
    await waitForPaymentStatus(recent, 'completed');
    oldPending = await insertStuckPendingPayment(client.id, recent);
    await waitUntilPayoutsSettled([client.id]);
    // 400 days back: past the default RETENTION_MASK_PHONE_AFTER_DAYS (365).
    await db().query(`UPDATE payments SET created_at = now() - interval '400 days' WHERE id = ANY($1)`, [
      [old.paymentId, oldFailed, oldPending],
    ]);
    await db().query(`UPDATE payouts SET created_at = now() - interval '400 days' WHERE id = $1`, [old.payoutId]);
  });

  it('`npm run retention` masks old settled payments and payouts, leaves recent and pending ones, and audits the counts', async () => {
    const oldReceipt = await ledgerRowNamingThePayer(old.paymentId);
    const recentReceipt = await ledgerRowNamingThePayer(recent);
    const beforeOld = (await paymentRow(old.paymentId))!;
    const beforeRecent = (await paymentRow(recent))!;
    const beforeOldPending = (await paymentRow(oldPending))!;

    const report = await runRetention();

    expect(report.payments).toBeGreaterThanOrEqual(2);
    expect(report.payouts).toBeGreaterThanOrEqual(1);
    // The receipt ledger's record of a masked payment loses the payer's name too; a recent one keeps it.
    expect(report.mpesaReceipts).toBeGreaterThanOrEqual(1);
    expect(await ledgerStatementRecord(oldReceipt)).toEqual(MASKED_ITEM.raw);
    expect(await ledgerStatementRecord(recentReceipt)).toEqual({ 'Other Party Info': PARTY, Details: DETAILS, 'Paid In': '1500.00' });
    const masked1 = (await paymentRow(old.paymentId))!;
    expect(masked1).toMatchObject({
      personal_data_masked_by: 'retention',
      customer_name: 'W*** K***',
      // Kept on purpose: an access or erasure request by phone must still find the row.
      phone_number_hash: beforeOld.phone_number_hash,
      amount: beforeOld.amount,
      status: beforeOld.status,
      mpesa_receipt_number: beforeOld.mpesa_receipt_number,
      result_code: beforeOld.result_code,
    });
    expect(masked1.phone_number_encrypted).not.toBe(beforeOld.phone_number_encrypted);
    expect((await paymentRow(oldFailed))!.personal_data_masked_by).toBe('retention');
    const payout = (await payoutRow(old.payoutId))!;
    expect(payout.personal_data_masked_by).toBe('retention');
    expect(JSON.stringify(payout.result_payload)).not.toContain(SIMULATED_NAME);

    expect(await paymentRow(recent)).toMatchObject({
      personal_data_masked_at: null,
      phone_number_encrypted: beforeRecent.phone_number_encrypted,
      version: beforeRecent.version,
    });
    expect(await paymentRow(oldPending)).toMatchObject({
      personal_data_masked_at: null,
      phone_number_encrypted: beforeOldPending.phone_number_encrypted,
    });

    const events = await privacyEvents('privacy.retention_applied');
    expect(events[events.length - 1]).toMatchObject({
      actor_id: 'retention-cli',
      entity_type: 'retention',
      metadata: { payments: report.payments, payouts: report.payouts, afterDays: 365 },
    });
  });

  it('is idempotent: a second run masks nothing and says so in its audit event', async () => {
    const row = (await paymentRow(old.paymentId))!;

    const report = await runRetention();

    expect(report).toMatchObject({ payments: 0, payouts: 0, mpesaReceipts: 0, reconciliationItems: 0 });
    expect((await paymentRow(old.paymentId))!.version).toBe(row.version);
    const events = await privacyEvents('privacy.retention_applied');
    expect(events[events.length - 1].metadata).toMatchObject({ payments: 0, payouts: 0 });
  });

  it('masks the payer names in reconciliation reports past the retention age, each report once, and leaves recent ones', async () => {
    const old = await reconciliationItem(400);
    const recent = await reconciliationItem(10);

    const report = await runRetention();

    expect(report.reconciliationItems).toBeGreaterThanOrEqual(1);
    expect(await itemRow(old.itemId)).toEqual(MASKED_ITEM);
    expect(await itemRow(recent.itemId)).toEqual({
      party: PARTY,
      details: DETAILS,
      raw: { 'Other Party Info': PARTY, Details: DETAILS, 'Paid In': '1500.00' },
    });
    const reports = await db().query('SELECT id, personal_data_masked_at FROM reconciliation_reports WHERE id = ANY($1)', [
      [old.reportId, recent.reportId],
    ]);
    expect(reports.rows.find((r) => r.id === old.reportId)!.personal_data_masked_at).not.toBeNull();
    expect(reports.rows.find((r) => r.id === recent.reportId)!.personal_data_masked_at).toBeNull();
    const events = await privacyEvents('privacy.retention_applied');
    expect(events[events.length - 1].metadata).toMatchObject({ reconciliationItems: report.reconciliationItems });

    expect(await runRetention()).toMatchObject({ reconciliationItems: 0 });
  });

  it('keeps masked payments readable, still findable by phone, and refuses to refund them', async () => {
    const status = await paymentStatus(admin.token, old.paymentId);
    expect(status.status).toBe(200);
    expect(status.body.data).toMatchObject({
      phoneNumber: masked(old.phone),
      status: 'partially_refunded',
      refunds: [expect.objectContaining({ phoneNumber: masked(old.phone) })],
    });
    const list = await api('/api/payments', { token: client.token, query: { limit: 100 } });
    expect(list.status).toBe(200);
    expect(list.body.data.items.find((p: any) => p.paymentId === old.paymentId)).toMatchObject({ phoneNumber: masked(old.phone) });

    const exported = await exportOf({ phoneNumber: old.phone });
    expect(exported.status).toBe(200);
    expect(exported.body.data.payments).toEqual([
      expect.objectContaining({ id: old.paymentId, phoneNumber: masked(old.phone), customerEmail: `${old.email[0]}***@***.ke` }),
    ]);

    const refund = await api(`/api/payments/${old.paymentId}/refund`, {
      method: 'POST',
      token: admin.token,
      body: { amount: 100, reason: 'Late refund' },
    });
    expect(refund.status).toBe(409);
    expect(refund.body.message).toMatch(/masked by the retention policy/);
  });
});

describe('retention: the scheduled sweep', () => {
  let app: ExtraApp;
  let pool: Pool;

  beforeAll(async () => {
    app = await startExtraApp({ RETENTION_SWEEP_INTERVAL_MS: '1000', RETENTION_MASK_PHONE_AFTER_DAYS: '30' }, 'retention');
    pool = new Pool({ connectionString: app.databaseUrl, max: 2 });
  }, 90_000);

  afterAll(async () => {
    await pool?.end();
    await app?.stop();
  });

  it('runs on its own (a BullMQ job scheduler) and masks a payment once it is past the age', async () => {
    const client = newClient();
    const paymentId = await completedPayment(client, uniquePhone(), {}, app.url);
    await waitFor(
      async () => (await pool.query('SELECT status FROM payments WHERE id = $1', [paymentId])).rows[0]?.status === 'completed',
      {
        message: 'payment to complete on the extra app',
      },
    );
    await pool.query(`UPDATE payments SET created_at = now() - interval '31 days' WHERE id = $1`, [paymentId]);

    const row = await waitFor(
      async () => {
        const r = (await pool.query('SELECT * FROM payments WHERE id = $1', [paymentId])).rows[0];
        return r.personal_data_masked_by === 'retention' ? r : undefined;
      },
      { timeoutMs: 20_000, message: 'the scheduled sweep to mask the payment' },
    );
    expect(row.status).toBe('completed');
    const { rows: events } = await pool.query(
      `SELECT * FROM audit_events WHERE action = 'privacy.retention_applied' AND actor_id = 'retention-job' ORDER BY id`,
    );
    expect(events.some((e) => e.metadata.payments === 1 && e.metadata.afterDays === 30)).toBe(true);
  });
});
