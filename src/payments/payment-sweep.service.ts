import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { SYSTEM_ACTOR } from '../audit/audit.service';
import { redactText } from '../common/redaction';
import { workerConfig } from '../config/configuration';
import { DarajaClient } from '../mpesa/daraja.client';
import { PaymentJobsProducer } from './jobs/payment-jobs.producer';
import { SWEEP_BATCH_SIZE } from './jobs/payment-jobs';
import { Payment } from './payment.entity';
import { PaymentSettlementService } from './payment-settlement.service';
import { PaymentStatus, SettledBy, StkPushStatus } from './payment-status';
import { PaymentsRepository, SettlementChange } from './payments.repository';

/** A retry job silent for this long was lost (Redis flush, crash): enqueue it again. */
const LOST_RETRY_AFTER_MS = 30_000;

export interface SweepSummary {
  queried: number;
  retriesRequeued: number;
  expiring: number;
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

  async sweep(): Promise<SweepSummary> {
    const now = Date.now();
    const summary: SweepSummary = { queried: 0, retriesRequeued: 0, expiring: 0 };
    const pending = await this.payments.findPendingOlderThan(new Date(now - this.settings.queryMinAgeMs), SWEEP_BATCH_SIZE);
    for (const payment of pending) {
      // Each job carries the payment's own request id: its query and settlement are filed under it.
      if (payment.checkoutRequestId) {
        await this.jobs.enqueueStatusQuery(payment.id, payment.requestId);
        summary.queried++;
      } else if (this.isRetryLost(payment, now)) {
        await this.jobs.scheduleStkRetry(payment.id, payment.requestId);
        summary.retriesRequeued++;
      } else if (this.isPastMaxAge(payment, now)) {
        await this.jobs.enqueueExpiry(payment.id, payment.requestId);
        summary.expiring++;
      }
    }
    if (summary.queried || summary.expiring || summary.retriesRequeued) this.logger.log(`Sweep: ${JSON.stringify(summary)}`);
    return summary;
  }

  /** Asks Daraja about one payment. Throws Daraja's transient errors so the job retries. */
  async queryStatus(paymentId: string, isFinalAttempt: boolean): Promise<'settled' | 'pending' | 'skipped'> {
    const payment = await this.payments.findById(paymentId);
    if (!payment || payment.status !== PaymentStatus.Pending || payment.reviewReason || !payment.checkoutRequestId) return 'skipped';
    let result: Awaited<ReturnType<DarajaClient['stkQuery']>>;
    try {
      result = await this.daraja.stkQuery(payment.checkoutRequestId, { reference: payment.id, requestId: payment.requestId ?? undefined });
    } catch (error) {
      // Daraja keeps failing and the payment is past its age: stop waiting, say why (a late callback still gets flagged).
      if (isFinalAttempt && this.isPastMaxAge(payment, Date.now())) {
        const why = redactText(error instanceof Error ? error.message : String(error));
        await this.settlement.settle(
          payment.id,
          this.timeout(`No confirmation from M-Pesa before the payment expired; the last status query failed: ${why}`),
          SYSTEM_ACTOR,
        );
        return 'settled';
      }
      throw error;
    }
    if (result.state === 'settled') {
      const status = this.settlement.statusForResultCode(result.resultCode);
      await this.settlement.settle(
        payment.id,
        {
          to: status as SettlementChange['to'],
          settledBy: SettledBy.StatusQuery,
          resultCode: result.resultCode,
          resultDesc: result.resultDesc,
        },
        SYSTEM_ACTOR,
      );
      return 'settled';
    }
    if (this.isPastMaxAge(payment, Date.now())) {
      await this.settlement.settle(payment.id, this.timeout('No confirmation from M-Pesa before the payment expired'), SYSTEM_ACTOR);
      return 'settled';
    }
    return 'pending';
  }

  /** A push that never got a CheckoutRequestID and is past its age: nothing can be asked about it, so it times out. */
  async expire(paymentId: string): Promise<'settled' | 'skipped'> {
    const payment = await this.payments.findById(paymentId);
    if (!payment || payment.status !== PaymentStatus.Pending || payment.reviewReason || payment.checkoutRequestId) return 'skipped';
    if (!this.isPastMaxAge(payment, Date.now()) || this.isRetryLost(payment, Date.now())) return 'skipped';
    const result = await this.settlement.settle(payment, this.timeout('M-Pesa never acknowledged the STK Push'), SYSTEM_ACTOR);
    return result === 'applied' ? 'settled' : 'skipped';
  }

  /** A resend was due but its job is gone (Redis flush, crash) and resends remain. */
  private isRetryLost(payment: Payment, now: number): boolean {
    return (
      payment.stkPushStatus === StkPushStatus.RetryScheduled &&
      payment.retryCount < payment.maxRetries &&
      (payment.lastRetryAt ?? payment.initiatedAt).getTime() < now - LOST_RETRY_AFTER_MS
    );
  }

  private isPastMaxAge(payment: Payment, now: number): boolean {
    return payment.initiatedAt.getTime() < now - this.settings.maxPendingMs;
  }

  private timeout(reason: string): SettlementChange {
    return { to: PaymentStatus.Timeout, settledBy: SettledBy.Timeout, resultDesc: reason };
  }
}
