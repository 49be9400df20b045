import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { AlertEpisode } from './alert-episode.entity';
import { AlertsController } from './alerts.controller';
import { AlertsRepository } from './alerts.repository';
import { AlertsService } from './alerts.service';
import { ALERTS_QUEUE } from './jobs/alert-jobs';
import { AlertJobsProducer } from './jobs/alert-jobs.producer';
import { AlertsProcessor } from './jobs/alerts.processor';

/** Threshold alerts evaluated from the database (for teams without Prometheus; monitoring/alerts.yml is the other way). */
@Module({})
export class AlertsModule {
  static register(options: { runWorkers: boolean }): DynamicModule {
    return {
      module: AlertsModule,
      imports: [
        TypeOrmModule.forFeature([AlertEpisode]),
        BullModule.registerQueue({ name: ALERTS_QUEUE }),
        AuditModule,
        NotificationsModule.register(options),
      ],
      controllers: [AlertsController],
      providers: [AlertsRepository, AlertsService, AlertJobsProducer, ...(options.runWorkers ? [AlertsProcessor] : [])],
      exports: [BullModule],
    };
  }
}
