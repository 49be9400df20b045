import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { randomUUID } from 'node:crypto';
import { Actor, AuditService } from '../../audit/audit.service';
import { FieldEncryptionService } from '../../common/crypto/field-encryption.service';
import { FIELDS } from '../../common/crypto/sealed-field';
import { ValidationError } from '../../common/errors/app-error';
import { notificationsConfig } from '../../config/configuration';
import { Database } from '../../database/database';
import { NotificationChannel, NotificationStatus } from '../notification.entity';
import { NotificationsRepository } from '../notifications.repository';
import { NotificationsService } from '../notifications.service';
import { newWebhookSecret } from './webhook-endpoint-secrets';
import { WebhookEndpointChanges, WebhookEndpointRow, WebhookEndpointsRepository } from './webhook-endpoints.repository';
import { DeliveryFilter, DeliveryListRow, WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookDeliveryService } from './webhook-delivery.service';
import { unknownEventPatterns } from './webhook-events';
import { webhookUrlRefusal } from './webhook-url-policy';

/** The default endpoint's id in delivery lists and redeliveries: WEBHOOK_URL, whose records are the outbox rows. */
export const DEFAULT_ENDPOINT_ID = 'default';

export interface EndpointInput {
  url: string;
  events: string[];
  description?: string | null;
}

export type EndpointOutcome = { kind: 'found'; endpoint: WebhookEndpointRow } | { kind: 'not_found' };
export type EndpointWithSecret = { kind: 'found'; endpoint: WebhookEndpointRow; secret: string } | { kind: 'not_found' };
export type RedeliveryOutcome = { kind: 'queued' } | { kind: 'not_found' } | { kind: 'in_progress' } | { kind: 'endpoint_disabled' };
export type BulkRedeliveryOutcome = { kind: 'queued'; count: number } | { kind: 'not_found' } | { kind: 'endpoint_disabled' };

/** Endpoints as data, for admins: saved, changed, rotated and deleted with an audit event each; deliveries listed and redelivered. */
@Injectable()
export class WebhookEndpointsService {
  constructor(
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly notificationsRepository: NotificationsRepository,
    private readonly notifications: NotificationsService,
    private readonly delivery: WebhookDeliveryService,
    private readonly crypto: FieldEncryptionService,
    private readonly audit: AuditService,
    private readonly db: Database,
    @Inject(notificationsConfig.KEY) private readonly settings: ConfigType<typeof notificationsConfig>,
  ) {}

  /** Checks before anything is written: a refused URL or an unknown event pattern is a 400 with nothing stored. */
  private async check(input: Partial<EndpointInput>): Promise<void> {
    if (input.url !== undefined) {
      const refusal = await webhookUrlRefusal(input.url, this.settings.webhookUrlPolicy);
      if (refusal) throw new ValidationError(`url ${refusal}`, { field: 'url' });
    }
    if (input.events !== undefined) {
      const unknown = unknownEventPatterns(input.events);
      if (unknown.length) {
        throw new ValidationError(`events: ${unknown.join(', ')} name no event this service sends (see docs/webhooks.md)`, {
          field: 'events',
          unknown,
        });
      }
    }
  }

  async create(input: EndpointInput, actor: Actor): Promise<{ endpoint: WebhookEndpointRow; secret: string }> {
    await this.check(input);
    const id = randomUUID();
    const secret = newWebhookSecret();
    const endpoint = await this.db.transaction(async (tx) => {
      const row = await this.endpoints.insert(tx, {
        id,
        url: input.url,
        events: [...new Set(input.events)],
        description: input.description ?? null,
        secretEncrypted: this.crypto.encrypt(secret, FIELDS.webhookEndpointSecret(id)),
        createdBy: actor.id ?? null,
      });
      await this.audit.record(
        actor,
        { action: 'webhook_endpoint.created', entityType: 'webhook_endpoint', entityId: id, after: { url: row.url, events: row.events } },
        tx,
      );
      return row;
    });
    return { endpoint, secret };
  }

  list(): Promise<WebhookEndpointRow[]> {
    return this.endpoints.list();
  }

  async get(id: string): Promise<EndpointOutcome> {
    const endpoint = await this.endpoints.findById(id);
    return endpoint ? { kind: 'found', endpoint } : { kind: 'not_found' };
  }

  async update(id: string, changes: WebhookEndpointChanges, actor: Actor): Promise<EndpointOutcome> {
    await this.check(changes);
    const endpoint = await this.db.transaction(async (tx) => {
      const before = await this.endpoints.lock(tx, id);
      if (!before) return null;
      const after = await this.endpoints.update(tx, id, { ...changes, events: changes.events && [...new Set(changes.events)] });
      if (!after) return null;
      await this.audit.record(
        actor,
        {
          action: 'webhook_endpoint.updated',
          entityType: 'webhook_endpoint',
          entityId: id,
          before: { url: before.url, events: before.events, enabled: before.enabled },
          after: { url: after.url, events: after.events, enabled: after.enabled },
        },
        tx,
      );
      return after;
    });
    return endpoint ? { kind: 'found', endpoint } : { kind: 'not_found' };
  }

