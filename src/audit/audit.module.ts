import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditEvent } from './audit-event.entity';
import { AuditService } from './audit.service';
import { TransactionLog } from './transaction-log.entity';
import { TransactionLogService } from './transaction-log.service';

@Module({
  imports: [TypeOrmModule.forFeature([AuditEvent, TransactionLog])],
  providers: [AuditService, TransactionLogService],
  exports: [AuditService, TransactionLogService],
})
export class AuditModule {}
