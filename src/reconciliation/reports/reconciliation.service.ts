import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Actor, AuditService } from '../../audit/audit.service';
import { AppError, ErrorCode, NotFoundError, ValidationError } from '../../common/errors/app-error';
import { redact } from '../../common/redaction';
import { Database } from '../../database/database';
import { ReviewEntity, ReviewReason } from '../../reviews/review.entity';
import { OpenedReview, ReviewsService } from '../../reviews/reviews.service';
import { kenyaDayBounds, kenyaDayOf } from '../kenya-time';
import { PullService } from '../pull/pull.service';
import { reconciliationConfig } from '../reconciliation.config';
import { decodeStatementBody } from '../statements/statement-body';
import { parseStatement, StatementFormatError } from '../statements/statement-parser';
import { MpesaLine, pullLines, statementLines } from './mpesa-lines';
import { DraftItem, ItemKind, reconcile, RecordedMoney, summarize, UNEXPLAINED_KINDS } from './reconcile';
import { RecordedMoneyReader } from './recorded-money.reader';
import { Item, NewItem, NewReport, Report, ReportKind, ReportsRepository } from './reports.repository';

export interface SavedReport {
  report: Report;
  /** False when the same statement (or the same day) had been reconciled before: nothing was written. */
  created: boolean;
}

const REASON_OF: Partial<Record<ItemKind, ReviewReason>> = {
  [ItemKind.MissingHere]: ReviewReason.MissingHere,
  [ItemKind.MissingAtMpesa]: ReviewReason.MissingAtMpesa,
  [ItemKind.AmountMismatch]: ReviewReason.AmountMismatch,
};

/**
 * Reconciliation reports: M-Pesa's record of a period (the org-portal statement, or a day of Pull Transactions) set
 * against ours, receipt by receipt. Every difference a person must explain opens a review (`reconciliation_item`);
 * the same difference seen again in a later report joins the review already open for it.
 */
@Injectable()
export class ReconciliationService {
  private readonly logger = new Logger(ReconciliationService.name);

  constructor(
    @Inject(reconciliationConfig.KEY) private readonly settings: ConfigType<typeof reconciliationConfig>,
    private readonly db: Database,
    private readonly reports: ReportsRepository,
    private readonly records: RecordedMoneyReader,
    private readonly reviews: ReviewsService,
    private readonly pull: PullService,
    private readonly audit: AuditService,
  ) {}

  /**
   * Imports an org-portal statement (CSV). `shortCode` names the statement's shortcode when the file does not (the
   * newer template has it only in its file name). Importing the same statement again returns the first report.
   */
  async importStatement(body: Buffer, options: { shortCode?: string }, actor: Actor): Promise<SavedReport> {
    let parsed: ReturnType<typeof parseStatement>;
    let lines: MpesaLine[];
    try {
      parsed = parseStatement(decodeStatementBody(body));
      lines = statementLines(parsed.lines);
    } catch (error) {
      if (error instanceof StatementFormatError)
        throw new ValidationError(error.message, error.problems.length ? { problems: error.problems } : undefined);
      throw error;
    }
    if (parsed.shortCode && options.shortCode && parsed.shortCode !== options.shortCode) {
      throw new ValidationError(`The statement is of shortcode ${parsed.shortCode}, not ${options.shortCode}`);
    }
    const shortCode = parsed.shortCode ?? options.shortCode ?? null;
    const scope = this.scopeOf(shortCode);
    const fingerprint = shortCode && !parsed.shortCode ? `${parsed.fingerprint.slice(0, 64)}:${shortCode}` : parsed.fingerprint;
    const existing = await this.reports.findReportByFingerprint('statement', fingerprint);
    if (existing) return { report: existing, created: false };

    const times = parsed.lines.map((l) => l.completedAt.getTime());
    const period = parsed.period ?? { start: new Date(Math.min(...times)), end: new Date(Math.max(...times) + 1000) };
    const receipts = lines.filter((l) => l.category === 'payment').map((l) => l.receipt);
    const [payments, moneyOut] = await Promise.all([this.records.paymentsByReceipt(receipts), this.records.moneyOutByReceipt(receipts)]);
    const known = new Map<string, RecordedMoney>([...moneyOut, ...payments]);
    const expected = [
      ...(scope.payments ? await this.records.paymentsPaidBetween(period.start, period.end) : []),
      ...(await this.records.moneyOutBetween(period.start, period.end)).filter((r) =>
        r.type === 'payout' ? scope.payouts : scope.payments,
      ),
    ];
    const result = reconcile({ lines, known, expected, stkListing: 'required' });

    const notes = [...scope.notes, ...result.notes];
    if (!parsed.period) {
      notes.push(
        'The statement states no period: it is taken as its first to its last transaction, so a record of ours just outside that range is not looked for.',
      );
    }
    const { totals } = summarize(result.items);
    const declared = parsed.declaredTotals;
    if (declared.paidIn !== null && Math.round(declared.paidIn * 100) !== Math.round(totals.paidIn * 100)) {
      notes.push(
        `The statement's Total Paid In (${declared.paidIn}) differs from the sum of its rows (${totals.paidIn}): the export may be trimmed.`,
      );
    }
    return this.save(
      {
        kind: 'statement',
        fingerprint,
        shortCode,
        periodStart: period.start,
        periodEnd: period.end,
        periodSource: parsed.period ? 'statement' : 'rows',
        layout: parsed.layout,
        pullRunId: null,
        rowsRead: parsed.lines.length,
        notes,
      },
      result.items,
      actor,
    );
  }

