// The money rules a fault must never break, checked from the outside: SQL on the service's tables and what "Daraja"
// (the embedded simulator) says it received and paid. One call checks them all and names the rows that break one.
//
//   let snapshot: InvariantSnapshot | undefined;
//   const report = await checkMoneyInvariants({ pool, apiUrl, tracked, previous: snapshot });
//   expectInvariants(report); snapshot = report.snapshot;
//
// Rules (docs/faults.md):
//  1. a payment leaves `pending` at most once (its audit trail: each settlement writes one event with before/after);
//  2. every status change in the audit trail is an allowed one, M-Pesa's verdicts change only by a review, and the
//     trail ends where the row is (no change without its event);
//  3. one M-Pesa receipt on at most one payment, and one mpesa_receipts row linked to that same payment (a receipt
//     linked to a payment that holds another or none is a contradiction: only under a review);
//  4. final states are not changed between two checks except by refund, reversal or a review's resolution;
//  5. at most one STK push reached Daraja per payment (AccountReference) and per Idempotency-Key, and no push reached
//     Daraja without its payment row; one payment per Idempotency-Key;
//  6. at most one paid B2C per payout, every paid B2C belongs to a payout, every completed payout was paid;
//  7. once healthy (`settled`): no payment pending, no payout in flight without a review, outbox drained, no job stuck
//     (active for over 5 s).
import { Queue } from 'bullmq';
import { Pool } from 'pg';
import { ALLOWED_TRANSITIONS, PaymentStatus, SettledBy, UNPAID_VERDICTS } from '../../src/payments/payment-status';

/** What the driver of a test knows about a push it asked for: the phone is only stored encrypted. */
export interface TrackedPush {
  phone: string;
  clientId: string;
  idempotencyKey?: string;
  /** Known once the API answered with it. */
  paymentId?: string;
}

export interface InvariantSnapshot {
  payments: Map<string, string>;
  payouts: Map<string, string>;
}

export interface InvariantContext {
  pool: Pool;
  /** The API serving /simulator/control. */
  apiUrl: string;
  tracked: readonly TrackedPush[];
  /** The last check's snapshot: final states must not have moved since, except by the allowed paths. */
  previous?: InvariantSnapshot;
  /**
   * False when the simulator lost its memory (its state lives in a Redis that was flushed): its records then prove
   * less, and "every completed payout was paid" cannot be asked of it.
   */
  simulatorMemory?: boolean;
  /** The system is healthy and was given time: nothing may be in flight any more. */
  settled?: { redisUrl: string; redisKeyPrefix: string };
}

export interface InvariantReport {
  failures: string[];
  snapshot: InvariantSnapshot;
  counts: { payments: number; byStatus: Record<string, number>; payouts: number; pushesSeen: number; paidB2c: number };
}

const FINAL_PAYOUT = new Set(['completed', 'failed']);
/** Money out moves a paid payment on; a review's resolution turns an unpaid verdict into completed. */
const MONEY_OUT = new Set<string>([PaymentStatus.PartiallyRefunded, PaymentStatus.Refunded, PaymentStatus.Reversed]);
export const QUEUE_NAMES = ['payments', 'payouts', 'notifications', 'treasury', 'alerts', 'privacy', 'reconciliation'];

