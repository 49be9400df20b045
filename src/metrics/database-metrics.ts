import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { Gauge } from 'prom-client';
import { REDIS_CLIENT, RedisKeys } from '../common/redis/redis.module';
import { CachedSnapshot } from './cached-snapshot';
import { MetricsRepository, OpenReviewsRow, PaymentTotalsRow, PayoutTotalsRow } from './metrics.repository';
import { MetricsService } from './metrics.service';

/** Long enough that a scrape storm costs Postgres one query per table per period, short enough to look live. */
export const DATABASE_SNAPSHOT_TTL_MS = 5_000;

/**
 * Money that arrived and stayed (refunds are counted separately, not deducted); a reversed payment's money went
 * back. The same definition as analytics' revenue (src/payments/analytics/payment-analytics.sql.ts).
 */
const REVENUE_STATUSES = new Set(['completed', 'partially_refunded', 'refunded']);

/**
 * Business gauges computed at scrape time from Postgres, so every process reports the same, correct figures
 * however many replicas there are (aggregate them with max(), not sum()).
 */
@Injectable()
export class DatabaseMetrics {
  private readonly logger = new Logger(DatabaseMetrics.name);
  private readonly payments: CachedSnapshot<PaymentTotalsRow[]>;
  private readonly payouts: CachedSnapshot<PayoutTotalsRow[]>;
  private readonly reviews: CachedSnapshot<OpenReviewsRow[]>;

  constructor(
    private readonly metrics: MetricsService,
    repository: MetricsRepository,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    this.payments = new CachedSnapshot(DATABASE_SNAPSHOT_TTL_MS, () =>
      this.fleetShared('payments', () => repository.totalPaymentsByStatusAndType()),
    );
    this.payouts = new CachedSnapshot(DATABASE_SNAPSHOT_TTL_MS, () =>
      this.fleetShared('payouts', () => repository.totalPayoutsByStatusAndKind()),
    );
    this.reviews = new CachedSnapshot(DATABASE_SNAPSHOT_TTL_MS, () => this.fleetShared('reviews', () => repository.openReviewsByReason()));
    const registers = [metrics.registry];

    new Gauge({
      name: 'legalpro_payments',
      help: 'Payments in the database by status and payment_type',
      labelNames: ['status', 'payment_type'] as const,
      registers,
      collect: this.collector(this.payments, (gauge, rows) => {
        const byKey = new Map<string, { status: string; payment_type: string; count: number }>();
        for (const row of rows) {
          const key = `${row.status}\u0000${row.paymentType}`;
          const entry = byKey.get(key) ?? { status: row.status, payment_type: row.paymentType, count: 0 };
          entry.count += row.count;
          byKey.set(key, entry);
        }
        for (const { count, ...labels } of byKey.values()) gauge.set(labels, count);
      }),
    });
    // A family of its own, so that queries over legalpro_payments{status, payment_type} keep their meaning.
    new Gauge({
      name: 'legalpro_payments_by_channel',
      help: 'Payments in the database by channel (stk: we pushed a prompt; c2b: paid by Paybill or till from the phone) and status',
      labelNames: ['channel', 'status'] as const,
      registers,
      collect: this.collector(this.payments, (gauge, rows) => {
        const byKey = new Map<string, { channel: string; status: string; count: number }>();
        for (const row of rows) {
          const key = `${row.channel}\u0000${row.status}`;
          const entry = byKey.get(key) ?? { channel: row.channel, status: row.status, count: 0 };
          entry.count += row.count;
          byKey.set(key, entry);
        }
        for (const { count, ...labels } of byKey.values()) gauge.set(labels, count);
      }),
    });
    new Gauge({
      name: 'legalpro_revenue_by_channel_kes',
      help: 'legalpro_revenue_kes by channel (stk, c2b): completed payments (refunded ones included, reversed ones not), whole KES',
      labelNames: ['channel'] as const,
      registers,
      collect: this.collector(this.payments, (gauge, rows) => {
        const byChannel = new Map<string, number>();
        for (const row of rows) {
          if (REVENUE_STATUSES.has(row.status)) byChannel.set(row.channel, (byChannel.get(row.channel) ?? 0) + row.amount);
        }
        for (const [channel, amount] of byChannel) gauge.set({ channel }, amount);
      }),
    });
    new Gauge({
      name: 'legalpro_revenue_kes',
      help: 'Sum of the amounts of completed payments (partially or wholly refunded ones included, reversed ones not), whole KES, by payment_type',
      labelNames: ['payment_type'] as const,
      registers,
      collect: this.collector(this.payments, (gauge, rows) => {
        const byType = new Map<string, number>();
        for (const row of rows) {
          if (REVENUE_STATUSES.has(row.status)) byType.set(row.paymentType, (byType.get(row.paymentType) ?? 0) + row.amount);
        }
        for (const [paymentType, amount] of byType) gauge.set({ payment_type: paymentType }, amount);
      }),
    });
    new Gauge({
      name: 'legalpro_payouts',
      help: 'B2C payouts in the database by status and type (refund, disbursement)',
      labelNames: ['status', 'type'] as const,
      registers,
      collect: this.collector(this.payouts, (gauge, rows) => {
        for (const row of rows) gauge.set({ status: row.status, type: row.kind }, row.count);
      }),
    });
    new Gauge({
      name: 'legalpro_refunds_kes',
      help: 'Sum of the amounts of completed refund payouts, whole KES',
      registers,
      collect: this.collector(this.payouts, (gauge, rows) => {
        gauge.set(rows.filter((r) => r.kind === 'refund' && r.status === 'completed').reduce((sum, r) => sum + r.amount, 0));
      }),
    });
    new Gauge({
      name: 'legalpro_reviews_open',
      help: 'Reviews waiting for a person (src/reviews), by reason and record type',
      labelNames: ['reason', 'entity_type'] as const,
      registers,
      collect: this.collector(this.reviews, (gauge, rows) => {
        for (const row of rows) gauge.set({ reason: row.reason, entity_type: row.entityType }, row.count);
      }),
    });
  }

  /**
   * Prometheus scrapes every API replica and the worker: the aggregates (a scan of the table) are computed by one
   * of them per period and shared through Redis, not once per process. Redis down: computed here.
   */
  private async fleetShared<T>(name: string, load: () => Promise<T>): Promise<T> {
    const key = this.keys.key('metrics', 'snapshot', name);
    const cached = await this.redis.get(key).catch(() => null);
    if (cached) return JSON.parse(cached) as T;
    const value = await load();
    await this.redis.set(key, JSON.stringify(value), 'PX', DATABASE_SNAPSHOT_TTL_MS).catch(() => undefined);
    return value;
  }

  /**
   * A gauge's collect(): values from the shared snapshot, or none at all (and a counted error) when Postgres cannot
   * answer, so that a scrape still returns the process metrics and a stale figure is never shown as current.
   */
  private collector<T, L extends string>(snapshot: CachedSnapshot<T>, fill: (gauge: Gauge<L>, value: T) => void) {
    const metrics = this.metrics;
    const logger = this.logger;
    return async function (this: Gauge<L>): Promise<void> {
      this.reset();
      try {
        fill(this, await snapshot.get());
      } catch (error) {
        metrics.collectFailed('database');
        logger.warn(`Could not read database metrics: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
  }
}
