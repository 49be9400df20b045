import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { InjectEntityManager } from '@nestjs/typeorm';
import { Queue } from 'bullmq';
import { EntityManager, LessThan } from 'typeorm';
import { redact } from '../common/redaction';
import { notificationsConfig } from '../config/configuration';
import { Notification, NotificationAttempt, NotificationStatus } from './notification.entity';
import { AnyNotificationJob, NOTIFICATION_JOB_DEFAULTS, NOTIFICATIONS_QUEUE, NotificationJob } from './notification-jobs';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature';

export type DeliveryResult = 'delivered' | 'skipped' | 'already_final';

/** The only way out to LegalPro: an outbox row written with the change, then a queued, retried, recorded delivery. */
@Injectable()
export class NotificationsService {
  private readonly logger = new Logger(NotificationsService.name);

  constructor(
    @InjectEntityManager() private readonly manager: EntityManager,
    @InjectQueue(NOTIFICATIONS_QUEUE) private readonly queue: Queue,
    @Inject(notificationsConfig.KEY) private readonly settings: ConfigType<typeof notificationsConfig>,
  ) {}

  /**
   * The state a new outbox row starts in. With no WEBHOOK_URL there is nowhere to deliver: the row is written
   * as `skipped` (so the record exists) and no job is queued. The row itself is written by the statement that
   * changes the state it announces, so that both commit together.
   */
  outboxState(): { status: NotificationStatus.Pending | NotificationStatus.Skipped; note?: string } {
    return this.settings.webhookUrl
      ? { status: NotificationStatus.Pending }
      : { status: NotificationStatus.Skipped, note: 'WEBHOOK_URL is not configured' };
  }

  /** Writes an outbox row in the caller's transaction; returns its id when a job must be queued after commit. */
  async createInTransaction(manager: EntityManager, request: { event: string; subjectId: string; payload: object }): Promise<string | undefined> {
    const state = this.outboxState();
    const result = await manager.insert(Notification, {
      channel: 'webhook',
      event: request.event,
      subjectId: request.subjectId,
      payload: redact(request.payload),
      status: state.status,
      lastError: state.note ?? null,
    });
    return state.status === NotificationStatus.Pending ? (result.identifiers[0] as { id: string }).id : undefined;
  }

  async dispatch(notificationIds: string[]): Promise<void> {
    for (const notificationId of notificationIds) {
      const job: AnyNotificationJob = { name: NotificationJob.DeliverWebhook, data: { notificationId } };
      try {
        await this.queue.add(job.name, job.data, { ...NOTIFICATION_JOB_DEFAULTS[job.name], jobId: `notification-${notificationId}` });
      } catch (e) {
        // The row is committed: the outbox sweep will enqueue it again.
        this.logger.warn(`Could not enqueue notification ${notificationId}: ${String(e)}`);
      }
    }
  }

  /** Re-enqueues outbox rows whose job was lost (a crash between commit and enqueue, a Redis flush). */
  async redispatchStale(olderThanMs: number): Promise<number> {
    const stale = await this.manager.find(Notification, {
      select: { id: true },
      where: { status: NotificationStatus.Pending, createdAt: LessThan(new Date(Date.now() - olderThanMs)) },
      take: 500,
    });
    await this.dispatch(stale.map((n) => n.id));
    return stale.length;
  }

  /** One delivery attempt; throws on failure so that BullMQ backs off and retries. */
  async deliver(notificationId: string, attempt: number, isFinalAttempt: boolean): Promise<DeliveryResult> {
    const notification = await this.manager.findOneBy(Notification, { id: notificationId });
    if (!notification || notification.status !== NotificationStatus.Pending) return 'already_final';
    if (!this.settings.webhookUrl) {
      await this.manager.update(Notification, { id: notificationId, status: NotificationStatus.Pending }, {
        status: NotificationStatus.Skipped,
        lastError: 'WEBHOOK_URL is not configured',
      });
      return 'skipped';
    }
    const body = JSON.stringify({
      id: notification.id,
      event: notification.event,
      createdAt: notification.createdAt.toISOString(),
      data: notification.payload,
    });
    const started = Date.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(this.settings.webhookUrl, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          [SIGNATURE_HEADER]: signWebhook(this.settings.webhookSecret, body, Math.floor(Date.now() / 1000)),
          'x-legalpro-event': notification.event,
          'x-legalpro-delivery': notification.id,
        },
        body,
        signal: AbortSignal.timeout(this.settings.webhookTimeoutMs),
      });
      statusCode = response.status;
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) error = `HTTP ${response.status}`;
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    await this.manager.transaction(async (tx) => {
      await tx.insert(NotificationAttempt, { notificationId, attempt, statusCode, error, duration: Date.now() - started });
      await tx.update(Notification, { id: notificationId, status: NotificationStatus.Pending }, {
        attempts: attempt,
        lastError: error,
        ...(error === null
          ? { status: NotificationStatus.Delivered, deliveredAt: new Date() }
          : isFinalAttempt
            ? { status: NotificationStatus.Failed }
            : {}),
      });
    });
    if (error !== null) throw new Error(`Webhook delivery ${notificationId} failed: ${error}`);
    return 'delivered';
  }
}
