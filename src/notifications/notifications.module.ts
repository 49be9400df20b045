import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { provideQueueHealth } from '../common/queues/queue-health';
import { AuditModule } from '../audit/audit.module';
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
import { WebhookDeliveriesController } from './webhooks/webhook-deliveries.controller';
import { WebhookDeliveriesRepository } from './webhooks/webhook-deliveries.repository';
import { WebhookDeliveryService } from './webhooks/webhook-delivery.service';
import { WebhookEndpointsController } from './webhooks/webhook-endpoints.controller';
import { WebhookEndpointsRepository } from './webhooks/webhook-endpoints.repository';
import { WebhookEndpointsService } from './webhooks/webhook-endpoints.service';
import { WebhookOutboxPoller } from './webhooks/webhook-outbox.poller';
import { WebhookSender } from './webhooks/webhook-sender';

/**
 * The only way out to LegalPro (webhooks, to WEBHOOK_URL and to the endpoints admins register), clients (email, SMS)
 * and operators (email): an outbox and its delivery.
 */
@Module({})
export class NotificationsModule {
  private static readonly registered = new Map<boolean, DynamicModule>();

  /**
   * Processors (BullMQ workers) and the webhook outbox poller only run in processes started with MODE=worker or
   * MODE=all. Several modules import this one: Nest makes one instance per DynamicModule object, so the same object is
   * returned each time, or every process would run two notification workers and two SMTP transports.
   */
  static register(options: { runWorkers: boolean }): DynamicModule {
    const existing = NotificationsModule.registered.get(options.runWorkers);
    if (existing) return existing;
    const module: DynamicModule = {
      module: NotificationsModule,
      imports: [
        DatabaseModule,
        AuditModule,
        TypeOrmModule.forFeature([Notification, NotificationAttempt]),
        BullModule.registerQueue({ name: NOTIFICATIONS_QUEUE }),
      ],
      // Webhook endpoints (admin API) and their deliveries: src/notifications/webhooks, docs/webhooks.md.
      controllers: [WebhookEndpointsController, WebhookDeliveriesController],
      providers: [
        NotificationsRepository,
        NotificationsService,
        WebhookEndpointsRepository,
        WebhookDeliveriesRepository,
        WebhookSender,
        WebhookDeliveryService,
        WebhookEndpointsService,
        EmailChannel,
        SmsChannel,
        provideQueueHealth(NOTIFICATIONS_QUEUE),
        ...(options.runWorkers
          ? [ClientContactsRepository, ClientDeliveryService, NotificationsProcessor, NotificationsScheduler, WebhookOutboxPoller]
          : []),
      ],
      // EmailChannel: for other modules' own emails (e.g. operators' alerts). The repository: for src/privacy.
      exports: [NotificationsService, NotificationsRepository, EmailChannel],
    };
    NotificationsModule.registered.set(options.runWorkers, module);
    return module;
  }
}
