import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { BillsModule } from '../bills/bills.module';
import { CallbacksModule } from '../callbacks/callbacks.module';
import { provideQueueHealth } from '../common/queues/queue-health';
import { DatabaseModule } from '../database/database.module';
import { MetricsModule } from '../metrics/metrics.module';
import { MpesaModule } from '../mpesa/mpesa.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { ReviewsModule } from '../reviews/reviews.module';
import { PaymentAnalyticsController } from './analytics/payment-analytics.controller';
import { PaymentAnalyticsRepository } from './analytics/payment-analytics.repository';
import { PaymentAnalyticsService } from './analytics/payment-analytics.service';
import { IdempotencyRecord } from './idempotency/idempotency-record.entity';
import { IdempotencyRepository } from './idempotency/idempotency.repository';
import { IdempotencyService } from './idempotency/idempotency.service';
import { IncomingPayments } from './incoming-payments.service';
import { PaymentJobsProducer } from './jobs/payment-jobs.producer';
import { PAYMENTS_QUEUE } from './jobs/payment-jobs';
import { PaymentsProcessor } from './jobs/payments.processor';
import { PaymentsScheduler } from './jobs/payments.scheduler';
import { MpesaReceipt } from './mpesa-receipt.entity';
import { MpesaReceiptsRepository } from './mpesa-receipts.repository';
import { Payment } from './payment.entity';
import { PaymentAdjustments } from './payment-adjustments.service';
import { PaymentDetails } from './payment-details';
import { PaymentSettlementService } from './payment-settlement.service';
import { PaymentSweepService } from './payment-sweep.service';
import { PaymentsController } from './payments.controller';
import { PaymentsRepository } from './payments.repository';
import { PaymentsService } from './payments.service';
import { StkCallbackController } from './stk-callback.controller';
import { StkCallbackService } from './stk-callback.service';
import { StkPushService } from './stk-push.service';

/**
 * Money in: STK pushes, their callbacks and status sweep, money that arrives without our ids (IncomingPayments: C2B,
 * Pull, statements) and the receipt ledger, idempotency, reads and analytics. Exports a narrow API to money out
 * (PaymentAdjustments, PaymentDetails, IdempotencyService) and to C2B and reconciliation (IncomingPayments), and
 * imports nothing of them. Counts payments toward bills through BillLedger (bills imports no money module).
 */
@Module({})
export class PaymentsModule {
  private static readonly registered = new Map<boolean, DynamicModule>();

  /** Processors and schedulers (BullMQ workers) run only in processes started with MODE=worker or MODE=all. */
  static register(options: { runWorkers: boolean }): DynamicModule {
    // One DynamicModule object per option: Nest makes one instance per object, and several modules import this one.
    const existing = PaymentsModule.registered.get(options.runWorkers);
    if (existing) return existing;
    const module: DynamicModule = {
      module: PaymentsModule,
      imports: [
        DatabaseModule,
        TypeOrmModule.forFeature([Payment, IdempotencyRecord, MpesaReceipt]),
        BullModule.registerQueue({ name: PAYMENTS_QUEUE }),
        AuditModule,
        MetricsModule,
        MpesaModule,
        CallbacksModule,
        NotificationsModule.register(options),
        ReviewsModule.register(options),
        BillsModule.register(options),
        RateLimitModule,
      ],
      controllers: [PaymentsController, StkCallbackController, PaymentAnalyticsController],
      providers: [
        PaymentsRepository,
        PaymentsService,
        StkPushService,
        StkCallbackService,
        PaymentSettlementService,
        PaymentSweepService,
        PaymentAdjustments,
        PaymentDetails,
        IdempotencyRepository,
        IdempotencyService,
        PaymentJobsProducer,
        PaymentAnalyticsRepository,
        PaymentAnalyticsService,
        MpesaReceiptsRepository,
        IncomingPayments,
        provideQueueHealth(PAYMENTS_QUEUE),
        ...(options.runWorkers ? [PaymentsProcessor, PaymentsScheduler] : []),
      ],
      exports: [
        PaymentAdjustments,
        PaymentDetails,
        IdempotencyService,
        PaymentsRepository,
        IdempotencyRepository,
        IncomingPayments,
        MpesaReceiptsRepository,
      ],
    };
    PaymentsModule.registered.set(options.runWorkers, module);
    return module;
  }
}
