import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { DatabaseModule } from '../database/database.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { BillLedger } from './bill-ledger.service';
import { Bill } from './bill.entity';
import { BillsController } from './bills.controller';
import { BillsRepository } from './bills.repository';
import { BillsService } from './bills.service';

/**
 * What clients owe. Payments import this module (BillLedger: find a bill, count a payment toward it); this module
 * imports no money module and only reads `payments` to list a bill's payments.
 */
@Module({})
export class BillsModule {
  private static readonly registered = new Map<boolean, DynamicModule>();

  static register(options: { runWorkers: boolean }): DynamicModule {
    const existing = BillsModule.registered.get(options.runWorkers);
    if (existing) return existing;
    const module: DynamicModule = {
      module: BillsModule,
      imports: [DatabaseModule, TypeOrmModule.forFeature([Bill]), AuditModule, NotificationsModule.register(options)],
      controllers: [BillsController],
      providers: [BillsRepository, BillsService, BillLedger],
      exports: [BillLedger],
    };
    BillsModule.registered.set(options.runWorkers, module);
    return module;
  }
}
