import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { provideQueueHealth } from '../common/queues/queue-health';
import { Database } from '../database/database';
import { DatabaseModule } from '../database/database.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { PaymentsModule } from '../payments/payments.module';
import { MpesaReceiptsRepository } from '../payments/mpesa-receipts.repository';
import { PaymentsRepository } from '../payments/payments.repository';
import { PayoutsModule } from '../payouts/payouts.module';
import { PayoutsRepository } from '../payouts/payouts.repository';
import { TreasuryModule } from '../treasury/treasury.module';
import { PRIVACY_QUEUE } from './jobs/privacy-jobs';
import { PersonalDataHoldersModule } from './personal-data-holders';
import { PrivacyProcessor } from './jobs/privacy.processor';
import { PrivacyScheduler } from './jobs/privacy.scheduler';
import { PersonalDataMasker } from './personal-data-masker';
import { PrivacyController } from './privacy.controller';
import { PrivacyRepository } from './privacy.repository';
import { PrivacyService } from './privacy.service';
import { RetentionService } from './retention.service';

/**
 * Data protection: the retention sweep and the data-subject requests (export, anonymise). It reads every module's
 * records and masks them through each table's own repository.
 */
@Module({})
export class PrivacyModule {
  static register(options: { runWorkers: boolean }): DynamicModule {
    return {
      module: PrivacyModule,
      imports: [
        DatabaseModule,
        BullModule.registerQueue({ name: PRIVACY_QUEUE }),
        AuditModule,
        PersonalDataHoldersModule,
        TreasuryModule.register(options),
        NotificationsModule.register(options),
        PaymentsModule.register(options),
        PayoutsModule.register(options),
      ],
      controllers: [PrivacyController],
      providers: [
        PrivacyRepository,
        PersonalDataMasker,
        PrivacyService,
        RetentionService,
        provideQueueHealth(PRIVACY_QUEUE),
        ...(options.runWorkers ? [PrivacyProcessor, PrivacyScheduler] : []),
      ],
    };
  }
}

/**
 * What `npm run retention` needs: the sweep without queues, controllers or workers (so no Redis). The writers it
 * uses are stateless repositories, provided here directly rather than through their queue-owning modules. The CLI
 * also imports the modules that register personal-data holders (reconciliation's).
 */
@Module({
  imports: [AuditModule, PersonalDataHoldersModule],
  providers: [
    Database,
    PrivacyRepository,
    PaymentsRepository,
    MpesaReceiptsRepository,
    PayoutsRepository,
    PersonalDataMasker,
    RetentionService,
  ],
  exports: [RetentionService],
})
export class RetentionCliModule {}
