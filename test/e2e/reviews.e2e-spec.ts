// The review queue over HTTP (issue 9 §4): what the service could not decide reaches an admin, who lists it, reads its
// redacted evidence and decides it. Each decision moves the payment (or payout), is audited and announced by signed
// webhooks; open reviews show in a payment's status, in `GET /api/payments?needsReview=true` and in /metrics.
// Reviews are opened the real way: Daraja's JSON posted to the callback URL the simulator recorded (the simulator's own
// STK callbacks are off, so each payment waits for ours), and a B2C result that names another receiver.
import { darajaTimestamp } from '../../src/mpesa/daraja-time';
import { verifyWebhook } from '../../src/notifications/webhook-signature';
import { stkFailureCallback } from '../fixtures/daraja';
import { api, ApiResponse, db, sim, testEnv, uniquePhone, waitFor } from '../support/app';
import {
  auditEventsFor,
  latestSimulatedPush,
  listPayments,
  masked,
  newAdmin,
  newClient,
  newReceipt,
  paymentRow,
  paymentStatus,
  postCallback,
  pushStk,
  SimulatedTransaction,
  sleep,
  stkPushBody,
  stkSuccessCallback,
} from '../support/factories';
import { scrape } from '../support/prometheus';
import { ReceivedWebhook, WebhookReceiver } from '../support/webhook-receiver';

const admin = newAdmin();
const client = newClient();
const ACCEPTED = { ResultCode: 0, ResultDesc: 'Accepted' };
const REVIEW_KEYS = ['entityId', 'entityType', 'evidence', 'id', 'note', 'openedAt', 'reason', 'resolution', 'resolvedAt', 'status'];
/** What a client sees of its payment's reviews: that one is open and how it ended, not the evidence or the admin's note. */
const CLIENT_REVIEW_KEYS = REVIEW_KEYS.filter((key) => key !== 'evidence' && key !== 'note');
/** Long enough for a webhook that was going to be sent to arrive (they arrive within ~100 ms here). */
const QUIET_MS = 1_500;
/** Planted in a callback: evidence must never keep it. */
const PLANTED_SECRET = 'planted-credential-6f1c0a9e';
/** B2C scenario: paid, but the result names 254705912645 as the receiver (src/mpesa/simulator/simulator-scenarios.ts). */
const RECEIVER_MISMATCH_PHONE = '254700000008';
const OTHER_RECEIVER = '254705912645';

let hooks: WebhookReceiver;

interface Pending {
  paymentId: string;
  phone: string;
  daraja: SimulatedTransaction;
}

async function pendingPayment(amount = 100): Promise<Pending> {
  const phone = uniquePhone();
  const res = await pushStk(client.token, stkPushBody({ phoneNumber: phone, amount }));
  expect(res.status).toBe(201);
  return { paymentId: res.body.data.paymentId, phone, daraja: await latestSimulatedPush(phone) };
}

/** Posts Daraja's JSON to the payment's callback URL; Daraja must always get its plain acknowledgement. */
async function deliver(p: Pending, body: unknown): Promise<void> {
  const res = await postCallback(p.daraja.callbackUrl, body);
  expect(res.status).toBe(200);
  expect(res.body).toStrictEqual(ACCEPTED);
}

/** A payment M-Pesa reported cancelled (1032) and then paid with `receipt`: a contradicting_result review. */
async function paidAfterCancel(): Promise<Pending & { receipt: string }> {
  const p = await pendingPayment();
  await deliver(p, stkFailureCallback({ merchantRequestId: p.daraja.merchantRequestId, checkoutRequestId: p.daraja.checkoutRequestId }));
  const receipt = newReceipt();
  await deliver(p, stkSuccessCallback({ ...p.daraja, receipt, transactionDate: darajaTimestamp() }));
  return { ...p, receipt };
}

/** A pending payment M-Pesa reports paid for KES 1 instead of 100: an amount_mismatch review, the payment stays pending. */
async function underpaid(): Promise<Pending> {
  const p = await pendingPayment(100);
  await deliver(p, stkSuccessCallback(p.daraja, { amount: 1 }));
  return p;
}

function reviews(query: Record<string, string | number | undefined>, token = admin.token): Promise<ApiResponse> {
  return api('/api/reviews', { token, query });
}

async function reviewsOfEntity(entityId: string): Promise<Record<string, any>[]> {
  const res = await reviews({ entityId, limit: 100 });
  expect(res.status).toBe(200);
  return res.body.data.items;
}

