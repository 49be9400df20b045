import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { AuditModule } from '../audit/audit.module';
import { provideQueueHealth } from '../common/queues/queue-health';
import { DatabaseModule } from '../database/database.module';
import { MpesaModule } from '../mpesa/mpesa.module';
import { PaymentsModule } from '../payments/payments.module';
import { ReviewsModule } from '../reviews/reviews.module';
import { RECONCILIATION_QUEUE } from './jobs/reconciliation-jobs';
import { ReconciliationProcessor } from './jobs/reconciliation.processor';
import { ReconciliationScheduler } from './jobs/reconciliation.scheduler';
import { PullController } from './pull/pull.controller';
import { PullRunsRepository } from './pull/pull-runs.repository';
import { PullService } from './pull/pull.service';
import { reconciliationConfig } from './reconciliation.config';
import { ReconciliationItemResolver } from './reports/reconciliation-item.resolver';
import { ReconciliationService } from './reports/reconciliation.service';
import { RecordedMoneyReader } from './reports/recorded-money.reader';
import { ReportsController } from './reports/reports.controller';
import { ReportsRepository } from './reports/reports.repository';
import { StatementBodyParser } from './statements/statement-body-parser';
import { ReconciliationPersonalDataModule } from './reports/reconciliation-personal-data';

/**
 * Reconciliation: Pull Transactions runs that recover payments whose notification was lost, statement imports and
 * daily Pull reconciliations that name every difference between M-Pesa's record and ours. Records money only through
 * the payments module's IncomingPayments; reads payouts and reversals with read-only SQL; imports neither's writers.
 */
@Module({})
export class ReconciliationModule {
  static register(options: { runWorkers: boolean }): DynamicModule {
    return {
      module: ReconciliationModule,
      imports: [
        // Its settings are its own namespace, beside it (src/reconciliation/reconciliation.config.ts).
        ConfigModule.forFeature(reconciliationConfig),
        DatabaseModule,
        BullModule.registerQueue({ name: RECONCILIATION_QUEUE }),
        AuditModule,
        MpesaModule,
        PaymentsModule.register(options),
        ReviewsModule.register(options),
        ReconciliationPersonalDataModule,
      ],
      controllers: [PullController, ReportsController],
      providers: [
        PullRunsRepository,
        PullService,
        ReportsRepository,
        RecordedMoneyReader,
        ReconciliationService,
        ReconciliationItemResolver,
        StatementBodyParser,
        provideQueueHealth(RECONCILIATION_QUEUE),
        ...(options.runWorkers ? [ReconciliationProcessor, ReconciliationScheduler] : []),
      ],
    };
  }
}
