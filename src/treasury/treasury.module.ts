import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { BalanceSnapshot } from './balance-snapshot.entity';
import { BalanceService } from './balance.service';
import { TransactionStatusQuery } from './transaction-status-query.entity';
import { TransactionStatusService } from './transaction-status.service';
import { TreasuryController } from './treasury.controller';

/** The business account at Safaricom: balances and Transaction Status. Knows nothing of payments. */
@Module({
  imports: [TypeOrmModule.forFeature([BalanceSnapshot, TransactionStatusQuery]), AuditModule],
  controllers: [TreasuryController],
  providers: [BalanceService, TransactionStatusService],
  exports: [BalanceService, TransactionStatusService],
})
export class TreasuryModule {}
