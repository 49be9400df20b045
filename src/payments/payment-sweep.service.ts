import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { SYSTEM_ACTOR } from '../audit/audit.service';
import { redactText } from '../common/redaction';
import { workerConfig } from '../config/configuration';
import { DarajaError, DarajaOutcome } from '../mpesa/daraja-errors';
import { DarajaClient, StkQueryResult } from '../mpesa/daraja.client';
import { PaymentJobsProducer } from './jobs/payment-jobs.producer';
import { PaymentJob } from './jobs/payment-jobs';
import { Payment } from './payment.entity';
import { expiry, PaymentSettlementService } from './payment-settlement.service';
import { PaymentStatus, StkPushStatus } from './payment-status';
import { PaymentsRepository, SweepPosition } from './payments.repository';

/** A retry job silent for this long was lost (Redis flush, crash): enqueue it again. */
const LOST_RETRY_AFTER_MS = 30_000;

/** What decides whether a pending payment is asked about, resent or expired. */
type SweepFacts = Pick<Payment, 'checkoutRequestId' | 'stkPushStatus' | 'retryCount' | 'maxRetries' | 'lastRetryAt' | 'initiatedAt'>;

export interface SweepSummary {
  queried: number;
  retriesRequeued: number;
  expiring: number;
  lateQueries: number;
}

/**
 * Settles what callbacks did not. Postgres says which payments are still pending, so a lost job or a flushed Redis
 * loses nothing: the sweep finds them again. The sweep itself only enqueues one job per payment (jobId from the
 * payment id), so one bad row never stops the others; each job re-reads its payment and re-checks its state.
 */
@Injectable()
export class PaymentSweepService {
  private readonly logger = new Logger(PaymentSweepService.name);

  constructor(
    @Inject(workerConfig.KEY) private readonly settings: ConfigType<typeof workerConfig>,
    private readonly payments: PaymentsRepository,
    private readonly settlement: PaymentSettlementService,
    private readonly daraja: DarajaClient,
    private readonly jobs: PaymentJobsProducer,
  ) {}

  /**
   * Walks every pending payment due for a look (keyset pages of STATUS_SWEEP_PAGE_SIZE, at most
   * STATUS_SWEEP_MAX_PER_RUN in one run) and enqueues each page's jobs in one round trip. Memory stays one page.
   */
  async sweep(): Promise<SweepSummary> {
    const now = Date.now();
    const { sweepPageSize, sweepMaxPerRun } = this.settings;
    const summary: SweepSummary = { queried: 0, retriesRequeued: 0, expiring: 0, lateQueries: 0 };
    const cutoff = new Date(now - this.settings.queryMinAgeMs);
    let after: SweepPosition | undefined;
    for (let seen = 0; seen < sweepMaxPerRun;) {
      const page = await this.payments.findPendingOlderThan(cutoff, Math.min(sweepPageSize, sweepMaxPerRun - seen), after);
      const jobs: Parameters<PaymentJobsProducer['enqueueForPayments']>[0] = [];
      for (const payment of page) {
        // Each job carries the payment's own request id: its query and settlement are filed under it.
        const job = { paymentId: payment.id, requestId: payment.requestId };
        if (this.canBeAsked(payment)) {
          jobs.push({ name: PaymentJob.StkStatusQuery, ...job });
          summary.queried++;
        } else if (this.isRetryLost(payment, now)) {
          jobs.push({ name: PaymentJob.StkPushRetry, ...job });
          summary.retriesRequeued++;
        } else if (this.isPastMaxAge(payment, now)) {
          jobs.push({ name: PaymentJob.Expire, ...job });
          summary.expiring++;
        }
      }
      await this.jobs.enqueueForPayments(jobs);
      seen += page.length;
      if (page.length < sweepPageSize) break;
      after = page[page.length - 1].position;
    }
    // After we let a payment expire, M-Pesa is asked again (PAYMENT_LATE_QUERY_DELAYS_MS): a customer who entered the
    // PIN late has paid, and the payment must then complete.
    const late = await this.payments.findExpiredDueForLateQuery(new Date(now), this.settings.lateQueryDelaysMs, sweepPageSize);
    await this.jobs.enqueueForPayments(late.map((p) => ({ name: PaymentJob.StkStatusQuery, paymentId: p.id, requestId: p.requestId })));
    summary.lateQueries = late.length;
    if (summary.queried || summary.expiring || summary.retriesRequeued || summary.lateQueries)
      this.logger.log(`Sweep: ${JSON.stringify(summary)}`);
    return summary;
  }

