import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { CallbacksModule } from '../callbacks/callbacks.module';
import { provideQueueHealth } from '../common/queues/queue-health';
import { DatabaseModule } from '../database/database.module';
import { MpesaModule } from '../mpesa/mpesa.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { PaymentsModule } from '../payments/payments.module';
import { ReviewsModule } from '../reviews/reviews.module';
import { TreasuryModule } from '../treasury/treasury.module';
import { PAYOUTS_QUEUE } from './jobs/payout-jobs';
import { PayoutJobsProducer } from './jobs/payout-jobs.producer';
import { PayoutsProcessor } from './jobs/payouts.processor';
import { PayoutsScheduler } from './jobs/payouts.scheduler';
import { Payout } from './payout.entity';
import { PayoutRequestsService } from './payout-requests.service';
import { PayoutResultsService } from './payout-results.service';
import { PayoutSenderService } from './payout-sender.service';
import { PayoutSettlementService } from './payout-settlement.service';
import { PayoutSweepService } from './payout-sweep.service';
import { PayoutsController } from './payouts.controller';
import { PayoutsRepository } from './payouts.repository';
import { PayoutsService } from './payouts.service';
import { ResultCallbacksController } from './result-callbacks/result-callbacks.controller';
import { ResultCallbacksService } from './result-callbacks/result-callbacks.service';
import { Reversal } from './reversals/reversal.entity';
import { ReversalsRepository } from './reversals/reversals.repository';
import { ReversalsService } from './reversals/reversals.service';

/**
 * Money out: refunds and disbursements by B2C, reversals, and the results Daraja posts for them (and for the
 * treasury's balance and Transaction Status requests). Uses payments' narrow API; payments never imports this module.
 */
@Module({})
export class PayoutsModule {
  private static readonly registered = new Map<boolean, DynamicModule>();

  /** Processors and schedulers (BullMQ workers) run only in processes started with MODE=worker or MODE=all. */
  static register(options: { runWorkers: boolean }): DynamicModule {
    const existing = PayoutsModule.registered.get(options.runWorkers);
    if (existing) return existing;
    const module: DynamicModule = {
      module: PayoutsModule,
      imports: [
        DatabaseModule,
        TypeOrmModule.forFeature([Payout, Reversal]),
        BullModule.registerQueue({ name: PAYOUTS_QUEUE }),
        AuditModule,
        MpesaModule,
        CallbacksModule,
        TreasuryModule.register(options),
        NotificationsModule.register(options),
        PaymentsModule.register(options),
        ReviewsModule.register(options),
      ],
      controllers: [PayoutsController, ResultCallbacksController],
      providers: [
        PayoutsRepository,
        PayoutsService,
        PayoutRequestsService,
        PayoutSenderService,
        PayoutResultsService,
        PayoutSettlementService,
        PayoutSweepService,
        ReversalsRepository,
        ReversalsService,
        ResultCallbacksService,
        PayoutJobsProducer,
        provideQueueHealth(PAYOUTS_QUEUE),
        ...(options.runWorkers ? [PayoutsProcessor, PayoutsScheduler] : []),
      ],
      exports: [PayoutsRepository, ReversalsRepository],
    };
    PayoutsModule.registered.set(options.runWorkers, module);
    return module;
  }
}
