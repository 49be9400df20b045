// Test data and the few questions e2e tests keep asking of the app, the simulator and the database.
//
//   const client = newClient();
//   const res = await pushStk(client.token, stkPushBody());
//   const row = await waitForPaymentStatus(res.body.data.paymentId, 'completed');
import { randomInt, randomUUID } from 'node:crypto';
import type { FaultKind, SimulatedEndpoint } from '../../src/mpesa/simulator/simulator-faults';
import { stkSuccessCallback as successCallbackFixture } from '../fixtures/daraja';
import { api, ApiResponse, db, sim, tokenFor, uniquePhone, waitFor } from './app';

export type PaymentTypeValue = 'consultation_fee' | 'appointment_fee' | 'case_filing_fee' | 'other';
export const PAYMENT_TYPES: readonly PaymentTypeValue[] = ['consultation_fee', 'appointment_fee', 'case_filing_fee', 'other'];
export const TERMINAL_STATUSES = ['completed', 'failed', 'cancelled', 'timeout', 'expired'] as const;
export type PaymentStatusValue = 'pending' | (typeof TERMINAL_STATUSES)[number];

/** The simulator's scenario numbers (src/mpesa/simulator/simulator-scenarios.ts): one pending payment each. */
export const SCENARIO_PHONES = {
  success: '254708374149',
  insufficientFunds: '254700000001',
  cancelledByUser: '254700001032',
  wrongPin: '254700002001',
  noAnswer: '254700001037',
  duplicateCallbacks: '254700000002',
  lateCallback: '254700000003',
  callbackBeforeResponse: '254700000004',
  noCallback: '254700000005',
} as const;

export interface TestUser {
  id: string;
  role: 'client' | 'admin';
  token: string;
}

/** A client nobody else uses, so that its payments can be counted and listed without seeing other tests'. */
export function newClient(): TestUser {
  const id = `client-${randomUUID()}`;
  return { id, role: 'client', token: tokenFor({ sub: id, role: 'client' }) };
}

export function newAdmin(): TestUser {
  const id = `admin-${randomUUID()}`;
  return { id, role: 'admin', token: tokenFor({ sub: id, role: 'admin' }) };
}

/** A 2541XXXXXXXX number (Safaricom's newer range), unique in this file like `uniquePhone()`. */
export function uniquePhone2541(): string {
  return `2541${uniquePhone().slice(4)}`;
}

export interface StkPushBody {
  phoneNumber?: unknown;
  amount?: unknown;
  paymentType?: unknown;
  description?: unknown;
  accountReference?: unknown;
  appointmentId?: unknown;
  [field: string]: unknown;
}

/** A valid STK push request to a fresh success-scenario phone; `overrides` replace fields. */
export function stkPushBody(overrides: StkPushBody = {}): StkPushBody {
  return {
    phoneNumber: uniquePhone(),
    amount: 100,
    paymentType: 'consultation_fee',
    description: 'Consultation fee',
    ...overrides,
  };
}

/** The same body without `field` (for "missing field" cases). */
export function without(body: StkPushBody, field: string): StkPushBody {
  const { [field]: _omitted, ...rest } = body;
  return rest;
}

export interface PushOptions {
  idempotencyKey?: string;
  headers?: Record<string, string>;
}

export function pushStk(token: string | undefined, body: unknown, options: PushOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  return api('/api/payments/stk-push', { method: 'POST', token, body, headers });
}

export function paymentStatus(token: string, paymentId: string): Promise<ApiResponse> {
  return api(`/api/payments/${encodeURIComponent(paymentId)}/status`, { token });
}

export function listPayments(token: string, query: Record<string, string | number | undefined> = {}): Promise<ApiResponse> {
  return api('/api/payments', { token, query });
}

/** The payments row as stored (snake_case columns), or undefined. */
export async function paymentRow(paymentId: string): Promise<Record<string, any> | undefined> {
  const { rows } = await db().query('SELECT * FROM payments WHERE id = $1', [paymentId]);
  return rows[0];
}