  /**
   * Reconciles a Kenya day (`YYYY-MM-DD`) through Pull Transactions: every C2B transaction Pull lists for it against
   * our payments of that day. Unknown receipts are recorded on the way (the Pull run ingests them). A whole day is
   * reconciled once; today (so far) as often as asked.
   */
  async reconcileDay(day: string, actor: Actor, now = new Date()): Promise<SavedReport> {
    const bounds = kenyaDayBounds(day);
    if (!bounds) throw new ValidationError(`'${day}' is not a day (YYYY-MM-DD, Kenya time)`);
    if (bounds.start >= now) throw new ValidationError(`${day} has not started yet in Kenya (today is ${kenyaDayOf(now)})`);
    const window = { start: bounds.start, end: bounds.end < now ? bounds.end : now };
    this.pull.assertPullable(window, now);
    const complete = window.end.getTime() === bounds.end.getTime();
    const fingerprint = complete ? day : `${day}@${window.end.toISOString()}`;
    const existing = await this.reports.findReportByFingerprint('pull_daily', fingerprint);
    if (existing) return { report: existing, created: false };

    const pulled = await this.pull.run('daily', window, actor);
    const run = pulled.run;
    if (run.status === 'failed') {
      throw new AppError(ErrorCode.DARAJA_UNAVAILABLE, `Pull could not read ${day}: ${run.errors[0] ?? 'no answer'} (Pull run ${run.id})`, {
        pullRunId: run.id,
      });
    }
    if (run.status === 'ambiguous' && (run.paymentsRecordedInWindow ?? 0) > 0) {
      // Reconciling against "no records" would call every payment of the day missing at M-Pesa.
      throw new AppError(ErrorCode.DARAJA_REJECTED, `Cannot reconcile ${day} through Pull: ${run.note} (Pull run ${run.id})`, {
        pullRunId: run.id,
      });
    }
    const expected = await this.records.paymentsPaidBetween(window.start, window.end);
    const result = reconcile({
      lines: pullLines(pulled.transactions),
      known: pulled.known,
      expected,
      ingested: pulled.ingested,
      stkListing: 'unverified',
    });
    const notes = [...result.notes];
    if (run.status === 'ambiguous') notes.push(run.note ?? 'Pull answered 1001: no records');
    if (!complete)
      notes.push(`${day} so far: reconciled up to ${window.end.toISOString()}; the whole day is reconciled once it has ended.`);
    return this.save(
      {
        kind: 'pull_daily',
        fingerprint,
        shortCode: this.settings.shortCode,
        periodStart: window.start,
        periodEnd: window.end,
        periodSource: 'day',
        layout: null,
        pullRunId: run.id,
        rowsRead: pulled.transactions.length,
        notes,
      },
      result.items,
      actor,
    );
  }

  async getReport(id: string): Promise<Report> {
    const report = await this.reports.findReport(id);
    if (!report) throw new NotFoundError('Reconciliation report');
    return report;
  }

  listReports(filter: { kind?: ReportKind; page: number; limit: number }): Promise<[Report[], number]> {
    return this.reports.listReports(filter);
  }

  listItems(filter: { reportId: string; kind?: ItemKind; page: number; limit: number }): Promise<[Item[], number]> {
    return this.reports.listItems(filter);
  }

  /** The report's differences whose review is still open. */
  openDifferences(reportId: string): Promise<number> {
    return this.reports.openDifferences(reportId);
  }

  /** Which of our records a statement of `shortCode` must show. */
  private scopeOf(shortCode: string | null): { payments: boolean; payouts: boolean; notes: string[] } {
    const { paymentsShortCode, payoutsShortCode } = this.settings;
    if (!shortCode) {
      return {
        payments: true,
        payouts: paymentsShortCode === payoutsShortCode,
        notes: [
          `The statement names no shortcode: it is taken to be ${paymentsShortCode}'s` +
            (paymentsShortCode === payoutsShortCode ? '.' : ` (payouts, made from ${payoutsShortCode}, are not looked for).`) +
            ' Send ?shortCode= to say otherwise.',
        ],
      };
    }
    const scope = { payments: shortCode === paymentsShortCode, payouts: shortCode === payoutsShortCode, notes: [] };
    if (!scope.payments && !scope.payouts) {
      throw new ValidationError(
        `The statement is of shortcode ${shortCode}; the service takes payments on ${paymentsShortCode} and pays out from ${payoutsShortCode}`,
      );
    }
    return scope;
  }

