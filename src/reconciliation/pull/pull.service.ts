import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { setTimeout as sleep } from 'node:timers/promises';
import { Actor, AuditService } from '../../audit/audit.service';
import { AppError, ErrorCode, ValidationError } from '../../common/errors/app-error';
import { normalizeKenyanPhone } from '../../common/phone-number';
import { redactText } from '../../common/redaction';
import { Database } from '../../database/database';
import { DarajaError, DarajaOutcome } from '../../mpesa/daraja-errors';
import { DarajaClient, PullQueryAnswer, PullRegistered, PullTransaction } from '../../mpesa/daraja.client';
import { IncomingPayments } from '../../payments/incoming-payments.service';
import { PULL_HISTORY_MINUTES, reconciliationConfig } from '../reconciliation.config';
import { IngestAttempt, RecordedMoney } from '../reports/reconcile';
import { RecordedMoneyReader } from '../reports/recorded-money.reader';
import { pullAllPages, PullPaging } from './pull-pager';
import { PullRun, PullRunResult, PullRunsRepository, PullRunTrigger } from './pull-runs.repository';

/** Who the scheduled runs are, in the audit trail and on the payments they recover. */
export const PULL_ACTOR: Actor = { type: 'system', id: 'pull-transactions' };

/** A few minutes short of Daraja's 48 hours: a window that starts right at the edge may be refused, or already trimmed. */
const OLDEST_PULL_MS = (PULL_HISTORY_MINUTES - 5) * 60_000;
/** A Pull query only reads: resending it is harmless, so a timeout or a busy gateway gets two more tries. */
const PAGE_RETRY_DELAYS_MS = [1_000, 2_000];

export interface PullWindow {
  start: Date;
  end: Date;
}

/** A finished run with what it read: the daily reconciliation compares these transactions with our records. */
export interface CompletedPull {
  run: PullRun;
  transactions: PullTransaction[];
  /** Our payments holding the listed receipts when the run read them. */
  known: Map<string, RecordedMoney>;
  /** What IncomingPayments made of each receipt unknown here. */
  ingested: Map<string, IngestAttempt>;
}

/**
 * Pull Transactions (docs/daraja.md §17): registration of the shortcode, and runs that read a window of C2B
 * transactions page by page and hand every receipt the service does not know to IncomingPayments (source `pull`),
 * the path a C2B confirmation takes. Decides on the body's ResponseCode, never on HTTP 200 alone.
 */
@Injectable()
export class PullService {
  private readonly logger = new Logger(PullService.name);

  constructor(
    @Inject(reconciliationConfig.KEY) private readonly settings: ConfigType<typeof reconciliationConfig>,
    private readonly daraja: DarajaClient,
    private readonly runs: PullRunsRepository,
    private readonly records: RecordedMoneyReader,
    private readonly incoming: IncomingPayments,
    private readonly audit: AuditService,
    private readonly db: Database,
  ) {}

  /** Registers the shortcode for Pull; 1000 (registered) and 1001 (registered before) are both success. */
  async register(
    input: { shortCode?: string; nominatedNumber?: string; callbackUrl?: string },
    actor: Actor,
  ): Promise<PullRegistered & { shortCode: string; nominatedNumber: string; callbackUrl: string }> {
    const shortCode = input.shortCode ?? this.settings.shortCode;
    const nominatedNumber = input.nominatedNumber
      ? (normalizeKenyanPhone(input.nominatedNumber) ?? input.nominatedNumber)
      : this.settings.nominatedNumber;
    const callbackUrl = input.callbackUrl ?? this.settings.callbackUrl;
    const missing = [
      ...(nominatedNumber ? [] : ["nominatedNumber (or PULL_NOMINATED_NUMBER): the Safaricom number on the shortcode's KYC record"]),
      ...(callbackUrl ? [] : ['callbackUrl (or PULL_CALLBACK_URL): Daraja requires one, though nothing is known to be posted to it']),
    ];
    if (!nominatedNumber || !callbackUrl) throw new ValidationError(`Pull registration needs ${missing.join(' and ')}`, { missing });
    try {
      const registered = await this.daraja.pullRegister(
        { shortCode, nominatedNumber, callbackUrl },
        { requestId: actor.requestId ?? undefined, userId: actor.id ?? undefined },
      );
      await this.audit.record(actor, {
        action: 'pull.registered',
        entityType: 'shortcode',
        entityId: shortCode,
        metadata: { responseStatus: registered.responseStatus, responseDescription: registered.responseDescription },
      });
      return { ...registered, shortCode, nominatedNumber, callbackUrl };
    } catch (error) {
      throw darajaFailure(error, 'Pull registration');
    }
  }

