import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { createTransport, Transporter } from 'nodemailer';
import { redactText } from '../../common/redaction';
import { notificationsConfig } from '../../config/configuration';
import { ChannelDeliveryError, maskEmailsInText } from './delivery-error';

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Email over SMTP with nodemailer. On only when SMTP_URL or SMTP_HOST is set. */
@Injectable()
export class EmailChannel implements OnModuleDestroy {
  static readonly NOT_CONFIGURED = 'SMTP_URL (or SMTP_HOST) is not configured';
  private readonly transporter?: Transporter;

  constructor(@Inject(notificationsConfig.KEY) private readonly settings: ConfigType<typeof notificationsConfig>) {
    const email = settings.email;
    if (!email) return;
    const timeouts = { connectionTimeout: email.timeoutMs, greetingTimeout: email.timeoutMs, socketTimeout: email.timeoutMs };
    this.transporter = createTransport(
      typeof email.transport === 'string' ? { url: email.transport, ...timeouts } : { ...email.transport, ...timeouts },
    );
  }

  get enabled(): boolean {
    return this.transporter !== undefined;
  }

  /** Resolves when the SMTP server accepted the message; throws ChannelDeliveryError otherwise. */
  async send(message: EmailMessage): Promise<{ statusCode: number | null }> {
    if (!this.transporter || !this.settings.email) throw new ChannelDeliveryError(EmailChannel.NOT_CONFIGURED, true);
    try {
      const info = await this.transporter.sendMail({ from: this.settings.email.from, ...message });
      return { statusCode: smtpCode(info.response) };
    } catch (e) {
      const err = e as { code?: string; responseCode?: number; response?: string; permanent?: boolean; message?: string };
      // nodemailer sets `permanent` from the reply class (5xx but 503); an envelope it refused itself has no reply.
      const permanent = err.permanent === true || (err.code === 'EENVELOPE' && err.responseCode === undefined);
      const detail = err.responseCode
        ? `SMTP ${err.responseCode}: ${err.response ?? err.message}`
        : `${err.code ?? 'Error'}: ${err.message}`;
      throw new ChannelDeliveryError(redactText(maskEmailsInText(detail)).slice(0, 500), permanent, err.responseCode ?? null);
    }
  }

  onModuleDestroy(): void {
    this.transporter?.close();
  }
}

/** `250 2.0.0 OK: queued as ...` -> 250. */
function smtpCode(response: string | undefined): number | null {
  const code = Number(/^(\d{3})/.exec(response ?? '')?.[1]);
  return Number.isFinite(code) && code > 0 ? code : null;
}
