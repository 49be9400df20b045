import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { UnrecoverableError } from 'bullmq';
import { alertsConfig } from '../config/configuration';
import { maskPhone } from '../common/phone-number';
import { ChannelDeliveryError, maskEmail } from './channels/delivery-error';
import { EmailChannel } from './channels/email.channel';
import { SmsChannel } from './channels/sms.channel';
import { ClientContact, ClientContactsRepository } from './client-contacts.repository';
import { PaymentClientPayload, RefundClientPayload } from './client-notifications';
import { ClientEvent, ClientEventFacts, renderEmail, renderSms } from './client-templates';
import { NotificationChannel, NotificationStatus } from './notification.entity';
import { NotificationsRepository } from './notifications.repository';
import type { DeliveryResult } from './notifications.service';
import { isOperatorEvent, renderOperatorEmail } from './operator-templates';

/** The facts a template needs, from the row's payload (written by the settling statement). */
function factsOf<E extends ClientEvent>(event: E, payload: object): ClientEventFacts[E] {
  switch (event) {
    case 'payment.received': {
      const p = payload as PaymentClientPayload;
      return {
        amount: p.amount,
        currency: p.currency,
        receipt: p.receipt,
        reference: p.reference,
        paidAt: p.paidAt ?? '',
      } as ClientEventFacts[E];
    }
    case 'payment.failed': {
      const p = payload as PaymentClientPayload;
      return {
        amount: p.amount,
        currency: p.currency,
        reference: p.reference,
        status: p.status,
        resultCode: p.resultCode,
        failedAt: p.failedAt ?? '',
      } as ClientEventFacts[E];
    }
    case 'refund.sent': {
      const p = payload as RefundClientPayload;
      return {
        amount: p.amount,
        currency: p.currency,
        receipt: p.receipt,
        reference: p.reference,
        sentAt: p.sentAt,
      } as ClientEventFacts[E];
    }
    default:
      throw new UnrecoverableError(`No template for client event ${String(event)}`);
  }
}

/**
 * Delivers one client email or SMS: reloads the outbox row, reads the recipient from the payment or payout (decrypted
 * here, for this attempt only), renders the template, sends, and records the attempt. A provider's permanent "no"
 * ends the notification `failed` at once (UnrecoverableError); anything else is thrown for BullMQ to back off and
 * retry, and the last attempt's failure ends it `failed`.
 */
@Injectable()
export class ClientDeliveryService {
  constructor(
    private readonly repository: NotificationsRepository,
    private readonly contacts: ClientContactsRepository,
    private readonly email: EmailChannel,
    private readonly sms: SmsChannel,
    @Inject(alertsConfig.KEY) private readonly alerts: ConfigType<typeof alertsConfig>,
  ) {}

  async deliver(notificationId: string, attempt: number, isFinalAttempt: boolean): Promise<DeliveryResult> {
    const notification = await this.repository.findById(notificationId);
    if (!notification || notification.status !== NotificationStatus.Pending) return 'already_final';
    const channel = notification.channel as NotificationChannel.Email | NotificationChannel.Sms;
    const event = notification.event as ClientEvent;

    if (channel === NotificationChannel.Email ? !this.email.enabled : !this.sms.enabled) {
      return this.skip(notificationId, channel === NotificationChannel.Email ? EmailChannel.NOT_CONFIGURED : SmsChannel.NOT_CONFIGURED);
    }
    if (isOperatorEvent(notification.event)) {
      if (this.alerts.emailTo.length === 0) return this.skip(notificationId, 'ALERT_EMAIL_TO is not configured');
      const to = this.alerts.emailTo.join(', ');
      return this.attempt(notificationId, attempt, isFinalAttempt, channel, to, () =>
        this.email.send({ to, ...renderOperatorEmail(notification.event, notification.payload as Record<string, unknown>) }),
      );
    }
    const contact = await this.contacts.forEvent(event, notification.subjectId);
    const address = channel === NotificationChannel.Email ? contact?.email : contact?.phone;
    if (!contact || !address) {
      // Anonymised since, or the subject is gone: there is no one to write to, and there never will be.
      return this.skip(
        notificationId,
        `No ${channel === NotificationChannel.Email ? 'email address' : 'phone number'} on record for ${notification.subjectId}`,
      );
    }

    return this.attempt(notificationId, attempt, isFinalAttempt, channel, address, () =>
      this.send(channel, event, notification.payload, address, contact),
    );
  }

  /** One send through a channel, recorded as an attempt; the notification ends delivered, failed, or stays for a retry. */
  private async attempt(
    notificationId: string,
    attempt: number,
    isFinalAttempt: boolean,
    channel: NotificationChannel.Email | NotificationChannel.Sms,
    address: string,
    send: () => Promise<{ statusCode: number | null }>,
  ): Promise<DeliveryResult> {
    const started = Date.now();
    let statusCode: number | null = null;
    let failure: ChannelDeliveryError | null = null;
    try {
      statusCode = (await send()).statusCode;
    } catch (e) {
      if (!(e instanceof ChannelDeliveryError)) throw e;
      failure = e;
      statusCode = e.statusCode;
    }
    await this.repository.recordAttempt({
      notificationId,
      attempt,
      statusCode,
      error: failure?.message ?? null,
      durationMs: Date.now() - started,
      recipient: channel === NotificationChannel.Email ? maskEmail(address) : maskPhone(address),
      final: failure !== null && (failure.permanent || isFinalAttempt),
    });
    if (failure === null) return 'delivered';
    const message = `${channel} notification ${notificationId} failed: ${failure.message}`;
    throw failure.permanent ? new UnrecoverableError(message) : new Error(message);
  }

  private async send(
    channel: NotificationChannel.Email | NotificationChannel.Sms,
    event: ClientEvent,
    payload: object,
    address: string,
    contact: ClientContact,
  ) {
    const facts = factsOf(event, payload);
    if (channel === NotificationChannel.Email) return this.email.send({ to: address, ...renderEmail(event, facts, contact.name) });
    return this.sms.send(address, renderSms(event, facts, contact.name));
  }

  private async skip(notificationId: string, reason: string): Promise<DeliveryResult> {
    await this.repository.markSkipped([notificationId], reason);
    return 'skipped';
  }
}
