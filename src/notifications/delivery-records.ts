import { EntityManager } from 'typeorm';
import { Notification, NotificationAttempt, NotificationStatus } from './notification.entity';

export interface DeliveryAttempt {
  notificationId: string;
  attempt: number;
  statusCode: number | null;
  /** null when the channel accepted the message. */
  error: string | null;
  durationMs: number;
  /** Masked address or number (email, SMS); none for the webhook. */
  recipient?: string;
  /** The notification ends here (a permanent refusal, or the last attempt); otherwise it stays pending for a retry. */
  final: boolean;
}

/**
 * Every channel's attempt is recorded the same way: the attempt row and the outbox row's new state commit together,
 * and only a still-pending row moves (a duplicate job cannot undo a delivery).
 */
export async function recordDeliveryAttempt(manager: EntityManager, a: DeliveryAttempt): Promise<void> {
  await manager.transaction(async (tx) => {
    await tx.insert(NotificationAttempt, {
      notificationId: a.notificationId,
      attempt: a.attempt,
      statusCode: a.statusCode,
      error: a.error,
      duration: a.durationMs,
      ...(a.recipient !== undefined ? { recipient: a.recipient } : {}),
    });
    await tx.update(Notification, { id: a.notificationId, status: NotificationStatus.Pending }, {
      attempts: a.attempt,
      lastError: a.error,
      ...(a.error === null
        ? { status: NotificationStatus.Delivered, deliveredAt: new Date() }
        : a.final
          ? { status: NotificationStatus.Failed }
          : {}),
    });
  });
}

/** A pending notification with nowhere to go (channel not configured, no address on record) is recorded as skipped. */
export async function markSkipped(manager: EntityManager, notificationId: string, reason: string): Promise<void> {
  await manager.update(Notification, { id: notificationId, status: NotificationStatus.Pending }, { status: NotificationStatus.Skipped, lastError: reason });
}
