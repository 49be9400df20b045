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
  private static readonly registered = new Map<boolean, DynamicModule>();

  /**
   * Processors (BullMQ workers) only run in processes started with MODE=worker or MODE=all. Payments and Alerts
   * both import this module: Nest makes one instance per DynamicModule object, so the same object is returned
   * each time, or every process would run two notification workers and two SMTP transports.
   */
  static register(options: { runWorkers: boolean }): DynamicModule {
    const existing = NotificationsModule.registered.get(options.runWorkers);
    if (existing) return existing;
    const module: DynamicModule = {
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
    NotificationsModule.registered.set(options.runWorkers, module);
    return module;
  }
}
