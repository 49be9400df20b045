import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { CallbacksModule } from '../callbacks/callbacks.module';
import { DatabaseModule } from '../database/database.module';
import { MpesaModule } from '../mpesa/mpesa.module';
import { BalanceSnapshot } from './balance-snapshot.entity';
import { BalanceSnapshotsRepository } from './balance-snapshots.repository';
import { BalanceService } from './balance.service';
import { TransactionStatusQuery } from './transaction-status-query.entity';
import { TransactionStatusRepository } from './transaction-status.repository';
import { TransactionStatusService } from './transaction-status.service';
import { TreasuryController } from './treasury.controller';

/** The business account at Safaricom: balances and Transaction Status. Knows nothing of payments. */
@Module({
  imports: [DatabaseModule, TypeOrmModule.forFeature([BalanceSnapshot, TransactionStatusQuery]), AuditModule, MpesaModule, CallbacksModule],
  controllers: [TreasuryController],
  providers: [BalanceSnapshotsRepository, BalanceService, TransactionStatusRepository, TransactionStatusService],
  exports: [BalanceService, TransactionStatusService, TransactionStatusRepository],
})
export class TreasuryModule {}