/** The one review of `reason` on the record (through the API). */
async function reviewOf(entityId: string, reason: string): Promise<Record<string, any>> {
  const found = (await reviewsOfEntity(entityId)).filter((r) => r.reason === reason);
  expect(found).toHaveLength(1);
  return found[0];
}

function resolve(reviewId: string, body: unknown, token = admin.token): Promise<ApiResponse> {
  return api(`/api/reviews/${reviewId}/resolve`, { method: 'POST', token, body });
}

const webhooks = (event: string, subject: (h: ReceivedWebhook) => unknown, id: string) =>
  hooks.received.filter((h) => h.body?.event === event && subject(h) === id);
const paymentHooks = (paymentId: string) =>
  hooks.received.filter((h) => /^payment\./.test(h.body?.event) && h.body?.data?.paymentId === paymentId);
const reviewHooks = (event: 'review.opened' | 'review.resolved', entityId: string) =>
  webhooks(event, (h) => h.body?.data?.entityId, entityId);

/** What a decision that changes nothing must leave as it was. */
function stateOf(row: Record<string, any> | undefined) {
  return { status: row?.status, receipt: row?.mpesa_receipt_number, settledBy: row?.settled_by, reviewReason: row?.review_reason };
}

/** One open (reason, entity_type) series of the gauge against the table. */
async function openReviewCounts(): Promise<Map<string, number>> {
  const { rows } = await db().query(`SELECT reason, entity_type, count(*)::int AS n FROM reviews WHERE status = 'open' GROUP BY 1, 2`);
  return new Map(rows.map((r) => [`${r.reason}/${r.entity_type}`, r.n]));
}

/** Waits until /metrics shows exactly the open reviews the table holds (the gauge is cached for 5 s), and returns them. */
async function gaugeMatchingTable(): Promise<Map<string, number>> {
  return waitFor(
    async () => {
      const [s, table] = await Promise.all([scrape(), openReviewCounts()]);
      const gauge = new Map(
        s.series('legalpro_reviews_open').map((x) => [`${x.labels.reason}/${x.labels.entity_type}`, x.value] as [string, number]),
      );
      for (const [key, n] of table) if (gauge.get(key) !== n) return undefined;
      for (const [key, n] of gauge) if (n !== (table.get(key) ?? 0)) return undefined;
      return table;
    },
    { timeoutMs: 20_000, message: 'legalpro_reviews_open to match the open reviews in the table' },
  );
}

/** Payments opened in beforeAll: each test below decides or reads one of them. */
let mixed: Pending & { sameEvidence: ApiResponse[]; secondReceipt: string };
let toComplete: Pending & { receipt: string };
let toDismiss: Pending & { receipt: string };
let toFail: Pending;
let plain: Pending;

beforeAll(async () => {
  hooks = await WebhookReceiver.start();
  expect((await sim('/callbacks', { method: 'POST', body: { enabled: false } })).status).toBe(200);

  const openMixed = async (): Promise<typeof mixed> => {
    const p = await pendingPayment(100);
    // Daraja's success for KES 1, with a credential and the full number planted where redaction must find them.
    const body = stkSuccessCallback(p.daraja, { amount: 1 });
    Object.assign(body.Body.stkCallback, {
      ResultDesc: `The service request is processed successfully for ${p.phone}.`,
      SecurityCredential: PLANTED_SECRET,
      Password: PLANTED_SECRET,
    });
    // The same evidence three times at once: one review.
    const sameEvidence = await Promise.all([1, 2, 3].map(() => postCallback(p.daraja.callbackUrl, body)));
    // Then a success with another receipt and the right amount: a second, different anomaly on the same payment.
    const secondReceipt = newReceipt();
    await deliver(p, stkSuccessCallback({ ...p.daraja, receipt: secondReceipt }));
    return { ...p, sameEvidence, secondReceipt };
  };
  const openPlain = async (): Promise<Pending> => {
    const p = await pendingPayment();
    await deliver(p, stkSuccessCallback(p.daraja));
    return p;
  };
  [mixed, toComplete, toDismiss, toFail, plain] = await Promise.all([
    openMixed(),
    paidAfterCancel(),
    paidAfterCancel(),
    underpaid(),
    openPlain(),
  ]);
});

