import { Injectable } from '@nestjs/common';
import { Database, Tx } from '../../database/database';
import { json, raw, sql } from '../../database/sql';
import { ItemKind, RecordType } from './reconcile';

export type ReportKind = 'statement' | 'pull_daily';

export interface Report {
  id: string;
  kind: ReportKind;
  fingerprint: string;
  shortCode: string | null;
  periodStart: Date;
  periodEnd: Date;
  /** Where the period comes from: the statement's own `Time Period`, its rows' first and last times, or the day. */
  periodSource: 'statement' | 'rows' | 'day';
  /** The statement's layout (legacy export or newer template). */
  layout: string | null;
  pullRunId: string | null;
  rowsRead: number;
  counts: Record<string, number>;
  totals: Record<string, number>;
  notes: string[];
  createdBy: string;
  createdAt: Date;
}

export interface Item {
  id: string;
  reportId: string;
  kind: ItemKind;
  direction: 'in' | 'out';
  lineNo: number | null;
  receipt: string | null;
  amount: number | null;
  recordedAmount: number | null;
  occurredAt: Date | null;
  accountReference: string | null;
  party: string | null;
  transactionType: string | null;
  details: string | null;
  recordType: RecordType | null;
  recordId: string | null;
  recordStatus: string | null;
  reviewId: string | null;
  resolution: string | null;
  resolutionDetail: Record<string, unknown> | null;
  resolvedAt: Date | null;
  raw: Record<string, unknown> | null;
}

export type NewReport = Omit<Report, 'id' | 'createdAt'>;

/** What an item keeps that names a person: the party, the narration and (unexplained lines only) the raw row. */
export type ItemPersonalData = Pick<Item, 'id' | 'party' | 'details' | 'raw'>;
export type NewItem = Omit<Item, 'id' | 'reportId' | 'reviewId' | 'resolvedAt'>;

const REPORT_COLUMNS = raw(`id, kind, fingerprint, short_code AS "shortCode", period_start AS "periodStart", period_end AS "periodEnd",
  period_source AS "periodSource", layout, pull_run_id AS "pullRunId", rows_read AS "rowsRead", counts, totals, notes,
  created_by AS "createdBy", created_at AS "createdAt"`);

const ITEM_COLUMNS = raw(`id, report_id AS "reportId", kind, direction, line_no AS "lineNo", receipt, amount::float8 AS amount,
  recorded_amount::float8 AS "recordedAmount", occurred_at AS "occurredAt", account_reference AS "accountReference", party,
  transaction_type AS "transactionType", details, record_type AS "recordType", record_id AS "recordId",
  record_status AS "recordStatus", review_id AS "reviewId", resolution, resolution_detail AS "resolutionDetail",
  resolved_at AS "resolvedAt", raw`);

/** The only writer of `reconciliation_reports` and `reconciliation_items`. */
@Injectable()
export class ReportsRepository {
  constructor(private readonly db: Database) {}

  /** Inserts the report; null when a report with its fingerprint exists (the same statement, the same day). */
  insertReport(tx: Tx, report: NewReport): Promise<Report | null> {
    return this.db.one<Report>(
      sql`INSERT INTO reconciliation_reports (kind, fingerprint, short_code, period_start, period_end, period_source, layout,
                 pull_run_id, rows_read, counts, totals, notes, created_by)
          VALUES (${report.kind}, ${report.fingerprint}, ${report.shortCode}, ${report.periodStart}, ${report.periodEnd},
                 ${report.periodSource}, ${report.layout}, ${report.pullRunId}, ${report.rowsRead}, ${json(report.counts)}::jsonb,
                 ${json(report.totals)}::jsonb, ${json(report.notes)}::jsonb, ${report.createdBy.slice(0, 64)})
          ON CONFLICT (kind, fingerprint) DO NOTHING
          RETURNING ${REPORT_COLUMNS}`,
      tx,
    );
  }

