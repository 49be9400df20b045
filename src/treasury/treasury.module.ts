import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { CallbacksModule } from '../callbacks/callbacks.module';
import { provideQueueHealth } from '../common/queues/queue-health';
import { DatabaseModule } from '../database/database.module';
import { MpesaModule } from '../mpesa/mpesa.module';
import { BalanceSnapshot } from './balance-snapshot.entity';
import { BalanceSnapshotsRepository } from './balance-snapshots.repository';
import { BalanceService } from './balance.service';
import { TREASURY_QUEUE } from './jobs/treasury-jobs';
import { TreasuryProcessor } from './jobs/treasury.processor';
import { TreasuryScheduler } from './jobs/treasury.scheduler';
import { TransactionStatusQuery } from './transaction-status-query.entity';
import { TransactionStatusRepository } from './transaction-status.repository';
import { TransactionStatusService } from './transaction-status.service';
import { TreasuryExpiryService } from './treasury-expiry.service';
import { TreasuryController } from './treasury.controller';

/** The business account at Safaricom: balances and Transaction Status. Knows nothing of payments. */
@Module({})
export class TreasuryModule {
  private static readonly registered = new Map<boolean, DynamicModule>();

  static register(options: { runWorkers: boolean }): DynamicModule {
    const existing = TreasuryModule.registered.get(options.runWorkers);
    if (existing) return existing;
    const module: DynamicModule = {
      module: TreasuryModule,
      imports: [
        DatabaseModule,
        TypeOrmModule.forFeature([BalanceSnapshot, TransactionStatusQuery]),
        BullModule.registerQueue({ name: TREASURY_QUEUE }),
        AuditModule,
        MpesaModule,
        CallbacksModule,
      ],
      controllers: [TreasuryController],
      providers: [
        BalanceSnapshotsRepository,
        BalanceService,
        TransactionStatusRepository,
        TransactionStatusService,
        TreasuryExpiryService,
        provideQueueHealth(TREASURY_QUEUE),
        ...(options.runWorkers ? [TreasuryProcessor, TreasuryScheduler] : []),
      ],
      exports: [BalanceService, TransactionStatusService, TransactionStatusRepository],
    };
    TreasuryModule.registered.set(options.runWorkers, module);
    return module;
  }
}
