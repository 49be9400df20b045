import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsDate,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { WEBHOOK_EVENT_TYPES } from '../webhook-events';

const HTTP_URL = /^https?:\/\/[^\s]+$/;

export class CreateWebhookEndpointDto {
  /** Where events are POSTed; https and a public address in production. @example "https://legalpro.example/webhooks/payments" */
  @IsString() @MaxLength(2048) @Matches(HTTP_URL, { message: 'url must be an http(s) URL' }) url: string;

  /** Event names or families: `payment.*`, `bill.paid`, `*`. @example ["payment.*", "bill.paid"] */
  @IsArray()
  @ArrayMinSize(1, { message: 'events must name at least one event' })
  @ArrayMaxSize(WEBHOOK_EVENT_TYPES.length + 10)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  events: string[];

  /** What the endpoint is for. @example "LegalPro backend, production" */
  @IsOptional() @IsString() @MaxLength(500) description?: string;
}

export class UpdateWebhookEndpointDto {
  @IsOptional() @IsString() @MaxLength(2048) @Matches(HTTP_URL, { message: 'url must be an http(s) URL' }) url?: string;
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1, { message: 'events must name at least one event' })
  @ArrayMaxSize(WEBHOOK_EVENT_TYPES.length + 10)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  events?: string[];
  @IsOptional() @IsString() @MaxLength(500) description?: string;
  /** false: nothing is sent to it (its pending deliveries end failed); true: it receives new events again. */
  @IsOptional() @IsBoolean() enabled?: boolean;
}

export class WebhookEndpointViewDto {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  /** `admin` or `failing` (every delivery failed for WEBHOOK_DISABLE_AFTER_HOURS). */
  disabledReason: string | null;
  disabledAt: Date | null;
  /** Since when every delivery to it has failed; null while it answers. */
  failingSince: Date | null;
  /** Until when the previous secret still signs beside the current one (after a rotation). */
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export class WebhookEndpointWithSecretDto extends WebhookEndpointViewDto {
  /** Shown only in this answer: store it now. Verifies the `v1=` values of `x-legalpro-signature`. */
  secret: string;
}

export class WebhookEndpointResponseDto {
  success: boolean;
  data: WebhookEndpointViewDto;
}

export class WebhookEndpointSecretResponseDto {
  success: boolean;
  data: WebhookEndpointWithSecretDto;
}

export class WebhookEndpointListResponseDto {
  success: boolean;
  data: WebhookEndpointViewDto[];
}

export class RedeliverSinceDto {
  /** Failed deliveries of events from this time on are sent again. @example "2026-12-05T08:00:00Z" */
  @Type(() => Date) @IsDate({ message: 'since must be an ISO 8601 date' }) since: Date;
}

export class ListWebhookDeliveriesQueryDto {
  @IsOptional() @IsIn(['pending', 'delivered', 'failed'], { message: 'status must be one of: pending, delivered, failed' }) status?: string;
  /** An endpoint's id, or `default` for WEBHOOK_URL. */
  @IsOptional()
  @Matches(/^(default|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i, {
    message: 'endpointId must be a UUID or "default"',
  })
  endpointId?: string;
  /** An event (`payment.completed`) or a family (`payment.*`). */
  @IsOptional()
  @Matches(/^[a-z][a-z_]*\.([a-z_]+|\*)$/, { message: 'event must be an event name or a family such as payment.*' })
  event?: string;
  @IsOptional() @Type(() => Date) @IsDate({ message: 'from must be an ISO 8601 date' }) from?: Date;
  @IsOptional() @Type(() => Date) @IsDate({ message: 'to must be an ISO 8601 date' }) to?: Date;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100_000) page: number = 1;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit: number = 20;
}

export class WebhookDeliveryViewDto {
  id: string;
  /** The event's id: the body's `id` and the `x-legalpro-delivery` header, the same on every attempt. */
  eventId: string;
  endpointId: string;
  event: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  createdAt: Date;
}

export class WebhookDeliveryPageDto {
  items: WebhookDeliveryViewDto[];
  total: number;
  page: number;
  limit: number;
}

export class WebhookDeliveryListResponseDto {
  success: boolean;
  data: WebhookDeliveryPageDto;
}

export class RedeliveryResponseDto {
  success: boolean;
  data: { queued: number };
}