  /** Inserts a report's items in one statement, in order; returns them with their ids. */
  async insertItems(tx: Tx, reportId: string, items: NewItem[]): Promise<Item[]> {
    if (!items.length) return [];
    const rows = items.map((i, ordinal) => ({
      ordinal,
      kind: i.kind,
      direction: i.direction,
      line_no: i.lineNo,
      receipt: i.receipt,
      amount: i.amount,
      recorded_amount: i.recordedAmount,
      occurred_at: i.occurredAt,
      account_reference: i.accountReference?.slice(0, 64) ?? null,
      party: i.party?.slice(0, 160) ?? null,
      transaction_type: i.transactionType?.slice(0, 128) ?? null,
      details: i.details,
      record_type: i.recordType,
      record_id: i.recordId,
      record_status: i.recordStatus,
      resolution: i.resolution,
      resolution_detail: i.resolutionDetail,
      raw: i.raw,
    }));
    return this.db.query<Item>(
      sql`INSERT INTO reconciliation_items (report_id, kind, direction, line_no, receipt, amount, recorded_amount, occurred_at,
                 account_reference, party, transaction_type, details, record_type, record_id, record_status, resolution,
                 resolution_detail, resolved_at, raw)
          SELECT ${reportId}, v.kind, v.direction, v.line_no, v.receipt, v.amount, v.recorded_amount, v.occurred_at, v.account_reference,
                 v.party, v.transaction_type, v.details, v.record_type, v.record_id, v.record_status, v.resolution, v.resolution_detail,
                 CASE WHEN v.resolution IS NULL THEN NULL ELSE now() END, v.raw
            FROM jsonb_to_recordset(${json(rows)}::jsonb) AS v(ordinal int, kind varchar, direction varchar, line_no int, receipt varchar,
                 amount numeric, recorded_amount numeric, occurred_at timestamptz, account_reference varchar, party varchar,
                 transaction_type varchar, details text, record_type varchar, record_id uuid, record_status varchar, resolution varchar,
                 resolution_detail jsonb, raw jsonb)
           ORDER BY v.ordinal
          RETURNING ${ITEM_COLUMNS}`,
      tx,
    );
  }

  /** Links the item to the review that puts it before a person. */
  async attachReview(tx: Tx, itemId: string, reviewId: string): Promise<void> {
    await this.db.query(sql`UPDATE reconciliation_items SET review_id = ${reviewId} WHERE id = ${itemId} AND review_id IS NULL`, tx);
  }

  /**
   * The review an earlier report opened for the same difference (same kind and receipt, or same record), if any: a
   * payment missing from two overlapping statements is one difference, not two.
   */
  async earlierReview(tx: Tx, kind: ItemKind, key: { receipt: string | null; recordId: string | null }): Promise<string | null> {
    const row = await this.db.one<{ reviewId: string }>(
      key.recordId && kind === ItemKind.MissingAtMpesa
        ? sql`SELECT review_id AS "reviewId" FROM reconciliation_items
               WHERE record_id = ${key.recordId} AND kind = ${kind} AND review_id IS NOT NULL ORDER BY resolved_at NULLS FIRST LIMIT 1`
        : sql`SELECT review_id AS "reviewId" FROM reconciliation_items
               WHERE receipt = ${key.receipt} AND kind = ${kind} AND review_id IS NOT NULL ORDER BY resolved_at NULLS FIRST LIMIT 1`,
      tx,
    );
    return row?.reviewId ?? null;
  }

  /** The item, locked until `tx` ends (its review is being decided). */
  lockItem(tx: Tx, id: string): Promise<Item | null> {
    return this.db.one<Item>(sql`SELECT ${ITEM_COLUMNS} FROM reconciliation_items WHERE id = ${id} FOR UPDATE`, tx);
  }

  /**
   * Records a person's decision on every item that shares the review (the same difference in several reports); a
   * guarded UPDATE: items already resolved stay as they are.
   */
  async resolveByReview(tx: Tx, reviewId: string, resolution: string, detail: Record<string, unknown>): Promise<number> {
    const rows = await this.db.query(
      sql`UPDATE reconciliation_items SET resolution = ${resolution}, resolution_detail = ${json(detail)}::jsonb, resolved_at = now()
           WHERE review_id = ${reviewId} AND resolved_at IS NULL RETURNING id`,
      tx,
    );
    return rows.length;
  }

  findReport(id: string): Promise<Report | null> {
    return this.db.one<Report>(sql`SELECT ${REPORT_COLUMNS} FROM reconciliation_reports WHERE id = ${id}`);
  }

  findReportByFingerprint(kind: ReportKind, fingerprint: string): Promise<Report | null> {
    return this.db.one<Report>(
      sql`SELECT ${REPORT_COLUMNS} FROM reconciliation_reports WHERE kind = ${kind} AND fingerprint = ${fingerprint}`,
    );
  }

