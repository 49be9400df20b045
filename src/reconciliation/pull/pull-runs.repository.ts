import { Injectable } from '@nestjs/common';
import { Database, Tx } from '../../database/database';
import { json, raw, sql } from '../../database/sql';
import type { PullOutcome, PullPageRecord } from './pull-pager';

export type PullRunTrigger = 'scheduled' | 'manual' | 'daily';
export type PullRunStatus = 'running' | PullOutcome;

export interface PullRun {
  id: string;
  trigger: PullRunTrigger;
  shortCode: string;
  windowStart: Date;
  windowEnd: Date;
  status: PullRunStatus;
  pages: number;
  /** Distinct transactions Pull listed in the window. */
  transactionsSeen: number;
  /** Of those, receipts the service already knew. */
  alreadyKnown: number;
  /** Receipts handed to IncomingPayments (unknown here when the run read them). */
  ingested: number;
  /** Of those, now held by a payment (created, attached to an STK payment, or its receipt recorded). */
  recovered: number;
  /** Of those, put to a person by the payments module (a possible match, another amount). */
  flagged: number;
  unreadable: number;
  offsetReading: 'page' | 'row' | null;
  responseCodes: PullPageRecord[];
  errors: string[];
  recoveredReceipts: { receipt: string; outcome: string; paymentId: string | null }[];
  /** For an ambiguous run: money-in payments the service itself recorded in the window (not zero: Pull is not set up). */
  paymentsRecordedInWindow: number | null;
  note: string | null;
  requestedBy: string;
  startedAt: Date;
  finishedAt: Date | null;
}

export interface PullRunResult {
  status: PullOutcome;
  pages: PullPageRecord[];
  transactionsSeen: number;
  alreadyKnown: number;
  ingested: number;
  recovered: number;
  flagged: number;
  unreadable: number;
  offsetReading: 'page' | 'row' | null;
  errors: string[];
  recoveredReceipts: PullRun['recoveredReceipts'];
  paymentsRecordedInWindow: number | null;
  note: string | null;
}

const COLUMNS = raw(`id, trigger, short_code AS "shortCode", window_start AS "windowStart", window_end AS "windowEnd", status, pages,
  transactions_seen AS "transactionsSeen", already_known AS "alreadyKnown", ingested, recovered, flagged, unreadable,
  offset_reading AS "offsetReading", response_codes AS "responseCodes", errors, recovered_receipts AS "recoveredReceipts",
  payments_recorded_in_window AS "paymentsRecordedInWindow", note, requested_by AS "requestedBy", started_at AS "startedAt",
  finished_at AS "finishedAt"`);

/** A run whose process died never finishes by itself: past this it is closed as failed by the next run. */
const ABANDONED_AFTER_MINUTES = 60;

/** The only writer of `pull_runs`. A run leaves `running` once (a guarded UPDATE). */
@Injectable()
export class PullRunsRepository {
  constructor(private readonly db: Database) {}

  async start(run: {
    trigger: PullRunTrigger;
    shortCode: string;
    windowStart: Date;
    windowEnd: Date;
    requestedBy: string;
  }): Promise<PullRun> {
    const row = await this.db.one<PullRun>(
      sql`INSERT INTO pull_runs (trigger, short_code, window_start, window_end, requested_by)
          VALUES (${run.trigger}, ${run.shortCode}, ${run.windowStart}, ${run.windowEnd}, ${run.requestedBy.slice(0, 64)})
          RETURNING ${COLUMNS}`,
    );
    return row as PullRun;
  }

  /** Records the outcome in `tx` (with its audit event); undefined when the run had already finished. */
  async finish(tx: Tx, id: string, r: PullRunResult): Promise<PullRun | undefined> {
    const row = await this.db.one<PullRun>(
      sql`UPDATE pull_runs SET status = ${r.status}, pages = ${r.pages.length}, transactions_seen = ${r.transactionsSeen},
                 already_known = ${r.alreadyKnown}, ingested = ${r.ingested}, recovered = ${r.recovered}, flagged = ${r.flagged},
                 unreadable = ${r.unreadable}, offset_reading = ${r.offsetReading}, response_codes = ${json(r.pages)}::jsonb,
                 errors = ${json(r.errors)}::jsonb, recovered_receipts = ${json(r.recoveredReceipts)}::jsonb,
                 payments_recorded_in_window = ${r.paymentsRecordedInWindow}, note = ${r.note}, finished_at = now()
           WHERE id = ${id} AND status = 'running'
          RETURNING ${COLUMNS}`,
      tx,
    );
    return row ?? undefined;
  }

  /** Closes runs whose process stopped mid-run; returns how many. */
  async closeAbandoned(): Promise<number> {
    const rows = await this.db.query(
      sql`UPDATE pull_runs SET status = 'failed', finished_at = now(),
                 errors = errors || '["Abandoned: the process running it stopped before it finished"]'::jsonb
           WHERE status = 'running' AND started_at < now() - make_interval(mins => ${ABANDONED_AFTER_MINUTES})
          RETURNING id`,
    );
    return rows.length;
  }

  /** Where the last complete run's window ended: the next window starts no later than that. */
  async lastSucceededEnd(shortCode: string): Promise<Date | null> {
    const row = await this.db.one<{ end: Date | null }>(
      sql`SELECT max(window_end) AS "end" FROM pull_runs WHERE status = 'succeeded' AND short_code = ${shortCode} AND trigger <> 'daily'`,
    );
    return row?.end ?? null;
  }

  findById(id: string): Promise<PullRun | null> {
    return this.db.one<PullRun>(sql`SELECT ${COLUMNS} FROM pull_runs WHERE id = ${id}`);
  }

  async list(filter: { status?: PullRunStatus; page: number; limit: number }): Promise<[PullRun[], number]> {
    const where = sql`(${filter.status ?? null}::varchar IS NULL OR status = ${filter.status ?? null})`;
    const items = await this.db.query<PullRun>(
      sql`SELECT ${COLUMNS} FROM pull_runs WHERE ${where}
           ORDER BY started_at DESC, id DESC LIMIT ${filter.limit} OFFSET ${(filter.page - 1) * filter.limit}`,
    );
    const total = await this.db.one<{ n: number }>(sql`SELECT count(*)::int AS n FROM pull_runs WHERE ${where}`);
    return [items, total?.n ?? 0];
  }
}
