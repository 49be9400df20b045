import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EmailChannel } from './channels/email.channel';
import { SmsChannel } from './channels/sms.channel';
import { ClientContactsRepository } from './client-contacts.repository';
import { ClientDeliveryService } from './client-delivery.service';
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
      providers: [
        NotificationsService,
        EmailChannel,
        SmsChannel,
        ...(options.runWorkers ? [ClientContactsRepository, ClientDeliveryService, NotificationsProcessor] : []),
      ],
      // EmailChannel: for other modules' own emails (e.g. operators' alerts).
      exports: [NotificationsService, EmailChannel, BullModule],
    };
  }
}
