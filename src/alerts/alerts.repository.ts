import { Injectable } from '@nestjs/common';
import type { AlertSettings } from '../config/configuration';
import { Database, Tx } from '../database/database';
import { raw, sql } from '../database/sql';
import { DARAJA_APIS } from '../mpesa/daraja.types';
import { AlertFinding, AlertMeasurements, AlertRule } from './alert-rules';

export interface EpisodeRow {
  id: string;
  rule: AlertRule;
  summary: string;
  threshold: number;
  openingValue: number;
  peakValue: number;
  lastValue: number;
  openedAt: Date;
  lastEvaluatedAt: Date;
  resolvedAt: Date | null;
}

const EPISODE_COLUMNS = raw(`id, rule, summary, threshold, opening_value AS "openingValue", peak_value AS "peakValue",
  last_value AS "lastValue", opened_at AS "openedAt", last_evaluated_at AS "lastEvaluatedAt", resolved_at AS "resolvedAt"`);

/** The only writer of `alert_episodes`; its measurements read the other tables. */
@Injectable()
export class AlertsRepository {
  constructor(private readonly db: Database) {}

  /**
   * Every rule's input in one statement. Each subquery is bounded by a created_at window on an indexed column
   * (ix_payments_created_analytics, ix_txlog_type_created, ix_audit_action_created), or reads open reviews only
   * (ix_reviews_open), so an evaluation stays cheap on millions of rows.
   */
  async measure(s: AlertSettings): Promise<AlertMeasurements> {
    const row = (await this.db.one<Record<string, number>>(
      sql`WITH w AS (SELECT now() - make_interval(secs => ${s.windowSeconds}) AS since, now() - make_interval(secs => ${s.callbackSilenceSeconds}) AS silent_since)
       SELECT
         (SELECT count(*) FROM payments p, w WHERE p.created_at >= w.since AND p.status <> 'pending')::int AS settled,
         (SELECT count(*) FROM payments p, w WHERE p.created_at >= w.since AND p.status IN ('failed', 'timeout', 'expired'))::int AS failed,
         t.calls, t.average_ms, t.system_errors,
         (SELECT count(*) FROM audit_events a, w WHERE a.action = 'auth.failed' AND a.created_at >= w.since)::int AS auth_failures,
         (SELECT count(*) FROM payments p, w
           WHERE p.created_at >= w.since AND p.initiated_at < w.silent_since
             AND p.checkout_request_id IS NOT NULL AND NOT p.callback_received)::int AS awaiting_callback,
         (SELECT count(*) FROM transaction_logs l, w
           WHERE l.transaction_type = 'STK_CALLBACK' AND l.created_at >= w.silent_since AND l.status_code < 300)::int AS recent_callbacks,
         (SELECT count(*) FROM reviews r
           WHERE r.status = 'open' AND r.opened_at < now() - make_interval(mins => ${s.reviewOpenMinutes}))::int AS reviews_waiting,
         (SELECT count(*) FROM reviews r WHERE r.status = 'open' AND r.entity_type = 'reconciliation_item')::int AS reconciliation_open,
         (SELECT count(*) FROM webhook_endpoints e WHERE NOT e.enabled AND e.disabled_reason = 'failing')::int AS webhook_endpoints_disabled
       FROM w,
         LATERAL (SELECT count(*)::int AS calls, avg(l.duration)::float8 AS average_ms,
                         (count(*) FILTER (WHERE l.outcome IN ('network_error', 'timeout') OR l.status_code >= 500))::int AS system_errors
                    FROM transaction_logs l
                   -- Our outbound calls only: callbacks are logged under other transaction types.
                   WHERE l.transaction_type = ANY(${DARAJA_APIS}) AND l.created_at >= w.since) t`,
    )) as Record<string, number>;
    return {
      settledPayments: row.settled,
      failedPayments: row.failed,
      darajaCalls: row.calls,
      darajaAverageMs: row.average_ms,
      authenticationFailures: row.auth_failures,
      darajaSystemErrors: row.system_errors,
      pushesAwaitingCallback: row.awaiting_callback,
      recentStkCallbacks: row.recent_callbacks,
      reviewsWaiting: row.reviews_waiting,
      reconciliationDifferences: row.reconciliation_open,
      webhookEndpointsDisabled: row.webhook_endpoints_disabled,
    };
  }

  /** Opens an episode unless one is open for the rule; only the caller that opened it gets a row back. */
  async openEpisode(tx: Tx, finding: AlertFinding): Promise<EpisodeRow | undefined> {
    const row = await this.db.one<EpisodeRow>(
      sql`INSERT INTO alert_episodes (rule, summary, threshold, opening_value, peak_value, last_value)
          VALUES (${finding.rule}, ${finding.summary}, ${finding.threshold}, ${finding.value}, ${finding.value}, ${finding.value})
          ON CONFLICT (rule) WHERE resolved_at IS NULL DO NOTHING
          RETURNING ${EPISODE_COLUMNS}`,
      tx,
    );
    return row ?? undefined;
  }

  /** Keeps the open episode's figures current; no notification. */
  async touchOpenEpisode(finding: AlertFinding): Promise<void> {
    await this.db.query(
      sql`UPDATE alert_episodes SET last_value = ${finding.value}, peak_value = GREATEST(peak_value, ${finding.value}), summary = ${finding.summary},
                 last_evaluated_at = now()
           WHERE rule = ${finding.rule} AND resolved_at IS NULL`,
    );
  }

  /** Closes the rule's open episode; only the caller that closed it gets a row back. */
  async resolveEpisode(tx: Tx, finding: AlertFinding): Promise<EpisodeRow | undefined> {
    const row = await this.db.one<EpisodeRow>(
      sql`UPDATE alert_episodes SET resolved_at = now(), last_value = ${finding.value}, last_evaluated_at = now()
           WHERE rule = ${finding.rule} AND resolved_at IS NULL
          RETURNING ${EPISODE_COLUMNS}`,
      tx,
    );
    return row ?? undefined;
  }

  async listEpisodes(options: { openOnly: boolean; limit: number }): Promise<EpisodeRow[]> {
    return this.db.query<EpisodeRow>(
      sql`SELECT ${EPISODE_COLUMNS} FROM alert_episodes
           WHERE (${options.openOnly}::boolean IS FALSE OR resolved_at IS NULL)
           ORDER BY opened_at DESC LIMIT ${options.limit}`,
    );
  }
}
