import { JobsOptions } from 'bullmq';

export const NOTIFICATIONS_QUEUE = 'notifications';

export enum NotificationJob {
  DeliverWebhook = 'deliver-webhook',
}

export interface NotificationJobPayloads {
  [NotificationJob.DeliverWebhook]: { notificationId: string };
}

export type AnyNotificationJob = { [N in NotificationJob]: { name: N; data: NotificationJobPayloads[N] } }[NotificationJob];

/** LegalPro's endpoint may be down for a while: 6 attempts, 2 s doubling (about two minutes in all). */
export const WEBHOOK_ATTEMPTS = 6;
export const WEBHOOK_BACKOFF_MS = 2_000;

export const NOTIFICATION_JOB_DEFAULTS: Record<NotificationJob, JobsOptions> = {
  [NotificationJob.DeliverWebhook]: {
    attempts: WEBHOOK_ATTEMPTS,
    backoff: { type: 'exponential', delay: WEBHOOK_BACKOFF_MS },
    removeOnComplete: true,
    removeOnFail: 1000,
  },
};
