import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { PRIVACY_QUEUE } from './jobs/privacy-jobs';
import { PrivacyJobsProducer } from './jobs/privacy-jobs.producer';
import { PrivacyProcessor } from './jobs/privacy.processor';
import { PersonalDataMasker } from './personal-data-masker';
import { PrivacyController } from './privacy.controller';
import { PrivacyRepository } from './privacy.repository';
import { PrivacyService } from './privacy.service';
import { RetentionService } from './retention.service';

/** Data protection: the retention sweep and the data-subject requests (export, anonymise). */
@Module({})
export class PrivacyModule {
  static register(options: { runWorkers: boolean }): DynamicModule {
    return {
      module: PrivacyModule,
      imports: [BullModule.registerQueue({ name: PRIVACY_QUEUE }), AuditModule],
      controllers: [PrivacyController],
      providers: [
        PrivacyRepository,
        PersonalDataMasker,
        PrivacyService,
        RetentionService,
        PrivacyJobsProducer,
        ...(options.runWorkers ? [PrivacyProcessor] : []),
      ],
      exports: [BullModule],
    };
  }
}

/** What `npm run retention` needs: the sweep without queues, controllers or workers. */
@Module({
  imports: [AuditModule],
  providers: [PrivacyRepository, PersonalDataMasker, RetentionService],
  exports: [RetentionService],
})
export class RetentionCliModule {}
