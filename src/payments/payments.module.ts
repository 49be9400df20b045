import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { PaymentAnalyticsController } from './analytics/payment-analytics.controller';
import { PaymentAnalyticsRepository } from './analytics/payment-analytics.repository';
import { PaymentAnalyticsService } from './analytics/payment-analytics.service';
import { IdempotencyRecord } from './idempotency-record.entity';
import { IdempotencyService } from './idempotency.service';
import { PaymentJobsProducer } from './jobs/payment-jobs.producer';
import { PAYMENTS_QUEUE } from './jobs/payment-jobs';
import { PaymentsProcessor } from './jobs/payments.processor';
import { MpesaCallbackController } from './mpesa-callback.controller';
import { MpesaCallbackService } from './mpesa-callback.service';
import { Payment } from './payment.entity';
import { PaymentSettlementService } from './payment-settlement.service';
import { PaymentSweepService } from './payment-sweep.service';
import { PaymentsController } from './payments.controller';
import { PaymentsRepository } from './payments.repository';
import { PaymentsService } from './payments.service';
import { StkPushService } from './stk-push.service';
import { Payout } from './payouts/payout.entity';
import { PayoutsController } from './payouts/payouts.controller';
import { PayoutsService } from './payouts/payouts.service';
import { Reversal } from './reversals/reversal.entity';
import { ReversalsService } from './reversals/reversals.service';
import { ResultCallbackService } from './result-callback.service';
import { TreasuryModule } from '../treasury/treasury.module';

@Module({})
export class PaymentsModule {
  static register(options: { runWorkers: boolean }): DynamicModule {
    return {
      module: PaymentsModule,
      imports: [
        TypeOrmModule.forFeature([Payment, IdempotencyRecord, Payout, Reversal]),
        TreasuryModule,
        BullModule.registerQueue({ name: PAYMENTS_QUEUE }),
        AuditModule,
        NotificationsModule.register(options),
      ],
      controllers: [PaymentsController, MpesaCallbackController, PayoutsController, PaymentAnalyticsController],
      providers: [
        PaymentsRepository,
        PaymentsService,
        StkPushService,
        PaymentSettlementService,
        PaymentSweepService,
        MpesaCallbackService,
        ResultCallbackService,
        PayoutsService,
        ReversalsService,
        IdempotencyService,
        PaymentJobsProducer,
        PaymentAnalyticsRepository,
        PaymentAnalyticsService,
        ...(options.runWorkers ? [PaymentsProcessor] : []),
      ],
      exports: [BullModule],
    };
  }
}
