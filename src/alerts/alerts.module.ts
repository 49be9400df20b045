import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { provideQueueHealth } from '../common/queues/queue-health';
import { DatabaseModule } from '../database/database.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { AlertEpisode } from './alert-episode.entity';
import { AlertsController } from './alerts.controller';
import { AlertsRepository } from './alerts.repository';
import { AlertsService } from './alerts.service';
import { ALERTS_QUEUE } from './jobs/alert-jobs';
import { AlertsProcessor } from './jobs/alerts.processor';
import { AlertsScheduler } from './jobs/alerts.scheduler';

/** Threshold alerts evaluated from the database (for teams without Prometheus; monitoring/alerts.yml is the other way). */
@Module({})
export class AlertsModule {
  static register(options: { runWorkers: boolean }): DynamicModule {
    return {
      module: AlertsModule,
      imports: [
        DatabaseModule,
        TypeOrmModule.forFeature([AlertEpisode]),
        BullModule.registerQueue({ name: ALERTS_QUEUE }),
        AuditModule,
        NotificationsModule.register(options),
      ],
      controllers: [AlertsController],
      providers: [
        AlertsRepository,
        AlertsService,
        provideQueueHealth(ALERTS_QUEUE),
        ...(options.runWorkers ? [AlertsProcessor, AlertsScheduler] : []),
      ],
    };
  }
}