  /**
   * Asks Daraja about one pending (or expired) payment. Throws Daraja's transient errors so the job retries. An answer
   * naming another CheckoutRequestID is not evidence: it is ignored.
   */
  async queryStatus(paymentId: string, isFinalAttempt: boolean): Promise<'settled' | 'pending' | 'skipped' | 'refused'> {
    const payment = await this.payments.findById(paymentId);
    if (!payment || !this.canBeAsked(payment)) return 'skipped';
    if (payment.status !== PaymentStatus.Pending && payment.status !== PaymentStatus.Expired) return 'skipped';
    let result: StkQueryResult;
    try {
      result = await this.daraja.stkQuery(payment.checkoutRequestId as string, {
        reference: payment.id,
        requestId: payment.requestId ?? undefined,
      });
    } catch (error) {
      if (error instanceof DarajaError && error.outcome === DarajaOutcome.Rejected) {
        // e.g. 400.002.02 "Invalid CheckoutRequestID": asking again every sweep changes nothing.
        await this.payments.markQueryRefused(payment.id, `${new Date().toISOString()} STK Query refused: ${redactText(error.message)}`);
        this.logger.warn(`STK Query for payment ${payment.id} refused (${error.message}); its callback or our give-up settles it`);
        return 'refused';
      }
      if (isFinalAttempt && (await this.expireIfDue(payment))) return 'settled';
      throw error;
    }
    if (result.state === 'settled') {
      await this.settlement.applyStatusQuery(payment, result.resultCode, result.resultDesc, SYSTEM_ACTOR);
      return 'settled';
    }
    if (result.state === 'mismatched') {
      this.logger.warn(
        `STK Query for payment ${payment.id} answered about ${result.answeredFor}, not ${payment.checkoutRequestId}: ignored`,
      );
    }
    if (payment.status === PaymentStatus.Expired) {
      await this.payments.recordLateQuery(payment.id, payment.lateQueries);
      return 'pending';
    }
    return (await this.expireIfDue(payment)) ? 'settled' : 'pending';
  }

  /** A push that cannot be asked about (no CheckoutRequestID, or Daraja refused the query) and is past its age. */
  async expire(paymentId: string): Promise<'settled' | 'skipped'> {
    const payment = await this.payments.findById(paymentId);
    if (!payment || payment.status !== PaymentStatus.Pending || this.canBeAsked(payment)) return 'skipped';
    if (this.isRetryLost(payment, Date.now())) return 'skipped';
    return (await this.expireIfDue(payment, 'M-Pesa never acknowledged the STK Push')) ? 'settled' : 'skipped';
  }

  /** Our give-up, once a pending payment is past PAYMENT_MAX_PENDING_MS: `expired`, which later proof still completes. */
  private async expireIfDue(payment: Payment, reason = 'No answer from M-Pesa before the payment expired'): Promise<boolean> {
    if (payment.status !== PaymentStatus.Pending || !this.isPastMaxAge(payment, Date.now())) return false;
    return (await this.settlement.settle(payment, expiry(reason), SYSTEM_ACTOR)) === 'applied';
  }

  private canBeAsked(payment: SweepFacts): boolean {
    return payment.checkoutRequestId !== null && payment.stkPushStatus !== StkPushStatus.QueryRefused;
  }

  /** A resend was due but its job is gone (Redis flush, crash) and resends remain. */
  private isRetryLost(payment: SweepFacts, now: number): boolean {
    return (
      payment.stkPushStatus === StkPushStatus.RetryScheduled &&
      payment.retryCount < payment.maxRetries &&
      (payment.lastRetryAt ?? payment.initiatedAt).getTime() < now - LOST_RETRY_AFTER_MS
    );
  }

  private isPastMaxAge(payment: SweepFacts, now: number): boolean {
    return payment.initiatedAt.getTime() < now - this.settings.maxPendingMs;
  }
}