afterAll(async () => {
  await sim('/callbacks', { method: 'POST', body: { enabled: true } });
  await hooks?.stop();
});

describe('GET /api/reviews', () => {
  it("lists a payment's reviews in the issue's shape, newest first", async () => {
    const res = await reviews({ entityId: mixed.paymentId });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, data: { items: expect.any(Array), total: 2, page: 1, limit: 20 } });
    const items: Record<string, any>[] = res.body.data.items;
    for (const item of items) {
      expect(Object.keys(item).sort()).toEqual(REVIEW_KEYS);
      expect(item).toMatchObject({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        entityType: 'payment',
        entityId: mixed.paymentId,
        status: 'open',
        evidence: expect.any(Object),
        resolvedAt: null,
        resolution: null,
        note: null,
      });
      expect(Date.parse(item.openedAt)).not.toBeNaN();
    }
    expect(items.map((r) => r.reason)).toEqual(['contradicting_result', 'amount_mismatch']);
  });

  it('filters by status, record type and reason, and pages', async () => {
    const [amountMismatch, contradicting] = await Promise.all([
      reviewOf(mixed.paymentId, 'amount_mismatch'),
      reviewOf(mixed.paymentId, 'contradicting_result'),
    ]);

    const open = await reviews({ status: 'open', entityType: 'payment', reason: 'amount_mismatch', limit: 100 });
    expect(open.status).toBe(200);
    expect(open.body.data.items.length).toBeGreaterThan(0);
    expect(
      open.body.data.items.every((r: any) => r.status === 'open' && r.entityType === 'payment' && r.reason === 'amount_mismatch'),
    ).toBe(true);
    const ids = open.body.data.items.map((r: any) => r.id);
    expect(ids).toContain(amountMismatch.id);
    expect(ids).not.toContain(contradicting.id);

    expect((await reviews({ status: 'resolved', entityId: mixed.paymentId })).body.data).toEqual({
      items: [],
      total: 0,
      page: 1,
      limit: 20,
    });
    expect((await reviews({ entityType: 'payout', entityId: mixed.paymentId })).body.data).toMatchObject({ items: [], total: 0 });

    const secondPage = await reviews({ entityId: mixed.paymentId, page: 2, limit: 1 });
    expect(secondPage.body.data).toMatchObject({ total: 2, page: 2, limit: 1 });
    expect(secondPage.body.data.items.map((r: any) => r.id)).toEqual([amountMismatch.id]);
  });

  it.each([
    { query: { status: 'closed' }, message: 'status must be one of: open, resolved' },
    { query: { entityType: 'invoice' }, message: 'entityType must be one of: payment, payout, reversal' },
    { query: { reason: 'gut_feeling' }, message: 'reason must be one of: contradicting_result, amount_mismatch' },
    { query: { entityId: 'payment-1' }, message: 'entityId must be a UUID' },
    { query: { page: 0 }, message: 'page must not be less than 1' },
    { query: { limit: 101 }, message: 'limit must not be greater than 100' },
    { query: { limit: 'ten' }, message: 'limit must be an integer number' },
  ])('answers 400 with a clear message to $query', async ({ query, message }) => {
    const res = await reviews(query);

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, code: 'VALIDATION_ERROR' });
    expect(res.body.message).toContain(message);
  });

  it('is for admins only: a client gets 403 on the list, on a review and on a decision, which changes nothing', async () => {
    const review = await reviewOf(mixed.paymentId, 'amount_mismatch');
    const before = stateOf(await paymentRow(mixed.paymentId));

    const answers = await Promise.all([
      reviews({}, client.token),
      api(`/api/reviews/${review.id}`, { token: client.token }),
      resolve(review.id, { resolution: 'complete', note: 'I paid, trust me' }, client.token),
    ]);

    expect(answers.map((a) => a.status)).toEqual([403, 403, 403]);
    expect(answers[0].body).toMatchObject({ success: false, code: 'FORBIDDEN' });
    expect((await api(`/api/reviews/${review.id}`, { token: admin.token })).body.data).toEqual(review);
    expect(stateOf(await paymentRow(mixed.paymentId))).toEqual(before);
  });
});