  /** The scheduled run's window: the last PULL_WINDOW_MINUTES, reaching back to where the last good run ended. */
  async scheduledWindow(now = new Date()): Promise<PullWindow> {
    const oldest = now.getTime() - OLDEST_PULL_MS;
    let start = now.getTime() - this.settings.windowMs;
    // A worker that was down (or runs that failed) left a gap: catch up, as far as Daraja keeps transactions.
    const lastEnd = await this.runs.lastSucceededEnd(this.settings.shortCode);
    if (lastEnd && lastEnd.getTime() < start) start = lastEnd.getTime();
    return { start: new Date(Math.max(start, oldest)), end: now };
  }

  /** Refuses a window Daraja cannot answer for. */
  assertPullable(window: PullWindow, now = new Date()): void {
    if (window.start.getTime() < now.getTime() - PULL_HISTORY_MINUTES * 60_000) {
      throw new ValidationError(
        'Pull Transactions keeps the last 48 hours only: reconcile an older period by importing the statement (POST /api/reconciliation/statements)',
      );
    }
    if (window.start >= window.end) throw new ValidationError('The window must end after it starts');
  }

  /** One run over `window`: every page, every unknown receipt ingested, the outcome recorded (and audited). */
  async run(trigger: PullRunTrigger, window: PullWindow, actor: Actor): Promise<CompletedPull> {
    const abandoned = await this.runs.closeAbandoned();
    if (abandoned) this.logger.warn(`Closed ${abandoned} Pull run(s) whose process stopped before they finished`);
    const run = await this.runs.start({
      trigger,
      shortCode: this.settings.shortCode,
      windowStart: window.start,
      windowEnd: window.end,
      requestedBy: actor.id ?? actor.type,
    });
    const paging = await pullAllPages((offset) => this.fetchPage(run.id, window, offset, actor), this.settings.maxPages);

    const known = await this.records.paymentsByReceipt(paging.transactions.map((t) => t.transactionId));
    const ingested = new Map<string, IngestAttempt>();
    const errors = paging.error ? [paging.error] : [];
    // Oldest first, so that a bill paid twice in the window is settled in the order the customer paid.
    const unknown = paging.transactions
      .filter((t) => !known.has(t.transactionId))
      .sort((a, b) => a.trxDate.getTime() - b.trxDate.getTime());
    for (const transaction of unknown) {
      const attempt = await this.ingest(transaction, actor);
      ingested.set(transaction.transactionId, attempt);
      if ('error' in attempt) errors.push(`${transaction.transactionId}: ${attempt.error}`);
    }
    if (paging.unreadable) errors.push(`${paging.unreadable} record(s) Pull listed could not be read (no id, amount or date)`);

    const outcomes = [...ingested.entries()].flatMap(([receipt, a]) =>
      'error' in a ? [] : [{ receipt, outcome: a.outcome, paymentId: a.paymentId }],
    );
    const result: PullRunResult = {
      status: paging.outcome,
      pages: paging.pages,
      transactionsSeen: paging.transactions.length,
      alreadyKnown: paging.transactions.length - unknown.length,
      ingested: unknown.length,
      recovered: outcomes.filter((o) => ['created', 'attached', 'receipt_recorded'].includes(o.outcome)).length,
      flagged: outcomes.filter((o) => o.outcome === 'flagged').length,
      unreadable: paging.unreadable,
      offsetReading: paging.offsetReading,
      errors,
      recoveredReceipts: outcomes.filter((o) => o.outcome !== 'duplicate'),
      paymentsRecordedInWindow: null,
      note: null,
    };
    if (paging.outcome === 'ambiguous') Object.assign(result, await this.explainNoRecords(window, paging));

    const finished = await this.db.transaction(async (tx) => {
      const row = await this.runs.finish(tx, run.id, result);
      if (row) {
        await this.audit.record(
          actor,
          {
            action: 'pull_run.finished',
            entityType: 'pull_run',
            entityId: run.id,
            metadata: {
              trigger,
              status: row.status,
              pages: row.pages,
              transactionsSeen: row.transactionsSeen,
              ingested: row.ingested,
              recovered: row.recovered,
              errors: row.errors.length,
            },
          },
          tx,
        );
      }
      return row;
    });
    const final = finished ?? (await this.runs.findById(run.id)) ?? run;
    const summary = `${trigger} Pull run ${run.id}: ${final.status}, ${final.pages} page(s), ${final.transactionsSeen} seen, ${final.recovered} recovered`;
    if (final.status === 'succeeded') this.logger.log(summary);
    else this.logger.warn(`${summary}${final.errors.length ? `: ${final.errors[0]}` : ''}${final.note ? `: ${final.note}` : ''}`);
    return { run: final, transactions: paging.transactions, known, ingested };
  }