  /** Writes the report, its items and a review per unexplained difference in one transaction; announces the reviews. */
  private async save(report: Omit<NewReport, 'counts' | 'totals' | 'createdBy'>, drafts: DraftItem[], actor: Actor): Promise<SavedReport> {
    const { counts, totals } = summarize(drafts);
    const opened: OpenedReview[] = [];
    const saved = await this.db.transaction(async (tx) => {
      const row = await this.reports.insertReport(tx, { ...report, counts, totals, createdBy: actor.id ?? actor.type });
      if (!row) return null; // the same statement imported at the same moment by someone else
      const items = await this.reports.insertItems(tx, row.id, drafts.map(newItem));
      for (const item of items) {
        const reason = REASON_OF[item.kind];
        if (!reason || item.resolution) continue;
        const earlier = await this.reports.earlierReview(tx, item.kind, { receipt: item.receipt, recordId: item.recordId });
        if (earlier) {
          await this.reports.attachReview(tx, item.id, earlier);
          continue;
        }
        const review = await this.reviews.open(
          tx,
          {
            entityType: ReviewEntity.ReconciliationItem,
            entityId: item.id,
            reason,
            evidence: evidenceOf(row, item),
            fingerprint: `${item.kind}:${item.receipt ?? item.recordId}`,
          },
          actor,
        );
        if (review) {
          opened.push(review);
          await this.reports.attachReview(tx, item.id, review.review.id);
        }
      }
      await this.audit.record(
        actor,
        {
          action: 'reconciliation.report_created',
          entityType: 'reconciliation_report',
          entityId: row.id,
          metadata: { kind: row.kind, periodStart: row.periodStart, periodEnd: row.periodEnd, counts },
        },
        tx,
      );
      return row;
    });
    if (!saved) {
      const existing = await this.reports.findReportByFingerprint(report.kind, report.fingerprint);
      if (!existing) throw new AppError(ErrorCode.INTERNAL, 'The report was neither written nor found');
      return { report: existing, created: false };
    }
    await this.reviews.announce(opened);
    const unexplained = counts.unexplained;
    const summary = `Reconciliation ${saved.kind} ${saved.id}: ${counts.matched} matched, ${unexplained} difference(s)`;
    if (unexplained) this.logger.warn(summary);
    else this.logger.log(summary);
    return { report: saved, created: true };
  }
}

function newItem(draft: DraftItem): NewItem {
  const { line, record } = draft;
  const unexplained = UNEXPLAINED_KINDS.includes(draft.kind);
  return {
    kind: draft.kind,
    direction: draft.direction,
    lineNo: line?.lineNo ?? null,
    receipt: line?.receipt ?? record?.receipt ?? null,
    amount: line?.amount ?? null,
    recordedAmount: record && draft.kind !== ItemKind.Recovered ? record.amount : null,
    occurredAt: line?.occurredAt ?? record?.occurredAt ?? null,
    accountReference: line?.accountReference ?? null,
    party: line?.party ?? null,
    transactionType: line?.transactionType ?? null,
    details: line?.details ?? null,
    recordType: record?.type ?? null,
    recordId: record?.id ?? null,
    recordStatus: record?.status ?? null,
    resolution: draft.resolution ?? null,
    resolutionDetail: draft.resolutionDetail ?? null,
    // What a person needs to decide (and `complete` needs to record the payment); matched rows keep no personal data.
    raw: unexplained && line ? redact(line.raw) : null,
  };
}

/** What the review shows a person: M-Pesa's line and our record side by side, and what each decision would do. */
function evidenceOf(report: Report, item: Item): Record<string, unknown> {
  return {
    reportId: report.id,
    reportKind: report.kind,
    itemId: item.id,
    difference: item.kind,
    direction: item.direction,
    receipt: item.receipt,
    mpesa:
      item.amount === null
        ? null
        : {
            amount: item.amount,
            occurredAt: item.occurredAt,
            accountReference: item.accountReference,
            party: item.party,
            transactionType: item.transactionType,
            details: item.details,
            line: item.lineNo,
          },
    ours: item.recordId ? { type: item.recordType, id: item.recordId, status: item.recordStatus, amount: item.recordedAmount } : null,
    decisions: decisionsFor(item),
  };
}

/** What `complete`, `fail` and `dismiss` do on this item (src/reconciliation/reports/reconciliation-item.resolver.ts). */
export function decisionsFor(item: Pick<Item, 'kind' | 'direction'>): Record<'complete' | 'fail' | 'dismiss', string> {
  const dismiss = 'Closes the difference as explained (say how in the note); no record changes.';
  if (item.kind === ItemKind.MissingHere && item.direction === 'in') {
    return {
      complete:
        'Records the payment M-Pesa shows, through the path a C2B confirmation takes (matched to an STK payment or a bill by its account number).',
      fail: 'Refused: M-Pesa shows the money arrived. Dismiss it if it is not ours to record.',
      dismiss,
    };
  }
  const refused =
    item.kind === ItemKind.MissingHere
      ? 'Refused: the service cannot record money out it did not send. Dismiss once explained.'
      : 'Refused: a reconciliation difference does not change the record. Check it (its status, Transaction Status), refund or reverse it through its own endpoints if needed, then dismiss.';
  return { complete: refused, fail: refused, dismiss };
}