describe('GET /api/reviews/:id', () => {
  it('returns one review, as the list shows it', async () => {
    const listed = await reviewOf(mixed.paymentId, 'contradicting_result');

    const res = await api(`/api/reviews/${listed.id}`, { token: admin.token });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, data: listed });
    expect(Object.keys(res.body.data).sort()).toEqual(REVIEW_KEYS);
    expect(res.body.data.evidence).toMatchObject({ receipt: mixed.secondReceipt, amount: 100 });
  });

  it('answers 404 for an unknown id and 400 for one that is not a UUID', async () => {
    const missing = await api('/api/reviews/00000000-0000-4000-8000-000000000000', { token: admin.token });
    const malformed = await api('/api/reviews/not-a-review', { token: admin.token });

    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ success: false, code: 'NOT_FOUND' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.success).toBe(false);
  });

  it('shows the evidence redacted: the receipt and amount kept, the phone masked, no full number and no secret', async () => {
    const review = await reviewOf(mixed.paymentId, 'amount_mismatch');

    const { evidence } = (await api(`/api/reviews/${review.id}`, { token: admin.token })).body.data;

    expect(evidence).toMatchObject({ receipt: mixed.daraja.receipt, amount: 1, phoneNumber: masked(mixed.phone) });
    const text = JSON.stringify(evidence);
    expect(text).toContain(mixed.daraja.checkoutRequestId); // the payload as received is there...
    expect(text).not.toContain(mixed.phone); // ...without the number, whether sent as a number or inside a text
    expect(text).not.toContain(mixed.phone.slice(3));
    expect(text).not.toContain(PLANTED_SECRET);
    // The row as stored holds no more than the API shows.
    const { rows } = await db().query('SELECT evidence::text AS text FROM reviews WHERE id = $1', [review.id]);
    expect(rows[0].text).not.toContain(mixed.phone);
    expect(rows[0].text).not.toContain(PLANTED_SECRET);
  });
});

describe('opening reviews', () => {
  it('opens one review for the same evidence delivered three times, and another for different evidence on the same payment', async () => {
    expect(mixed.sameEvidence.map((r) => [r.status, r.body])).toEqual([
      [200, ACCEPTED],
      [200, ACCEPTED],
      [200, ACCEPTED],
    ]);

    const listed = await reviewsOfEntity(mixed.paymentId);

    expect(listed.map((r) => [r.reason, r.status, r.evidence.receipt]).sort()).toEqual([
      ['amount_mismatch', 'open', mixed.daraja.receipt],
      ['contradicting_result', 'open', mixed.secondReceipt],
    ]);
    expect(await auditEventsFor(mixed.paymentId, 'review.opened')).toHaveLength(2);
    // Neither success completed the payment: it waits for a person.
    expect(stateOf(await paymentRow(mixed.paymentId))).toEqual({
      status: 'pending',
      receipt: null,
      settledBy: null,
      reviewReason: 'amount_mismatch',
    });
    await hooks.waitFor(
      (h) =>
        h.body?.event === 'review.opened' && h.body?.data?.reason === 'contradicting_result' && h.body?.data?.entityId === mixed.paymentId,
    );
    await sleep(QUIET_MS);
    expect(reviewHooks('review.opened', mixed.paymentId)).toHaveLength(2);
  });

  it('announces an opened review with a signed review.opened webhook naming the review', async () => {
    const review = await reviewOf(toFail.paymentId, 'amount_mismatch');

    const hook = await hooks.waitFor((h) => h.body?.event === 'review.opened' && h.body?.data?.reviewId === review.id);

    expect(verifyWebhook(testEnv().WEBHOOK_SECRET, hook.rawBody, String(hook.headers['x-legalpro-signature']))).toBe(true);
    expect(verifyWebhook('another-secret', hook.rawBody, String(hook.headers['x-legalpro-signature']))).toBe(false);
    expect(hook.headers['x-legalpro-event']).toBe('review.opened');
    expect(hook.body).toEqual({
      id: expect.any(String),
      event: 'review.opened',
      createdAt: expect.any(String),
      data: { reviewId: review.id, entityType: 'payment', entityId: toFail.paymentId, reason: 'amount_mismatch' },
    });
  });

  it('lists flagged payments with needsReview=true, and only those', async () => {
    const flagged = [mixed, toComplete, toDismiss, toFail].map((p) => p.paymentId);

    const [yes, no, bad] = await Promise.all([
      listPayments(client.token, { needsReview: 'true', limit: 100 }),
      listPayments(client.token, { needsReview: 'false', limit: 100 }),
      listPayments(client.token, { needsReview: 'maybe' }),
    ]);

    expect(yes.status).toBe(200);
    expect(yes.body.data.items.map((p: any) => p.paymentId).sort()).toEqual([...flagged].sort());
    expect(yes.body.data.total).toBe(4);
    expect(yes.body.data.items.find((p: any) => p.paymentId === mixed.paymentId).reviewReason).toBe('amount_mismatch');
    expect(no.body.data.items.map((p: any) => p.paymentId)).toEqual([plain.paymentId]);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('needsReview must be true or false');
    // An admin sees the same flag across clients.
    const all = await listPayments(admin.token, { needsReview: 'true', limit: 100 });
    expect(all.body.data.items.every((p: any) => p.reviewReason !== null)).toBe(true);
    expect(all.body.data.items.map((p: any) => p.paymentId)).toEqual(expect.arrayContaining(flagged));
  });

  it("shows a payment's reviews in its status, oldest first, the evidence to admins only; a payment without any has an empty list", async () => {
    const [flagged, asAdmin, clean] = await Promise.all([
      paymentStatus(client.token, mixed.paymentId),
      paymentStatus(admin.token, mixed.paymentId),
      paymentStatus(client.token, plain.paymentId),
    ]);

    expect(flagged.status).toBe(200);
    expect(flagged.body.data).toMatchObject({ status: 'pending', reviewReason: 'amount_mismatch' });
    expect(flagged.body.data.reviews.map((r: any) => r.reason)).toEqual(['amount_mismatch', 'contradicting_result']);
    for (const r of flagged.body.data.reviews) expect(Object.keys(r).sort()).toEqual(CLIENT_REVIEW_KEYS);
    expect(asAdmin.body.data.reviews.map((r: any) => r.reason)).toEqual(['amount_mismatch', 'contradicting_result']);
    for (const r of asAdmin.body.data.reviews) expect(Object.keys(r).sort()).toEqual(REVIEW_KEYS);
    expect(clean.body.data).toMatchObject({ status: 'completed', reviewReason: null, reviews: [] });
  });
});