  private async fetchPage(runId: string, window: PullWindow, offset: number, actor: Actor): Promise<PullQueryAnswer> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.daraja.pullQuery(
          { shortCode: this.settings.shortCode, start: window.start, end: window.end, offset },
          { reference: runId, requestId: actor.requestId ?? undefined, userId: actor.id ?? undefined },
        );
      } catch (error) {
        const retryable = error instanceof DarajaError && error.outcome !== DarajaOutcome.Rejected;
        if (!retryable || attempt >= PAGE_RETRY_DELAYS_MS.length) {
          throw new Error(error instanceof Error ? redactText(error.message) : String(error));
        }
        await sleep(PAGE_RETRY_DELAYS_MS[attempt]);
      }
    }
  }

  private async ingest(t: PullTransaction, actor: Actor): Promise<IngestAttempt> {
    try {
      const result = await this.incoming.ingest(
        {
          receipt: t.transactionId,
          amount: t.amount,
          occurredAt: t.trxDate,
          accountReference: t.billReference,
          msisdn: t.msisdn || null,
          payerName: t.sender,
          shortCode: this.settings.shortCode,
          transactionType: t.transactionType || null,
          payload: { ...t, trxDate: t.trxDate.toISOString() },
        },
        'pull',
        actor,
      );
      return { outcome: result.outcome, paymentId: result.paymentId, reviewIds: result.reviewIds };
    } catch (error) {
      this.logger.error(`Pull could not record ${t.transactionId}: ${error instanceof Error ? error.stack : String(error)}`);
      return { error: error instanceof Error ? redactText(error.message) : String(error) };
    }
  }

  /**
   * 1001 is Daraja's answer both for a window nobody paid in and for a shortcode not set up for Pull (docs/daraja.md
   * §17.5). What the service itself recorded in the window tells which is likelier.
   */
  private async explainNoRecords(
    window: PullWindow,
    paging: PullPaging,
  ): Promise<Pick<PullRunResult, 'paymentsRecordedInWindow' | 'note'>> {
    const recorded = await this.records.paymentsCountBetween(window.start, window.end);
    const said = `Pull answered ${paging.pages[0]?.responseCode} "${paging.pages[0]?.responseMessage ?? ''}"`;
    let note: string;
    if (recorded.c2b > 0) {
      note =
        `${said}, yet the service recorded ${recorded.c2b} Paybill/till payment(s) in this window: the shortcode is most likely not ` +
        'set up for Pull. Register it (POST /api/mpesa/pull/register) and ask Safaricom to enable Pull Transactions for it.';
    } else if (recorded.stk > 0) {
      note =
        `${said}. The service recorded ${recorded.stk} STK payment(s) and no Paybill/till payment in this window; whether Pull ` +
        'lists STK payments is unverified, so this is either a quiet window or a shortcode not set up for Pull.';
    } else {
      note = `${said}, and the service recorded no payment in this window either: most likely a quiet window (or a shortcode not set up for Pull).`;
    }
    return { paymentsRecordedInWindow: recorded.c2b + recorded.stk, note };
  }
}

/** A Daraja failure as the API answers it: Daraja's own refusal is 502 with its message; anything else, 503. */
export function darajaFailure(error: unknown, what: string): unknown {
  if (!(error instanceof DarajaError)) return error;
  const message = `${what}: ${redactText(error.message)}`;
  return error.outcome === DarajaOutcome.Rejected
    ? new AppError(ErrorCode.DARAJA_REJECTED, message, { errorCode: error.errorCode })
    : new AppError(ErrorCode.DARAJA_UNAVAILABLE, message, { outcome: error.outcome });
}