/** The reviews opened on a payment, payout or reversal, oldest first (rows as stored). */
export async function reviewsOf(entityId: string): Promise<Record<string, any>[]> {
  const { rows } = await db().query('SELECT * FROM reviews WHERE entity_id = $1 ORDER BY opened_at, id', [entityId]);
  return rows;
}

export async function paymentRowsOf(clientId: string): Promise<Record<string, any>[]> {
  const { rows } = await db().query('SELECT * FROM payments WHERE client_id = $1 ORDER BY created_at', [clientId]);
  return rows;
}

export async function countPayments(): Promise<number> {
  const { rows } = await db().query('SELECT count(*)::int AS n FROM payments');
  return rows[0].n;
}

/** Waits until the payment is in `status` (or, with no status, in any terminal one) and returns its row. */
export async function waitForPaymentStatus(
  paymentId: string,
  status?: PaymentStatusValue,
  timeoutMs = 20_000,
): Promise<Record<string, any>> {
  return waitFor(
    async () => {
      const row = await paymentRow(paymentId);
      if (!row) return undefined;
      if (status ? row.status === status : row.status !== 'pending') return row;
      return undefined;
    },
    { timeoutMs, message: `payment ${paymentId} ${status ? `to be ${status}` : 'to settle'}` },
  );
}

/** Waits until none of these clients has a pending payment: tests leave nothing in flight behind them. */
export async function waitUntilSettled(clientIds: readonly string[], timeoutMs = 25_000): Promise<void> {
  if (clientIds.length === 0) return;
  await waitFor(
    async () => {
      const { rows } = await db().query(`SELECT count(*)::int AS n FROM payments WHERE client_id = ANY($1) AND status = 'pending'`, [
        clientIds,
      ]);
      return rows[0].n === 0;
    },
    { timeoutMs, message: `payments of ${clientIds.length} client(s) to settle` },
  );
}

/** Waits until the clients' payouts are completed or failed (or handed to a person): nothing left in flight. */
export async function waitUntilPayoutsSettled(clientIds: readonly string[], timeoutMs = 25_000): Promise<void> {
  await waitFor(
    async () => {
      const { rows } = await db().query(
        `SELECT count(*)::int AS n FROM payouts WHERE client_id = ANY($1) AND status NOT IN ('completed', 'failed') AND review_reason IS NULL`,
        [clientIds],
      );
      return rows[0].n === 0;
    },
    { timeoutMs, message: `payouts of ${clientIds.length} client(s) to settle` },
  );
}

export interface SimulatedPush {
  checkoutRequestId: string;
  merchantRequestId: string;
  callbackUrl: string;
  amount: number;
  phone: string;
  outcome: string;
  createdAt: string;
  accountReference: string;
  transactionDesc: string;
}

/** Every STK push the simulator received for `phone` (any format it accepts), oldest first. */
export async function simulatedPushesTo(phone: string): Promise<SimulatedPush[]> {
  const res = await sim<{ items: SimulatedPush[] }>('/stk', { query: { phone } });
  if (res.status !== 200) throw new Error(`GET /simulator/control/stk?phone=${phone}: ${res.status} ${res.text}`);
  return res.body.items;
}

export interface SimulatorStats {
  calls: { oauth: number; stkpush: number; stkquery: number };
  callbacks: { sent: number; failed: number };
}

export async function simulatorStats(): Promise<SimulatorStats> {
  return (await sim<SimulatorStats>('/stats')).body;
}

export type { FaultKind, SimulatedEndpoint } from '../../src/mpesa/simulator/simulator-faults';

/** Makes the next `count` requests to `endpoint` misbehave (see src/mpesa/simulator/simulator-faults.ts). */
export async function queueSimulatorFault(
  endpoint: SimulatedEndpoint,
  kind: FaultKind,
  options: { count?: number; delayMs?: number } = {},
): Promise<void> {
  const res = await sim('/faults', { method: 'POST', body: { endpoint, kind, ...options } });
  if (res.status !== 200) throw new Error(`POST /simulator/control/faults: ${res.status} ${res.text}`);
}

