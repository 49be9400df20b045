import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DatabaseModule } from '../database/database.module';
import { AuditEvent } from './audit-event.entity';
import { AuditService } from './audit.service';
import { TransactionLog } from './transaction-log.entity';
import { TransactionLogService } from './transaction-log.service';

/** The audit trail and the Daraja transaction log: each written in its caller's transaction or statement. */
@Module({
  imports: [DatabaseModule, TypeOrmModule.forFeature([AuditEvent, TransactionLog])],
  providers: [AuditService, TransactionLogService],
  exports: [AuditService, TransactionLogService],
})
export class AuditModule {}
