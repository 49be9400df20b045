import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Notification, NotificationAttempt } from './notification.entity';
import { NOTIFICATIONS_QUEUE } from './notification-jobs';
import { NotificationsProcessor } from './notifications.processor';
import { NotificationsService } from './notifications.service';

@Module({})
export class NotificationsModule {
  /** Processors (BullMQ workers) only run in processes started with MODE=worker or MODE=all. */
  static register(options: { runWorkers: boolean }): DynamicModule {
    return {
      module: NotificationsModule,
      imports: [TypeOrmModule.forFeature([Notification, NotificationAttempt]), BullModule.registerQueue({ name: NOTIFICATIONS_QUEUE })],
      providers: [NotificationsService, ...(options.runWorkers ? [NotificationsProcessor] : [])],
      exports: [NotificationsService, BullModule],
    };
  }
}