describe('POST /api/reviews/:id/resolve', () => {
  it('complete: the payment M-Pesa had cancelled becomes completed with the recorded receipt, audited and announced', async () => {
    const review = await reviewOf(toComplete.paymentId, 'contradicting_result');
    expect((await paymentRow(toComplete.paymentId))?.status).toBe('cancelled');
    const note = 'Statement checked: the customer paid on the first prompt';

    const res = await resolve(review.id, { resolution: 'complete', note });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      data: { ...review, status: 'resolved', resolution: 'complete', note, resolvedAt: expect.any(String) },
    });
    expect(await paymentRow(toComplete.paymentId)).toMatchObject({
      status: 'completed',
      mpesa_receipt_number: toComplete.receipt,
      settled_by: 'review',
      review_reason: null,
    });
    const status = (await paymentStatus(client.token, toComplete.paymentId)).body.data;
    expect(status).toMatchObject({ status: 'completed', mpesaReceiptNumber: toComplete.receipt, settledBy: 'review', reviewReason: null });
    expect(status.reviews).toEqual([expect.objectContaining({ id: review.id, status: 'resolved', resolution: 'complete' })]);
    const seenByAdmin = (await paymentStatus(admin.token, toComplete.paymentId)).body.data;
    expect(seenByAdmin.reviews).toEqual([expect.objectContaining({ id: review.id, status: 'resolved', resolution: 'complete', note })]);

    // The payment's own webhook follows its new state, and the decision is announced.
    const completed = await hooks.waitFor((h) => h.body?.event === 'payment.completed' && h.body?.data?.paymentId === toComplete.paymentId);
    expect(completed.body.data).toMatchObject({ status: 'completed', mpesaReceiptNumber: toComplete.receipt, settledBy: 'review' });
    const resolved = await hooks.waitFor((h) => h.body?.event === 'review.resolved' && h.body?.data?.reviewId === review.id);
    expect(verifyWebhook(testEnv().WEBHOOK_SECRET, resolved.rawBody, String(resolved.headers['x-legalpro-signature']))).toBe(true);
    expect(resolved.body.data).toEqual({
      reviewId: review.id,
      entityType: 'payment',
      entityId: toComplete.paymentId,
      reason: 'contradicting_result',
      resolution: 'complete',
    });

    // Audited: who decided, how and why, and the payment's change under the same actor.
    const [decision] = await auditEventsFor(toComplete.paymentId, 'review.resolved');
    expect(decision).toMatchObject({
      actor_type: 'user',
      actor_id: admin.id,
      metadata: { reviewId: review.id, resolution: 'complete', note },
    });
    const [change] = await auditEventsFor(toComplete.paymentId, 'payment.completed');
    expect(change).toMatchObject({ actor_type: 'user', actor_id: admin.id, before: { status: 'cancelled' } });

    // Resolved is filtered as such.
    expect((await reviews({ status: 'resolved', entityId: toComplete.paymentId })).body.data.items.map((r: any) => r.id)).toEqual([
      review.id,
    ]);
    expect((await reviews({ status: 'open', entityId: toComplete.paymentId })).body.data.total).toBe(0);
  });

  it('answers 409 to a second decision on the same review, and changes nothing', async () => {
    const review = await reviewOf(toComplete.paymentId, 'contradicting_result');
    const before = await paymentRow(toComplete.paymentId);

    const again = await resolve(review.id, { resolution: 'fail', note: 'Second thoughts' });

    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ success: false, code: 'CONFLICT' });
    expect(again.body.message).toContain('already resolved (complete)');
    expect(await paymentRow(toComplete.paymentId)).toEqual(before);
    expect((await api(`/api/reviews/${review.id}`, { token: admin.token })).body.data).toEqual(review);
    expect(await auditEventsFor(toComplete.paymentId, 'review.resolved')).toHaveLength(1);
    await sleep(QUIET_MS);
    expect(reviewHooks('review.resolved', toComplete.paymentId)).toHaveLength(1);
    expect(paymentHooks(toComplete.paymentId).map((h) => h.body.event)).toEqual(['payment.cancelled', 'payment.completed']);
  });

  it('fail: a pending payment becomes failed, audited and announced', async () => {
    const review = await reviewOf(toFail.paymentId, 'amount_mismatch');
    const note = 'KES 1 is not a consultation fee: the customer is asked to pay again';

    const res = await resolve(review.id, { resolution: 'fail', note });

    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ id: review.id, status: 'resolved', resolution: 'fail', note });
    expect(await paymentRow(toFail.paymentId)).toMatchObject({
      status: 'failed',
      settled_by: 'review',
      mpesa_receipt_number: null,
      review_reason: null,
    });
    const failed = await hooks.waitFor((h) => h.body?.event === 'payment.failed' && h.body?.data?.paymentId === toFail.paymentId);
    expect(failed.body.data).toMatchObject({ status: 'failed', settledBy: 'review' });
    await hooks.waitFor((h) => h.body?.event === 'review.resolved' && h.body?.data?.reviewId === review.id);
    expect(await auditEventsFor(toFail.paymentId, 'review.resolved')).toEqual([
      expect.objectContaining({ actor_id: admin.id, metadata: expect.objectContaining({ resolution: 'fail', note }) }),
    ]);
  });

  it('dismiss: the payment stays as M-Pesa left it; only the review is closed, audited and announced', async () => {
    const review = await reviewOf(toDismiss.paymentId, 'contradicting_result');
    const before = stateOf(await paymentRow(toDismiss.paymentId));
    const note = 'Test transaction from the Safaricom portal; no money to place';

    const res = await resolve(review.id, { resolution: 'dismiss', note });

    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ status: 'resolved', resolution: 'dismiss', note });
    // The flag goes with the last open review; nothing else moves.
    expect(stateOf(await paymentRow(toDismiss.paymentId))).toEqual({ ...before, reviewReason: null });
    expect(before).toMatchObject({ status: 'cancelled', receipt: null, reviewReason: 'contradicting_result' });
    await hooks.waitFor((h) => h.body?.event === 'review.resolved' && h.body?.data?.reviewId === review.id);
    expect(await auditEventsFor(toDismiss.paymentId, 'review.resolved')).toEqual([
      expect.objectContaining({ actor_id: admin.id, metadata: expect.objectContaining({ resolution: 'dismiss', note }) }),
    ]);
    await sleep(QUIET_MS);
    expect(paymentHooks(toDismiss.paymentId).map((h) => h.body.event)).toEqual(['payment.cancelled']);
  });

  it.each([
    { body: { resolution: 'approve', note: 'Looks fine' }, message: 'resolution must be one of: complete, fail, dismiss' },
    { body: { note: 'No decision given' }, message: 'resolution must be one of: complete, fail, dismiss' },
    { body: { resolution: 'complete' }, message: 'note must say why, in at least 3 characters' },
    { body: { resolution: 'complete', note: 'ok' }, message: 'note must say why, in at least 3 characters' },
  ])('refuses $body with 400, and changes nothing', async ({ body, message }) => {
    const review = await reviewOf(mixed.paymentId, 'amount_mismatch');
    const before = await paymentRow(mixed.paymentId);

    const res = await resolve(review.id, body);

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, code: 'VALIDATION_ERROR' });
    expect(res.body.message).toContain(message);
    expect((await api(`/api/reviews/${review.id}`, { token: admin.token })).body.data).toEqual(review);
    expect(await paymentRow(mixed.paymentId)).toEqual(before);
    expect(await auditEventsFor(mixed.paymentId, 'review.resolved')).toEqual([]);
  });

  it('answers 404 to a decision on an unknown review', async () => {
    const res = await resolve('00000000-0000-4000-8000-000000000000', { resolution: 'dismiss', note: 'Nothing to see' });

    expect(res.status).toBe(404);
  });
});