/** A read of the simulator's records; retried a few times, since on a loaded box its Redis reads may time out (500). */
async function simGet<T>(apiUrl: string, path: string): Promise<{ status: number; body: T | undefined }> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${apiUrl}/simulator/control${path}`, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    if (res.status < 500 || attempt === 5) return { status: res.status, body: text ? (JSON.parse(text) as T) : undefined };
    await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
  }
}

async function inBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

const short = (id: string) => id.slice(0, 8);

export async function checkMoneyInvariants(ctx: InvariantContext): Promise<InvariantReport> {
  const failures: string[] = [];
  const q = async <R extends Record<string, any>>(sql: string, params: unknown[] = []) => (await ctx.pool.query<R>(sql, params)).rows;

  // 1. Left pending at most once.
  for (const r of await q(
    `SELECT entity_id, count(*)::int AS n, string_agg(action || '@' || id, ', ' ORDER BY id) AS events
       FROM audit_events
      WHERE entity_type = 'payment' AND before->>'status' = 'pending' AND after->>'status' IS DISTINCT FROM 'pending'
      GROUP BY entity_id HAVING count(*) > 1`,
  )) {
    failures.push(`payment ${r.entity_id} left pending ${r.n} times (audit events ${r.events})`);
  }

  // 2. Every recorded change allowed; verdicts change only by review; the trail ends at the row's status.
  const payments = await q<{ id: string; status: string; account_reference: string; idempotency_key: string | null; client_id: string }>(
    `SELECT id, status, account_reference, idempotency_key, client_id FROM payments`,
  );
  const rowStatus = new Map(payments.map((p) => [p.id, p.status]));
  const lastAudited = new Map<string, string>();
  for (const e of await q<{ id: string; entity_id: string; action: string; b: string; a: string; settled_by: string | null }>(
    `SELECT id, entity_id, action, before->>'status' AS b, after->>'status' AS a, after->>'settledBy' AS settled_by
       FROM audit_events
      WHERE entity_type = 'payment' AND after ? 'status'
      ORDER BY id`,
  )) {
    lastAudited.set(e.entity_id, e.a);
    if (!e.b || e.b === e.a) continue;
    const allowed = (ALLOWED_TRANSITIONS as Record<string, readonly string[]>)[e.b] ?? [];
    if (!allowed.includes(e.a))
      failures.push(`payment ${e.entity_id}: ${e.b} -> ${e.a} is not an allowed transition (${e.action}#${e.id})`);
    if ((UNPAID_VERDICTS as readonly string[]).includes(e.b) && e.settled_by !== SettledBy.Review) {
      failures.push(
        `payment ${e.entity_id}: M-Pesa's verdict ${e.b} became ${e.a} without a review (${e.action}#${e.id}, settledBy ${e.settled_by})`,
      );
    }
  }
  for (const [id, audited] of lastAudited) {
    const now = rowStatus.get(id);
    if (now !== undefined && now !== audited) failures.push(`payment ${id} is ${now} but its audit trail ends at ${audited}`);
  }

  // 3. Receipts.
  for (const r of await q(
    `SELECT mpesa_receipt_number AS receipt, string_agg(id::text, ', ') AS ids FROM payments
      WHERE mpesa_receipt_number IS NOT NULL GROUP BY 1 HAVING count(*) > 1`,
  )) {
    failures.push(`receipt ${r.receipt} is on several payments: ${r.ids}`);
  }
  for (const r of await q(
    `SELECT p.id, p.mpesa_receipt_number AS receipt, r.payment_id AS linked
       FROM payments p LEFT JOIN mpesa_receipts r ON r.receipt = p.mpesa_receipt_number
      WHERE p.mpesa_receipt_number IS NOT NULL AND (r.receipt IS NULL OR r.payment_id IS DISTINCT FROM p.id)`,
  )) {
    failures.push(
      `payment ${r.id} holds receipt ${r.receipt} but mpesa_receipts ${r.linked ? `links it to ${r.linked}` : 'has no row for it'}`,
    );
  }
  for (const r of await q(
    `SELECT r.receipt, r.payment_id, p.mpesa_receipt_number AS held
       FROM mpesa_receipts r LEFT JOIN payments p ON p.id = r.payment_id
      WHERE r.payment_id IS NOT NULL AND p.mpesa_receipt_number IS DISTINCT FROM r.receipt
        -- Evidence that contradicts the payment's verdict or receipt is kept and handed to a person
        -- (docs/outcome-model.md): the receipt stays linked to the payment under a review.
        AND NOT EXISTS (SELECT 1 FROM reviews v WHERE v.entity_id::text = r.payment_id::text)`,
  )) {
    failures.push(`mpesa_receipts ${r.receipt} links payment ${r.payment_id}, which holds ${r.held ?? 'no receipt'} and has no review`);
  }

  // 4. Final states between two checks.
  const payouts = await q<{
    id: string;
    payment_id: string | null;
    status: string;
    originator_conversation_id: string;
    review_reason: string | null;
  }>(`SELECT id, payment_id, status, originator_conversation_id, review_reason FROM payouts`);
  if (ctx.previous) {
    for (const [id, before] of ctx.previous.payments) {
      const now = rowStatus.get(id);
      if (now === undefined) failures.push(`payment ${id} (${before} at the last check) is gone`);
      else if (now !== before) {
        const was = before as PaymentStatus;
        const byMoneyOut = (was === PaymentStatus.Completed || was === PaymentStatus.PartiallyRefunded) && MONEY_OUT.has(now);
        const fromPendingOrExpired = was === PaymentStatus.Pending || was === PaymentStatus.Expired;
        // A review's resolution (checked against its audit event in 2.).
        const byReview = (UNPAID_VERDICTS as readonly string[]).includes(before) && (now as PaymentStatus) === PaymentStatus.Completed;
        if (!byMoneyOut && !fromPendingOrExpired && !byReview) failures.push(`payment ${id} changed from final ${before} to ${now}`);
      }
    }
    for (const [id, before] of ctx.previous.payouts) {
      const now = payouts.find((p) => p.id === id)?.status;
      if (FINAL_PAYOUT.has(before) && now !== before) failures.push(`payout ${id} changed from final ${before} to ${now ?? '(gone)'}`);
    }
  }

  // 5. Pushes: one payment per Idempotency-Key, one push per payment and per key, none without a payment row.
  for (const r of await q(
    `SELECT client_id, idempotency_key, string_agg(id::text, ', ') AS ids FROM payments
      WHERE idempotency_key IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1`,
  )) {
    failures.push(`Idempotency-Key ${r.idempotency_key} of ${r.client_id} made several payments: ${r.ids}`);
  }
  const byReference = new Map(payments.map((p) => [p.account_reference, p]));
  const phones = [...new Set(ctx.tracked.map((t) => t.phone))];
  let pushesSeen = 0;
  const pushesByPhone = new Map<string, { accountReference: string; checkoutRequestId: string }[]>();
  await inBatches(phones, 16, async (phone) => {
    const res = await simGet<{ items: { accountReference: string; checkoutRequestId: string }[] }>(ctx.apiUrl, `/stk?phone=${phone}`);
    if (res.status !== 200 || !res.body) throw new Error(`GET /simulator/control/stk?phone=${phone}: ${res.status}`);
    pushesByPhone.set(phone, res.body.items);
  });
  for (const [phone, pushes] of pushesByPhone) {
    pushesSeen += pushes.length;
    const perReference = new Map<string, string[]>();
    for (const push of pushes)
      perReference.set(push.accountReference, [...(perReference.get(push.accountReference) ?? []), push.checkoutRequestId]);
    for (const [reference, ids] of perReference) {
      const payment = byReference.get(reference);
      if (!payment)
        failures.push(`Daraja received a push to ${phone} for AccountReference ${reference} that no payment row holds (${ids.join(', ')})`);
      if (ids.length > 1)
        failures.push(`payment ${payment?.id ?? reference} was pushed ${ids.length} times to ${phone}: ${ids.join(', ')}`);
    }
  }
  const keys = new Map<string, Set<string>>();
  for (const t of ctx.tracked) {
    if (t.idempotencyKey)
      keys.set(`${t.clientId}|${t.idempotencyKey}`, (keys.get(`${t.clientId}|${t.idempotencyKey}`) ?? new Set()).add(t.phone));
  }
  for (const [key, keyPhones] of keys) {
    const pushes = [...keyPhones].reduce((n, phone) => n + (pushesByPhone.get(phone)?.length ?? 0), 0);
    if (pushes > 1) failures.push(`Idempotency-Key ${key.split('|')[1]} led to ${pushes} pushes`);
  }

  // 6. Money out: per payout at most one paid B2C; no paid B2C without a payout; completed means paid.
  const payoutByOcid = new Map(payouts.map((p) => [p.originator_conversation_id, p]));
  const phoneOfPayment = new Map(ctx.tracked.filter((t) => t.paymentId).map((t) => [t.paymentId as string, t.phone]));
  const payoutPhones = [
    ...new Set(payouts.map((p) => (p.payment_id ? phoneOfPayment.get(p.payment_id) : undefined)).filter((x): x is string => !!x)),
  ];
  let paidB2c = 0;
  const paidPerPayout = new Map<string, number>();
  await inBatches(payoutPhones, 16, async (phone) => {
    const res = await simGet<{ items: { originatorConversationId: string; paid: boolean; amount: number }[] }>(
      ctx.apiUrl,
      `/b2c?phone=${phone}`,
    );
    if (res.status !== 200 || !res.body) throw new Error(`GET /simulator/control/b2c?phone=${phone}: ${res.status}`);
    for (const item of res.body.items.filter((i) => i.paid)) {
      paidB2c += 1;
      const payout = payoutByOcid.get(item.originatorConversationId);
      if (!payout) failures.push(`Daraja paid KES ${item.amount} to ${phone} (B2C ${item.originatorConversationId}) for no payout row`);
      else paidPerPayout.set(payout.id, (paidPerPayout.get(payout.id) ?? 0) + 1);
    }
  });
  for (const [id, n] of paidPerPayout) if (n > 1) failures.push(`payout ${id} was paid ${n} times by Daraja`);
  if (ctx.simulatorMemory !== false) {
    for (const p of payouts) {
      const phone = p.payment_id ? phoneOfPayment.get(p.payment_id) : undefined;
      if (p.status === 'completed' && phone && !paidPerPayout.get(p.id))
        failures.push(`payout ${p.id} is completed but Daraja never paid it`);
    }
  }

  // 7. Nothing in flight once healthy.
  if (ctx.settled) failures.push(...(await inFlight(ctx.pool, ctx.settled.redisUrl, ctx.settled.redisKeyPrefix)));

  const byStatus: Record<string, number> = {};
  for (const p of payments) byStatus[p.status] = (byStatus[p.status] ?? 0) + 1;
  return {
    failures,
    snapshot: { payments: rowStatus, payouts: new Map(payouts.map((p) => [p.id, p.status])) },
    counts: { payments: payments.length, byStatus, payouts: payouts.length, pushesSeen, paidB2c },
  };
}

