import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { DarajaCallRecord } from '../mpesa/daraja.types';

/** Why a request failed authentication (JwtAuthGuard); `forbidden` is an authenticated user with the wrong role. */
export type AuthFailureReason = 'missing_token' | 'invalid_token' | 'expired_token' | 'invalid_claims' | 'forbidden';

/** Daraja answers in tens of milliseconds to tens of seconds; our client gives up at MPESA_HTTP_TIMEOUT_MS (30 s). */
const DARAJA_LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 10, 15, 20, 30];
/** A customer answers the prompt in seconds; Daraja gives up on them after about a minute; late callbacks come later. */
const CALLBACK_LAG_BUCKETS = [1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600];

/**
 * The service's Prometheus registry and the events it counts. Counters and histograms are per process: every api
 * and worker replica counts what it did itself and Prometheus sums them (`sum by (...) (rate(...))`), so a replica's
 * restart only resets its own share. Gauges read from the database and Redis (DatabaseMetrics, QueueMetrics) are
 * the same whichever process is scraped.
 *
 * Labels are low-cardinality by construction: API names, outcomes, kinds and reasons from fixed sets. Never a
 * phone number, a payment id or a receipt.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly darajaCalls = new Counter({
    name: 'legalpro_daraja_calls_total',
    help: 'Daraja HTTP calls by API and outcome (ok, daraja_error, network_error, timeout), OAuth token fetches included',
    labelNames: ['api', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly darajaDuration = new Histogram({
    name: 'legalpro_daraja_call_duration_seconds',
    help: 'Duration of Daraja HTTP calls by API, whatever their outcome',
    labelNames: ['api'] as const,
    buckets: DARAJA_LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly darajaSystemErrors = new Counter({
    name: 'legalpro_daraja_system_errors_total',
    help: 'Daraja calls that timed out, could not connect or were answered with HTTP 5xx (the spec\'s "system errors")',
    labelNames: ['api'] as const,
    registers: [this.registry],
  });

  private readonly oauthFetches = new Counter({
    name: 'legalpro_daraja_oauth_token_fetches_total',
    help: 'OAuth access tokens fetched from Daraja (the shared Redis cache missed or was due for refresh), by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly callbacksReceived = new Counter({
    name: 'legalpro_callbacks_received_total',
    help: 'Callbacks posted to us by Daraja (or anyone), by kind, whatever became of them',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  private readonly callbacksDuplicated = new Counter({
    name: 'legalpro_callbacks_duplicated_total',
    help: 'Authentic callbacks that changed nothing because their result had already been applied',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  private readonly callbacksRejected = new Counter({
    name: 'legalpro_callbacks_rejected_total',
    help: 'Callbacks refused and not applied, by kind and reason (ip, token, malformed, unknown, mismatch)',
    labelNames: ['kind', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly settlements = new Counter({
    name: 'legalpro_payment_settlements_total',
    help: 'Payments leaving pending, by what settled them (callback, status_query, timeout, push_rejected) and the status reached',
    labelNames: ['settled_by', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly incomingPayments = new Counter({
    name: 'legalpro_incoming_payments_total',
    help: 'Money that arrived without our ids (C2B confirmation, Pull, statement), by source and what it became (created, attached, receipt_recorded, duplicate, flagged)',
    labelNames: ['source', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly callbackLag = new Histogram({
    name: 'legalpro_stk_callback_lag_seconds',
    help: 'Time from the STK push (payment initiated_at) to the callback that settled the payment',
    buckets: CALLBACK_LAG_BUCKETS,
    registers: [this.registry],
  });

  private readonly authFailures = new Counter({
    name: 'legalpro_auth_failures_total',
    help: 'Requests refused by the JWT guard, by reason (forbidden: authenticated, wrong role)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  private readonly jobsFailed = new Counter({
    name: 'legalpro_queue_jobs_failed_total',
    help: 'BullMQ job attempts that threw in this process, by queue and job name; final="true" when no retry is left',
    labelNames: ['queue', 'job', 'final'] as const,
    registers: [this.registry],
  });

  private readonly collectErrors = new Counter({
    name: 'legalpro_metrics_collect_errors_total',
    help: 'Gauge families whose database or queue figures could not be read at scrape time (left out of that scrape)',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  constructor() {
    // Unprefixed (process_*, nodejs_*) so that the usual Node.js dashboards work unchanged.
    collectDefaultMetrics({ register: this.registry });
  }

  darajaCall(call: Pick<DarajaCallRecord, 'api' | 'outcome' | 'durationMs' | 'statusCode'>): void {
    this.darajaCalls.inc({ api: call.api, outcome: call.outcome });
    this.darajaDuration.observe({ api: call.api }, call.durationMs / 1000);
    if (call.api === 'OAUTH') this.oauthFetches.inc({ outcome: call.outcome });
    if (call.outcome === 'timeout' || call.outcome === 'network_error' || (call.statusCode ?? 0) >= 500) {
      this.darajaSystemErrors.inc({ api: call.api });
    }
  }

  /**
   * One callback, once its handling is over. `outcome` is what the handler logged in transaction_logs: `duplicate`
   * (authentic, already applied: nothing changed) and `rejected_<reason>` are counted as such.
   */
  callbackHandled(kind: string, outcome: string): void {
    this.callbacksReceived.inc({ kind });
    if (outcome === 'duplicate') this.callbacksDuplicated.inc({ kind });
    else if (outcome.startsWith('rejected')) this.callbacksRejected.inc({ kind, reason: outcome.replace(/^rejected_?/, '') || 'other' });
  }

  /** A payment left `pending` (the guarded UPDATE changed the row). */
  paymentSettled(settledBy: string, outcome: string, initiatedAt: Date): void {
    this.settlements.inc({ settled_by: settledBy, outcome });
    if (settledBy === 'callback') this.callbackLag.observe(Math.max(0, (Date.now() - initiatedAt.getTime()) / 1000));
  }

  /** One incoming transaction placed (src/payments/incoming-payments.service.ts). */
  incomingPayment(source: string, outcome: string): void {
    this.incomingPayments.inc({ source, outcome });
  }

  authFailure(reason: AuthFailureReason): void {
    this.authFailures.inc({ reason });
  }

  jobFailed(queue: string, job: string, final: boolean): void {
    this.jobsFailed.inc({ queue, job, final: String(final) });
  }

  collectFailed(source: 'database' | 'queues'): void {
    this.collectErrors.inc({ source });
  }
}