describe('/metrics', () => {
  it('counts open reviews by reason and record type, and stops counting a resolved one', async () => {
    const p = await underpaid();
    const before = await gaugeMatchingTable();
    expect(before.get('amount_mismatch/payment')).toBeGreaterThanOrEqual(2); // this one and mixed's
    expect(before.get('contradicting_result/payment')).toBeGreaterThanOrEqual(1);

    const review = await reviewOf(p.paymentId, 'amount_mismatch');
    expect((await resolve(review.id, { resolution: 'fail', note: 'Underpaid; asked to pay again' })).status).toBe(200);

    const after = await gaugeMatchingTable();
    expect(after.get('amount_mismatch/payment') ?? 0).toBe((before.get('amount_mismatch/payment') ?? 0) - 1);
  });
});

describe("a payout's reviews", () => {
  it('shows a B2C result paid to another number as a receiver_mismatch review in the payout, which a person completes', async () => {
    // The simulator's switch silences every result, the balance check's and the B2C's too; the STK tests are done.
    expect((await sim('/callbacks', { method: 'POST', body: { enabled: true } })).status).toBe(200);
    const res = await api('/api/disbursements', {
      method: 'POST',
      token: admin.token,
      body: {
        phoneNumber: RECEIVER_MISMATCH_PHONE,
        amount: 1_500,
        commandId: 'BusinessPayment',
        remarks: 'Compensation',
        clientId: client.id,
      },
    });
    expect(res.status).toBe(202);
    const payoutId: string = res.body.data.id;

    const flagged = await waitFor(
      async () => {
        const p = (await api(`/api/payouts/${payoutId}`, { token: admin.token })).body.data;
        return p.reviews?.length > 0 && p;
      },
      { timeoutMs: 20_000, message: 'the payout to be flagged' },
    );

    expect(flagged).toMatchObject({ needsReview: true, reviewReason: 'receiver_mismatch', mpesaReceiptNumber: null });
    expect(flagged.status).not.toBe('completed');
    const [review] = flagged.reviews;
    expect(Object.keys(review).sort()).toEqual(REVIEW_KEYS);
    expect(review).toMatchObject({ entityType: 'payout', entityId: payoutId, reason: 'receiver_mismatch', status: 'open' });
    expect(review.evidence.receipt).toMatch(/^[A-Z0-9]{10}$/);
    expect(review.evidence.receiver).toBe(masked(OTHER_RECEIVER));
    expect(JSON.stringify(review.evidence)).not.toContain(OTHER_RECEIVER);
    await hooks.waitFor((h) => h.body?.event === 'review.opened' && h.body?.data?.reviewId === review.id);

    const decided = await resolve(review.id, { resolution: 'complete', note: 'The receiver is the claimant’s registered agent' });

    expect(decided.status).toBe(200);
    const payout = (await api(`/api/payouts/${payoutId}`, { token: admin.token })).body.data;
    expect(payout).toMatchObject({ status: 'completed', mpesaReceiptNumber: review.evidence.receipt, needsReview: false });
    const hook = await hooks.waitFor((h) => h.body?.event === 'disbursement.completed' && h.body?.data?.payoutId === payoutId);
    expect(hook.body.data).toMatchObject({ status: 'completed', mpesaReceiptNumber: review.evidence.receipt });
  });
});
