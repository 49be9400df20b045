import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Queue } from 'bullmq';
import { AuditService, SYSTEM_ACTOR } from '../../audit/audit.service';
import { FieldEncryptionService } from '../../common/crypto/field-encryption.service';
import { addJob } from '../../common/queues/add-job';
import { currentRequestId } from '../../common/request-context';
import { notificationsConfig } from '../../config/configuration';
import { Database } from '../../database/database';
import { NOTIFICATION_JOB_DEFAULTS, NOTIFICATIONS_QUEUE, NotificationJob } from '../notification-jobs';
import { signingSecrets } from './webhook-endpoint-secrets';
import { WebhookEndpointsRepository, WebhookRoute } from './webhook-endpoints.repository';
import { WebhookDeliveriesRepository, WebhookDeliveryStatus } from './webhook-deliveries.repository';
import { eventMatches, WebhookEvent } from './webhook-events';
import { EARLY_RUN_TOLERANCE_MS, nextAttemptAt, WebhookJobOutcome } from './webhook-retry';
import { WebhookSender } from './webhook-sender';

/**
 * Events to registered endpoints: one delivery per event and matching endpoint (fan-out), each attempt recorded, the
 * retry schedule kept in Postgres, and an endpoint that has failed for WEBHOOK_DISABLE_AFTER_HOURS disabled.
 */
@Injectable()
export class WebhookDeliveryService {
  private readonly logger = new Logger(WebhookDeliveryService.name);

  constructor(
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly sender: WebhookSender,
    private readonly crypto: FieldEncryptionService,
    private readonly audit: AuditService,
    private readonly db: Database,
    @InjectQueue(NOTIFICATIONS_QUEUE) private readonly queue: Queue,
    @Inject(notificationsConfig.KEY) private readonly settings: ConfigType<typeof notificationsConfig>,
  ) {}

  /**
   * Writes a delivery for each endpoint whose patterns name the event, and queues those of enabled endpoints (a
   * disabled one's is recorded failed, for a later bulk redelivery). Repeatable: an endpoint that already has its
   * delivery gets no second one. The caller records that the event was fanned out, with its own next write
   * (NotificationsService.deliverDueWebhooks): a crash in between only repeats this. `routes`: the endpoints as the caller read
   * them with the event (NotificationsRepository.lockDueWebhooks).
   */
  async fanOut(event: WebhookEvent, routes: WebhookRoute[]): Promise<number> {
    const matching = routes.filter((e) => e.events.some((p) => eventMatches(p, event.event)));
    const ids = await this.deliveries.insertForEvent(
      event.id,
      event.event,
      matching.map((e) => ({ id: e.id, enabled: e.enabled })),
    );
    await this.dispatch(ids);
    return ids.length;
  }

  /** Queues delivery jobs; never throws (the rows are committed: the outbox sweep queues any it could not). */
  async dispatch(deliveryIds: string[]): Promise<void> {
    const requestId = currentRequestId();
    await Promise.all(
      deliveryIds.map(async (deliveryId) => {
        try {
          await addJob(
            this.queue,
            NotificationJob.DeliverEndpointWebhook,
            { deliveryId, ...(requestId ? { requestId } : {}) },
            { ...NOTIFICATION_JOB_DEFAULTS[NotificationJob.DeliverEndpointWebhook], jobId: `webhook-delivery-${deliveryId}` },
          );
        } catch (e) {
          this.logger.warn(`Could not enqueue webhook delivery ${deliveryId}: ${String(e)}`);
        }
      }),
    );
  }

  /** Queues again the deliveries whose job was lost (a crash, a Redis flush): pending and overdue. */
  async redispatchDue(overdueMs: number): Promise<number> {
    const due = await this.deliveries.findDue(new Date(Date.now() - overdueMs), 500);
    await this.dispatch(due);
    return due.length;
  }

  /** One attempt of one delivery. */
  async deliver(deliveryId: string): Promise<WebhookJobOutcome> {
    const delivery = await this.deliveries.findForSending(deliveryId);
    if (!delivery || delivery.status !== WebhookDeliveryStatus.Pending) return { kind: 'done' };
    if (delivery.nextAttemptAt.getTime() > Date.now() + EARLY_RUN_TOLERANCE_MS) return { kind: 'retry', at: delivery.nextAttemptAt };
    const endpoint = await this.endpoints.findById(delivery.endpointId);
    if (!endpoint?.enabled) {
      await this.deliveries.markFailed(deliveryId, 'endpoint disabled');
      return { kind: 'done' };
    }
    const attempt = delivery.attempts + 1;
    const event: WebhookEvent = {
      id: delivery.eventId,
      event: delivery.event,
      createdAt: delivery.eventCreatedAt,
      payload: delivery.payload,
    };
    const result = await this.sender.send({ url: endpoint.url, secrets: signingSecrets(endpoint, this.crypto), checkUrl: true }, event);
    let retryAt: Date | null = null;
    let error = result.error;
    if (error === null) {
      await this.endpoints.markAnswering(endpoint.id);
    } else {
      retryAt = nextAttemptAt(attempt - delivery.attemptsBeforeRedelivery, this.settings);
      if (await this.disableIfFailingTooLong(endpoint.id)) {
        retryAt = null;
        error = `${error}; endpoint disabled after failing for ${this.settings.webhookDisableAfterMs / 3_600_000} h`;
      }
    }
    await this.deliveries.recordAttempt({
      deliveryId,
      attempt,
      statusCode: result.statusCode,
      error,
      durationMs: result.durationMs,
      nextAttemptAt: retryAt,
    });
    return retryAt ? { kind: 'retry', at: retryAt } : { kind: 'done' };
  }

  /**
   * After a failure: an endpoint whose deliveries have all failed since longer than WEBHOOK_DISABLE_AFTER_HOURS is
   * disabled and audited, once (a guarded UPDATE). The `webhook_endpoint_disabled` alert then tells the operators.
   */
  private async disableIfFailingTooLong(endpointId: string): Promise<boolean> {
    const failingSince = await this.endpoints.markFailing(endpointId);
    const limit = new Date(Date.now() - this.settings.webhookDisableAfterMs);
    if (!failingSince || failingSince > limit) return false;
    const disabled = await this.db.transaction(async (tx) => {
      const row = await this.endpoints.disableFailing(tx, endpointId, limit);
      if (!row) return null;
      await this.audit.record(
        SYSTEM_ACTOR,
        {
          action: 'webhook_endpoint.disabled',
          entityType: 'webhook_endpoint',
          entityId: endpointId,
          before: { enabled: true },
          after: { enabled: false, disabledReason: 'failing' },
          metadata: { url: row.url, failingSince: row.failingSince, disableAfterHours: this.settings.webhookDisableAfterMs / 3_600_000 },
        },
        tx,
      );
      return row;
    });
    if (disabled)
      this.logger.warn(
        `Webhook endpoint ${endpointId} (${disabled.url}) disabled: every delivery failed since ${failingSince.toISOString()}`,
      );
    return true;
  }
}
