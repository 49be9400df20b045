import { Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Inject } from '@nestjs/common';
import { Actor, AuditService, SYSTEM_ACTOR } from '../audit/audit.service';
import { payoutsConfig } from '../config/configuration';
import { Database } from '../database/database';
import { NotificationsService } from '../notifications/notifications.service';
import { WrittenNotification } from '../notifications/notifications.repository';
import { PaymentAdjustments } from '../payments/payment-adjustments.service';
import { PayoutJobsProducer } from './jobs/payout-jobs.producer';
import { refundClientPayload, payoutWebhookPayload } from './payout-events';
import { Payout, PayoutKind, PayoutStatus } from './payout.entity';
import { PayoutEnding, PayoutsRepository } from './payouts.repository';

/**
 * Every change of a payout's state after it was sent: each is a guarded UPDATE written with its audit event, its
 * outbox rows and (for a paid refund) the payment's new refunded amount, in one transaction; jobs are queued after.
 */
@Injectable()
export class PayoutSettlementService {
  private readonly logger = new Logger(PayoutSettlementService.name);

  constructor(
    @Inject(payoutsConfig.KEY) private readonly settings: ConfigType<typeof payoutsConfig>,
    private readonly db: Database,
    private readonly payouts: PayoutsRepository,
    private readonly payments: PaymentAdjustments,
    private readonly audit: AuditService,
    private readonly notifications: NotificationsService,
    private readonly jobs: PayoutJobsProducer,
  ) {}

  /**
   * Ends a payout (guarded by the states it may end from) with its audit event and notifications; a paid refund also
   * moves its payment to partially_refunded or refunded, in the same transaction.
   */
  async finish(
    payout: Payout,
    to: PayoutStatus.Completed | PayoutStatus.Failed,
    ending: PayoutEnding,
    from: PayoutStatus[],
    note?: string,
    actor: Actor = SYSTEM_ACTOR,
  ): Promise<boolean> {
    const written: WrittenNotification[] = [];
    const applied = await this.db.transaction(async (tx) => {
      if (!(await this.payouts.finish(tx, payout.id, from, to, ending, note))) return false;
      await this.audit.record(
        actor,
        {
          action: `payout.${to}`,
          entityType: 'payout',
          entityId: payout.id,
          before: { status: payout.status },
          after: { status: to, ...ending, resultPayload: undefined },
        },
        tx,
      );
      const paidRefund = to === PayoutStatus.Completed && payout.kind === PayoutKind.Refund && payout.paymentId;
      if (paidRefund) await this.payments.recordRefund(tx, payout.paymentId as string, payout.amount, payout.id, actor);
      const receipt = ending.transactionId ?? null;
      const outbox = [
        this.notifications.webhook(
          `${payout.kind}.${to}`,
          payout.id,
          payoutWebhookPayload(payout, { status: to, mpesaReceiptNumber: receipt, resultDesc: ending.resultDesc ?? null }),
        ),
      ];
      if (paidRefund) {
        const payment = await this.payments.find(payout.paymentId as string, tx);
        outbox.push(
          ...this.notifications.forClient(
            'refund.sent',
            payout.id,
            refundClientPayload(payout, receipt, payment?.accountReference ?? null, new Date()),
            Boolean(payment?.customerEmailEncrypted),
          ),
        );
      }
      written.push(...(await this.notifications.write(tx, outbox)));
      return true;
    });
    if (applied)
      this.logger.log(
        `Payout ${payout.id} (${payout.kind}) ${to} (settled by ${ending.settledBy}${ending.resultCode ? `, ResultCode ${ending.resultCode}` : ''})`,
      );
    await this.notifications.dispatch(written);
    return applied;
  }

  /** The outcome is not known: the payout becomes `unknown` and Transaction Status is asked (after a short delay). */
  async markUnknown(payout: Payout, note: string, from: PayoutStatus[]): Promise<boolean> {
    const changed = await this.db.transaction(async (tx) => {
      if (!(await this.payouts.markUnknown(tx, payout.id, from, note))) return false;
      await this.audit.record(
        SYSTEM_ACTOR,
        {
          action: 'payout.unknown',
          entityType: 'payout',
          entityId: payout.id,
          before: { status: payout.status },
          after: { status: PayoutStatus.Unknown },
          metadata: { note },
        },
        tx,
      );
      return true;
    });
    if (changed) await this.jobs.enqueueResolve(payout.id, payout.statusChecks, this.settings.firstStatusCheckDelayMs, payout.requestId);
    return changed;
  }

  /** Hands the payout to a person: nothing automatic touches it until it is reconciled. */
  async flag(payout: Payout, reason: string, detail: string, actor: Actor): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (!(await this.payouts.flagForReview(tx, payout.id, reason, detail))) return;
      await this.audit.record(
        actor,
        { action: 'payout.needs_review', entityType: 'payout', entityId: payout.id, metadata: { reason, detail } },
        tx,
      );
    });
    this.logger.warn(`Payout ${payout.id} needs review: ${reason}`);
  }
}
