import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { provideQueueHealth } from '../common/queues/queue-health';
import { DatabaseModule } from '../database/database.module';
import { EmailChannel } from './channels/email.channel';
import { SmsChannel } from './channels/sms.channel';
import { ClientContactsRepository } from './client-contacts.repository';
import { ClientDeliveryService } from './client-delivery.service';
import { Notification, NotificationAttempt } from './notification.entity';
import { NOTIFICATIONS_QUEUE } from './notification-jobs';
import { NotificationsProcessor } from './notifications.processor';
import { NotificationsRepository } from './notifications.repository';
import { NotificationsScheduler } from './notifications.scheduler';
import { NotificationsService } from './notifications.service';

/** The only way out to LegalPro (webhooks), clients (email, SMS) and operators (email): an outbox and its delivery. */
@Module({})
export class NotificationsModule {
  private static readonly registered = new Map<boolean, DynamicModule>();

  /**
   * Processors (BullMQ workers) only run in processes started with MODE=worker or MODE=all. Several modules import
   * this one: Nest makes one instance per DynamicModule object, so the same object is returned each time, or every
   * process would run two notification workers and two SMTP transports.
   */
  static register(options: { runWorkers: boolean }): DynamicModule {
    const existing = NotificationsModule.registered.get(options.runWorkers);
    if (existing) return existing;
    const module: DynamicModule = {
      module: NotificationsModule,
      imports: [
        DatabaseModule,
        TypeOrmModule.forFeature([Notification, NotificationAttempt]),
        BullModule.registerQueue({ name: NOTIFICATIONS_QUEUE }),
      ],
      providers: [
        NotificationsRepository,
        NotificationsService,
        EmailChannel,
        SmsChannel,
        provideQueueHealth(NOTIFICATIONS_QUEUE),
        ...(options.runWorkers ? [ClientContactsRepository, ClientDeliveryService, NotificationsProcessor, NotificationsScheduler] : []),
      ],
      // EmailChannel: for other modules' own emails (e.g. operators' alerts). The repository: for src/privacy.
      exports: [NotificationsService, NotificationsRepository, EmailChannel],
    };
    NotificationsModule.registered.set(options.runWorkers, module);
    return module;
  }
}