/** What is still in flight: pending payments, payouts without a final status or a review, outbox rows, active jobs. */
export async function inFlight(pool: Pool, redisUrl: string, redisKeyPrefix: string): Promise<string[]> {
  const out: string[] = [];
  const pending = await pool.query(`SELECT id, created_at FROM payments WHERE status = 'pending' ORDER BY created_at LIMIT 5`);
  const pendingCount = (await pool.query(`SELECT count(*)::int AS n FROM payments WHERE status = 'pending'`)).rows[0].n;
  if (pendingCount > 0) {
    out.push(
      `${pendingCount} payment(s) still pending, e.g. ${pending.rows.map((r) => `${r.id} (since ${r.created_at.toISOString()})`).join(', ')}`,
    );
  }
  const payouts = await pool.query(
    `SELECT id, status FROM payouts WHERE status NOT IN ('completed', 'failed') AND review_reason IS NULL ORDER BY created_at LIMIT 5`,
  );
  if (payouts.rowCount) out.push(`payout(s) in flight without a review: ${payouts.rows.map((r) => `${r.id} (${r.status})`).join(', ')}`);
  const outbox = await pool.query(`SELECT count(*)::int AS n, min(event) AS event FROM notifications WHERE status = 'pending'`);
  if (outbox.rows[0].n > 0) out.push(`${outbox.rows[0].n} outbox row(s) still pending (e.g. ${outbox.rows[0].event})`);
  const stuck = (await activeJobs(redisUrl, redisKeyPrefix)).filter((j) => j.activeMs > STUCK_JOB_MS).map((j) => j.label);
  if (stuck.length > 0) out.push(`${stuck.length} job(s) active for over ${STUCK_JOB_MS} ms: ${stuck.slice(0, 5).join(', ')}`);
  return out;
}

