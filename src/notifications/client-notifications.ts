import { ClientNotificationEventName } from '../config/env.validation';
import { NotificationChannel, NotificationStatus } from './notification.entity';

export type ClientChannel = NotificationChannel.Email | NotificationChannel.Sms;

/** One outbox row to write for a client event, before it knows its subject. */
export interface ClientOutboxRow {
  channel: ClientChannel;
  event: ClientNotificationEventName;
  status: NotificationStatus.Pending | NotificationStatus.Skipped;
  last_error: string | null;
}

export interface ClientChannelsState {
  clientEvents: readonly ClientNotificationEventName[];
  /** Undefined when on, else why not (recorded on the skipped row). */
  emailOff?: string;
  smsOff?: string;
}

/**
 * The rows a client event writes: none when CLIENT_NOTIFICATION_EVENTS leaves it out; else one per channel, email
 * only when the client gave an address, and `skipped` (with the reason) for a channel that is not configured,
 * so the record of what was (not) sent exists either way.
 */
export function planClientNotifications(
  state: ClientChannelsState,
  event: ClientNotificationEventName,
  hasEmail: boolean,
): ClientOutboxRow[] {
  if (!state.clientEvents.includes(event)) return [];
  const row = (channel: ClientChannel, off: string | undefined): ClientOutboxRow =>
    off
      ? { channel, event, status: NotificationStatus.Skipped, last_error: off }
      : { channel, event, status: NotificationStatus.Pending, last_error: null };
  return [...(hasEmail ? [row(NotificationChannel.Email, state.emailOff)] : []), row(NotificationChannel.Sms, state.smsOff)];
}

/** What a client row's payload holds for a payment event: the settled row's facts, no personal data. */
export interface PaymentClientPayload {
  paymentId: string;
  amount: number;
  currency: string;
  reference: string;
  receipt: string | null;
  status: string;
  resultCode: string | null;
  paidAt: string | null;
  failedAt: string | null;
}

/** ...and for a refund. */
export interface RefundClientPayload {
  payoutId: string;
  paymentId: string | null;
  amount: number;
  currency: string;
  receipt: string | null;
  reference: string | null;
  sentAt: string;
}