  async listReports(filter: { kind?: ReportKind; page: number; limit: number }): Promise<[Report[], number]> {
    const where = sql`(${filter.kind ?? null}::varchar IS NULL OR kind = ${filter.kind ?? null})`;
    const items = await this.db.query<Report>(
      sql`SELECT ${REPORT_COLUMNS} FROM reconciliation_reports WHERE ${where}
           ORDER BY created_at DESC, id DESC LIMIT ${filter.limit} OFFSET ${(filter.page - 1) * filter.limit}`,
    );
    const total = await this.db.one<{ n: number }>(sql`SELECT count(*)::int AS n FROM reconciliation_reports WHERE ${where}`);
    return [items, total?.n ?? 0];
  }

  async listItems(filter: { reportId: string; kind?: ItemKind; page: number; limit: number }): Promise<[Item[], number]> {
    const where = sql`report_id = ${filter.reportId} AND (${filter.kind ?? null}::varchar IS NULL OR kind = ${filter.kind ?? null})`;
    const items = await this.db.query<Item>(
      sql`SELECT ${ITEM_COLUMNS} FROM reconciliation_items WHERE ${where}
           ORDER BY occurred_at NULLS LAST, line_no NULLS LAST, id LIMIT ${filter.limit} OFFSET ${(filter.page - 1) * filter.limit}`,
    );
    const total = await this.db.one<{ n: number }>(sql`SELECT count(*)::int AS n FROM reconciliation_items WHERE ${where}`);
    return [items, total?.n ?? 0];
  }

  async openDifferences(reportId: string): Promise<number> {
    const row = await this.db.one<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM reconciliation_items WHERE report_id = ${reportId} AND review_id IS NOT NULL AND resolved_at IS NULL`,
    );
    return row?.n ?? 0;
  }

  findItem(id: string): Promise<Item | null> {
    return this.db.one<Item>(sql`SELECT ${ITEM_COLUMNS} FROM reconciliation_items WHERE id = ${id}`);
  }

  // ---- personal data (the retention sweep and anonymisation, through ReconciliationPersonalData) ----------------

  /** The oldest report created before `cutoff` whose items still hold names; locked, skipping one another run holds. */
  async lockReportDueForRetention(tx: Tx, cutoff: Date): Promise<string | null> {
    const row = await this.db.one<{ id: string }>(
      sql`SELECT id FROM reconciliation_reports WHERE personal_data_masked_at IS NULL AND created_at < ${cutoff}
           ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED`,
      tx,
    );
    return row?.id ?? null;
  }

  /** The personal data of a report's items, or of the items about these payments or receipts (an anonymisation). */
  personalDataOfItems(tx: Tx, of: { reportId: string } | { paymentIds: string[]; receipts: string[] }): Promise<ItemPersonalData[]> {
    const where =
      'reportId' in of
        ? sql`report_id = ${of.reportId}`
        : sql`(record_type = 'payment' AND record_id = ANY(${of.paymentIds}::uuid[])) OR receipt = ANY(${of.receipts}::varchar[])`;
    return this.db.query<ItemPersonalData>(sql`SELECT id, party, details, raw FROM reconciliation_items WHERE ${where} FOR UPDATE`, tx);
  }

  /** The items about these payments or receipts, oldest report first (an access request's export). */
  itemsAbout(records: { paymentIds: string[]; receipts: string[] }): Promise<Item[]> {
    if (!records.paymentIds.length && !records.receipts.length) return Promise.resolve([]);
    return this.db.query<Item>(
      sql`SELECT ${ITEM_COLUMNS} FROM reconciliation_items
           WHERE (record_type = 'payment' AND record_id = ANY(${records.paymentIds}::uuid[])) OR receipt = ANY(${records.receipts}::varchar[])
           ORDER BY report_id, line_no NULLS LAST, id`,
    );
  }

  /** Writes items' masked party, narration and raw row; answers how many changed. */
  async rewriteItemsPersonalData(tx: Tx, items: ItemPersonalData[]): Promise<number> {
    if (!items.length) return 0;
    const changed = await this.db.query(
      sql`UPDATE reconciliation_items t SET party = v.party, details = v.details, raw = v.raw
            FROM jsonb_to_recordset(${json(items)}::jsonb) AS v(id uuid, party varchar, details text, raw jsonb)
           WHERE t.id = v.id
          RETURNING t.id`,
      tx,
    );
    return changed.length;
  }

  /** Marks the report's items as masked by retention: the sweep does not take it again. */
  async markReportMasked(tx: Tx, reportId: string): Promise<void> {
    await this.db.query(
      sql`UPDATE reconciliation_reports SET personal_data_masked_at = now() WHERE id = ${reportId} AND personal_data_masked_at IS NULL`,
      tx,
    );
  }
}
