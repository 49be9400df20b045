import { Injectable } from '@nestjs/common';
import { InjectEntityManager } from '@nestjs/typeorm';
import { EntityManager } from 'typeorm';
import type { AlertSettings } from '../config/configuration';
import { queryRows } from '../database/query-rows';
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

@Injectable()
export class AlertsRepository {
  constructor(@InjectEntityManager() private readonly manager: EntityManager) {}

  /**
   * Every rule's input in one statement. Each subquery is bounded by a created_at window on an indexed column
   * (ix_payments_created_analytics, ix_txlog_type_created, ix_audit_action_created), so an evaluation stays cheap on
   * millions of rows.
   */
  async measure(s: AlertSettings): Promise<AlertMeasurements> {
    const [row] = await this.manager.query(
      `WITH w AS (SELECT now() - make_interval(secs => $1) AS since, now() - make_interval(secs => $2) AS silent_since)
       SELECT
         (SELECT count(*) FROM payments p, w WHERE p.created_at >= w.since AND p.status <> 'pending')::int AS settled,
         (SELECT count(*) FROM payments p, w WHERE p.created_at >= w.since AND p.status IN ('failed', 'timeout'))::int AS failed,
         t.calls, t.average_ms, t.system_errors,
         (SELECT count(*) FROM audit_events a, w WHERE a.action = 'auth.failed' AND a.created_at >= w.since)::int AS auth_failures,
         (SELECT count(*) FROM payments p, w
           WHERE p.created_at >= w.since AND p.initiated_at < w.silent_since
             AND p.checkout_request_id IS NOT NULL AND NOT p.callback_received)::int AS awaiting_callback,
         (SELECT count(*) FROM transaction_logs l, w
           WHERE l.transaction_type = 'STK_CALLBACK' AND l.created_at >= w.silent_since AND l.status_code < 300)::int AS recent_callbacks
       FROM w,
         LATERAL (SELECT count(*)::int AS calls, avg(l.duration)::float8 AS average_ms,
                         (count(*) FILTER (WHERE l.outcome IN ('network_error', 'timeout') OR l.status_code >= 500))::int AS system_errors
                    FROM transaction_logs l
                   WHERE l.transaction_type = ANY($3) AND l.created_at >= w.since) t`,
      // Our outbound calls only: callbacks are logged under other transaction types.
      [s.windowSeconds, s.callbackSilenceSeconds, DARAJA_APIS],
    );
    return {
      settledPayments: row.settled,
      failedPayments: row.failed,
      darajaCalls: row.calls,
      darajaAverageMs: row.average_ms,
      authenticationFailures: row.auth_failures,
      darajaSystemErrors: row.system_errors,
      pushesAwaitingCallback: row.awaiting_callback,
      recentStkCallbacks: row.recent_callbacks,
    };
  }

  /** Opens an episode unless one is open for the rule; only the caller that opened it gets a row back. */
  async openEpisode(manager: EntityManager, finding: AlertFinding): Promise<EpisodeRow | undefined> {
    const [row] = await queryRows<EpisodeRow>(
      manager,
      `INSERT INTO alert_episodes (rule, summary, threshold, opening_value, peak_value, last_value)
       VALUES ($1, $2, $3, $4, $4, $4)
       ON CONFLICT (rule) WHERE resolved_at IS NULL DO NOTHING
       RETURNING ${EPISODE_COLUMNS}`,
      [finding.rule, finding.summary, finding.threshold, finding.value],
    );
    return row;
  }

  /** Keeps the open episode's figures current; no notification. */
  async touchOpenEpisode(finding: AlertFinding): Promise<void> {
    await this.manager.query(
      `UPDATE alert_episodes SET last_value = $2, peak_value = GREATEST(peak_value, $2), summary = $3, last_evaluated_at = now()
        WHERE rule = $1 AND resolved_at IS NULL`,
      [finding.rule, finding.value, finding.summary],
    );
  }

  /** Closes the rule's open episode; only the caller that closed it gets a row back. */
  async resolveEpisode(manager: EntityManager, finding: AlertFinding): Promise<EpisodeRow | undefined> {
    const [row] = await queryRows<EpisodeRow>(
      manager,
      `UPDATE alert_episodes SET resolved_at = now(), last_value = $2, last_evaluated_at = now()
        WHERE rule = $1 AND resolved_at IS NULL
       RETURNING ${EPISODE_COLUMNS}`,
      [finding.rule, finding.value],
    );
    return row;
  }

  async listEpisodes(options: { openOnly: boolean; limit: number }): Promise<EpisodeRow[]> {
    return this.manager.query(
      `SELECT ${EPISODE_COLUMNS} FROM alert_episodes
        WHERE ($1::boolean IS FALSE OR resolved_at IS NULL)
        ORDER BY opened_at DESC LIMIT $2`,
      [options.openOnly, options.limit],
    );
  }

  async transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.manager.transaction(work);
  }
}

const EPISODE_COLUMNS = `id, rule, summary, threshold, opening_value AS "openingValue", peak_value AS "peakValue",
  last_value AS "lastValue", opened_at AS "openedAt", last_evaluated_at AS "lastEvaluatedAt", resolved_at AS "resolvedAt"`;
