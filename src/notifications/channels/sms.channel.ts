import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { redactText } from '../../common/redaction';
import { notificationsConfig } from '../../config/configuration';
import { ChannelDeliveryError } from './delivery-error';

/** Statuses a gateway may answer differently later: request timeout and rate limiting. Other 4xx are final. */
const RETRYABLE_4XX = new Set([408, 429]);

/**
 * SMS through an HTTP gateway: `POST SMS_GATEWAY_URL` with `Authorization: Bearer SMS_GATEWAY_API_KEY` and the JSON
 * `{ to, message, senderId }` (`to` in E.164, `+2547...`). 2xx means the gateway took it. On only when configured.
 */
@Injectable()
export class SmsChannel {
  static readonly NOT_CONFIGURED = 'SMS_GATEWAY_URL is not configured';

  constructor(@Inject(notificationsConfig.KEY) private readonly settings: ConfigType<typeof notificationsConfig>) {}

  get enabled(): boolean {
    return this.settings.sms !== undefined;
  }

  /** `msisdn` as stored (`2547...`); throws ChannelDeliveryError unless the gateway answered 2xx. */
  async send(msisdn: string, message: string): Promise<{ statusCode: number }> {
    const sms = this.settings.sms;
    if (!sms) throw new ChannelDeliveryError(SmsChannel.NOT_CONFIGURED, true);
    let response: Response;
    try {
      response = await fetch(sms.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${sms.apiKey}` },
        body: JSON.stringify({ to: `+${msisdn}`, message, senderId: sms.senderId }),
        // A redirect would resend the key and the number somewhere we were not told about.
        redirect: 'manual',
        signal: AbortSignal.timeout(sms.timeoutMs),
      });
    } catch (e) {
      const err = e as Error;
      const detail =
        err.name === 'TimeoutError'
          ? `no answer within ${sms.timeoutMs} ms`
          : `${err.name}: ${(err.cause as Error | undefined)?.message ?? err.message}`;
      throw new ChannelDeliveryError(redactText(`SMS gateway: ${detail}`), false);
    }
    const body = await response.text().catch(() => '');
    const status = response.status;
    if (status >= 200 && status < 300) return { statusCode: status };
    // Gateways often echo the number in their error: masked by redactText before it is stored anywhere.
    const detail = redactText(`HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`);
    const permanent = (status >= 300 && status < 400) || (status >= 400 && status < 500 && !RETRYABLE_4XX.has(status));
    throw new ChannelDeliveryError(detail, permanent, status);
  }
}
