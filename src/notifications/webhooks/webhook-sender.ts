import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { redactText } from '../../common/redaction';
import { notificationsConfig } from '../../config/configuration';
import { SIGNATURE_HEADER, signWebhook } from '../webhook-signature';
import { WebhookEvent, webhookBody } from './webhook-events';
import { Agent } from 'undici';
import { publicOnlyLookup, webhookUrlRefusal } from './webhook-url-policy';

export interface WebhookTarget {
  url: string;
  /** The current secret first; during a rotation's overlap the previous one too (one `v1=` each). */
  secrets: string[];
  /**
   * Whether WEBHOOK_URL_POLICY applies: to every endpoint an admin registered through the API, not to WEBHOOK_URL,
   * which operators set in the environment (LegalPro's backend may well sit at a private address beside us).
   */
  checkUrl: boolean;
}

export interface SendResult {
  statusCode: number | null;
  /** null when the endpoint answered 2xx. */
  error: string | null;
  durationMs: number;
}

/**
 * One signed POST of an event to one endpoint: the only place a webhook leaves the service. Knows HTTP only. Sent
 * with undici's `request` on a keep-alive Agent, not `fetch`: the WHATWG layer (Request, Headers, web streams) cost
 * the worker more CPU per event than the delivery's database writes (docs/performance.md). `request` never follows
 * a redirect, which would send the event (and skip the address check) somewhere the endpoint does not name.
 */
@Injectable()
export class WebhookSender implements OnApplicationShutdown {
  /** Connections of checked endpoints: every address a socket connects to is checked again (publicOnlyLookup). */
  private readonly checkedAgent = new Agent({ connect: { lookup: publicOnlyLookup } });
  private readonly agent = new Agent();

  constructor(@Inject(notificationsConfig.KEY) private readonly settings: ConfigType<typeof notificationsConfig>) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.checkedAgent.close(), this.agent.close()]);
  }

  async send(target: WebhookTarget, event: WebhookEvent): Promise<SendResult> {
    const started = Date.now();
    // At send time too: the name may point somewhere else than when the endpoint was saved.
    const refusal = target.checkUrl ? await webhookUrlRefusal(target.url, this.settings.webhookUrlPolicy) : null;
    if (refusal) return { statusCode: null, error: `URL refused: ${refusal}`, durationMs: Date.now() - started };
    const body = webhookBody(event);
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const url = new URL(target.url);
      const response = await (target.checkUrl && this.settings.webhookUrlPolicy !== 'any' ? this.checkedAgent : this.agent).request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'legalpro-payments-webhooks/1',
          [SIGNATURE_HEADER]: signWebhook(target.secrets, body, Math.floor(Date.now() / 1000)),
          'x-legalpro-event': event.event,
          // The event's id: the same on every retry, redelivery and endpoint, so a receiver drops repeats by it.
          'x-legalpro-delivery': event.id,
        },
        body,
        // One deadline for the whole exchange (connect, send, headers and body).
        signal: AbortSignal.timeout(this.settings.webhookTimeoutMs),
      });
      statusCode = response.statusCode;
      await response.body.dump().catch(() => undefined);
      if (statusCode < 200 || statusCode > 299) error = `HTTP ${statusCode}`;
    } catch (e) {
      const err = e as Error;
      const cause = (err.cause as Error | undefined)?.message;
      error = redactText(`${err.name}: ${err.message}${cause ? ` (${cause})` : ''}`).slice(0, 500);
    }
    return { statusCode, error, durationMs: Date.now() - started };
  }
}