/**
 * A job active for longer than this is stuck: a worker holds a job's lock for 5 s and renews it while working, and the
 * sweeps that run every second finish in well under that. A sweep caught mid-run is not "in flight".
 */
export const STUCK_JOB_MS = 5_000;

/** Every active BullMQ job of the fleet, `queue/name#id (for N ms)`, with how long it has been active. */
export async function activeJobs(redisUrl: string, redisKeyPrefix: string): Promise<{ label: string; activeMs: number }[]> {
  const out: { label: string; activeMs: number }[] = [];
  for (const name of QUEUE_NAMES) {
    const queue = new Queue(name, { connection: { url: redisUrl, maxRetriesPerRequest: 1 }, prefix: `${redisKeyPrefix}:bull` });
    try {
      for (const job of await queue.getJobs(['active'])) {
        if (!job) continue;
        const activeMs = Date.now() - (job.processedOn ?? Date.now());
        out.push({ label: `${name}/${job.name}#${short(job.id ?? '?')} (for ${activeMs} ms)`, activeMs });
      }
    } finally {
      await queue.close();
    }
  }
  return out;
}

/** Fails the test with every broken rule, one per line. */
export function expectInvariants(report: InvariantReport, when = ''): void {
  if (report.failures.length === 0) return;
  const shown = report.failures.slice(0, 40);
  const more = report.failures.length > shown.length ? `\n  ... and ${report.failures.length - shown.length} more` : '';
  throw new Error(`money invariants broken${when ? ` ${when}` : ''} (${report.failures.length}):\n  ${shown.join('\n  ')}${more}`);
}