export async function auditEventsFor(entityId: string, action?: string): Promise<Record<string, any>[]> {
  const { rows } = await db().query(`SELECT * FROM audit_events WHERE entity_id = $1 AND ($2::text IS NULL OR action = $2) ORDER BY id`, [
    entityId,
    action ?? null,
  ]);
  return rows;
}

export async function auditEventsForRequest(requestId: string): Promise<Record<string, any>[]> {
  const { rows } = await db().query('SELECT * FROM audit_events WHERE request_id = $1 ORDER BY id', [requestId]);
  return rows;
}

/** Daraja calls and callbacks logged about a payment (`reference` is the payment id). */
export async function transactionLogsFor(paymentId: string, transactionType?: string): Promise<Record<string, any>[]> {
  const { rows } = await db().query(
    `SELECT * FROM transaction_logs WHERE reference = $1 AND ($2::text IS NULL OR transaction_type = $2) ORDER BY id`,
    [paymentId, transactionType ?? null],
  );
  return rows;
}

/** `2547****149`, the way the API shows a phone number. */
export function masked(msisdn: string): string {
  return `${msisdn.slice(0, 4)}****${msisdn.slice(-3)}`;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What the simulator stored for a push: everything a genuine callback says. */
export interface SimulatedTransaction {
  checkoutRequestId: string;
  merchantRequestId: string;
  callbackUrl: string;
  phone: string;
  amount: number;
  resultCode: number;
  resultDesc: string;
  receipt?: string;
  transactionDate?: string;
}

/** A success callback shaped like Safaricom's production capture (docs/daraja.md §3.1), from its fixture. */
export function stkSuccessCallback(t: SimulatedTransaction, overrides: { amount?: number } = {}) {
  return successCallbackFixture({
    merchantRequestId: t.merchantRequestId,
    checkoutRequestId: t.checkoutRequestId,
    amount: overrides.amount ?? t.amount,
    receipt: t.receipt,
    transactionDate: Number(t.transactionDate),
    phone: t.phone,
  });
}

/** An M-Pesa-looking receipt (10 upper-case letters and digits) for callbacks the simulator never sent. */
export function newReceipt(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return `T${Array.from({ length: 9 }, () => chars[randomInt(chars.length)]).join('')}`;
}

/**
 * POSTs to a callback URL the app gave Daraja, with its query parameters changed as asked (`null` removes one), to the
 * shared app or to `options.baseUrl`'s. A string or Buffer body is sent as it is (as JSON unless a content-type says).
 */
export function postCallback(
  callbackUrl: string,
  body: unknown,
  query: Record<string, string | null | undefined> = {},
  options: { baseUrl?: string; timeoutMs?: number } = {},
): Promise<ApiResponse> {
  const url = new URL(callbackUrl);
  for (const [name, value] of Object.entries(query)) {
    if (value === null) url.searchParams.delete(name);
    else if (value !== undefined) url.searchParams.set(name, value);
  }
  const headers = typeof body === 'string' || Buffer.isBuffer(body) ? { 'content-type': 'application/json' } : undefined;
  return api(`${url.pathname}${url.search}`, { method: 'POST', body, headers, ...options });
}

/** The simulator's record of the latest push to `phone` (receipt included), on the shared app or `baseUrl`'s. */
export async function latestSimulatedPush(phone: string, baseUrl?: string): Promise<SimulatedTransaction> {
  const list = await sim<{ items: SimulatedPush[] }>('/stk', { query: { phone }, baseUrl });
  const latest = list.body.items?.[list.body.items.length - 1];
  if (list.status !== 200 || !latest) throw new Error(`GET /simulator/control/stk?phone=${phone}: ${list.status} ${list.text}`);
  const res = await sim<SimulatedTransaction>(`/stk/${encodeURIComponent(latest.checkoutRequestId)}`, { baseUrl });
  if (res.status !== 200) throw new Error(`GET /simulator/control/stk/${latest.checkoutRequestId}: ${res.status} ${res.text}`);
  return res.body;
}