  async remove(id: string, actor: Actor): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const before = await this.endpoints.lock(tx, id);
      if (!before || !(await this.endpoints.delete(tx, id))) return false;
      await this.audit.record(
        actor,
        {
          action: 'webhook_endpoint.deleted',
          entityType: 'webhook_endpoint',
          entityId: id,
          before: { url: before.url, events: before.events },
        },
        tx,
      );
      return true;
    });
  }

  /** A new secret signs from now on; the current one keeps signing beside it for WEBHOOK_ROTATION_OVERLAP_HOURS. */
  async rotateSecret(id: string, actor: Actor): Promise<EndpointWithSecret> {
    const secret = newWebhookSecret();
    const endpoint = await this.db.transaction(async (tx) => {
      const current = await this.endpoints.lock(tx, id);
      if (!current) return null;
      const old = this.crypto.decrypt(current.secretEncrypted, FIELDS.webhookEndpointSecret(id));
      const overlapEnds = new Date(Date.now() + this.settings.webhookRotationOverlapMs);
      const row = await this.endpoints.rotateSecret(
        tx,
        id,
        this.crypto.encrypt(secret, FIELDS.webhookEndpointSecret(id)),
        this.crypto.encrypt(old, FIELDS.webhookEndpointPreviousSecret(id)),
        overlapEnds,
      );
      await this.audit.record(
        actor,
        {
          action: 'webhook_endpoint.secret_rotated',
          entityType: 'webhook_endpoint',
          entityId: id,
          after: { previousSecretExpiresAt: overlapEnds },
        },
        tx,
      );
      return row;
    });
    return endpoint ? { kind: 'found', endpoint, secret } : { kind: 'not_found' };
  }

  listDeliveries(filter: DeliveryFilter): Promise<[DeliveryListRow[], number]> {
    return this.deliveries.list(filter);
  }

  attemptsOf(deliveryId: string) {
    return this.deliveries.attemptsOf(deliveryId);
  }

  /** The same event (id and body) again, with a new signature: one delivery, whether it was delivered or failed. */
  async redeliver(deliveryId: string, actor: Actor): Promise<RedeliveryOutcome> {
    const delivery = await this.deliveries.findForSending(deliveryId);
    if (delivery) {
      const endpoint = await this.endpoints.findById(delivery.endpointId);
      if (!endpoint?.enabled) return { kind: 'endpoint_disabled' };
      if (!(await this.deliveries.redeliver(deliveryId))) return { kind: 'in_progress' };
      await this.auditRedelivery(actor, delivery.endpointId, [deliveryId]);
      await this.delivery.dispatch([deliveryId]);
      return { kind: 'queued' };
    }
    const outboxRow = await this.notificationsRepository.findById(deliveryId);
    if (!outboxRow || (outboxRow.channel as NotificationChannel) !== NotificationChannel.Webhook || !this.settings.webhookUrl)
      return { kind: 'not_found' };
    if (!(await this.notificationsRepository.redeliverWebhook(deliveryId))) return { kind: 'in_progress' };
    await this.auditRedelivery(actor, DEFAULT_ENDPOINT_ID, [deliveryId]);
    await this.notifications.dispatch([{ id: deliveryId, channel: NotificationChannel.Webhook, status: NotificationStatus.Pending }]);
    return { kind: 'queued' };
  }

  /** Every failed delivery of an endpoint (or of the default one) whose event is from `since` on, sent again. */
  async redeliverFailedSince(endpointId: string, since: Date, actor: Actor): Promise<BulkRedeliveryOutcome> {
    if (endpointId === DEFAULT_ENDPOINT_ID) {
      if (!this.settings.webhookUrl) return { kind: 'not_found' };
      const rows = await this.notificationsRepository.redeliverFailedWebhooksSince(since);
      await this.auditRedelivery(
        actor,
        endpointId,
        rows.map((r) => r.id),
        since,
      );
      await this.notifications.dispatch(rows);
      return { kind: 'queued', count: rows.length };
    }
    const endpoint = await this.endpoints.findById(endpointId);
    if (!endpoint) return { kind: 'not_found' };
    if (!endpoint.enabled) return { kind: 'endpoint_disabled' };
    const ids = await this.deliveries.redeliverFailedSince(endpointId, since);
    await this.auditRedelivery(actor, endpointId, ids, since);
    await this.delivery.dispatch(ids);
    return { kind: 'queued', count: ids.length };
  }

  private async auditRedelivery(actor: Actor, endpointId: string, deliveryIds: string[], since?: Date): Promise<void> {
    await this.audit.record(actor, {
      action: 'webhook_delivery.redelivered',
      entityType: 'webhook_endpoint',
      entityId: endpointId,
      metadata: { deliveries: deliveryIds.length, deliveryIds: deliveryIds.slice(0, 100), since: since ?? null },
    });
  }
}
