import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Actor } from '../../audit/audit.service';
import { CurrentActor, Roles } from '../../auth/auth-user';
import { ErrorResponseDto } from '../../common/dto/error-response.dto';
import { AppError, ErrorCode, NotFoundError } from '../../common/errors/app-error';
import {
  CreateWebhookEndpointDto,
  RedeliverSinceDto,
  RedeliveryResponseDto,
  UpdateWebhookEndpointDto,
  WebhookEndpointListResponseDto,
  WebhookEndpointResponseDto,
  WebhookEndpointSecretResponseDto,
  WebhookEndpointViewDto,
} from './dto/webhook.dto';
import { WebhookEndpointRow } from './webhook-endpoints.repository';
import { DEFAULT_ENDPOINT_ID, WebhookEndpointsService } from './webhook-endpoints.service';

/** What an admin sees of an endpoint: everything but its secrets. */
export function endpointView(e: WebhookEndpointRow): WebhookEndpointViewDto {
  return {
    id: e.id,
    url: e.url,
    events: e.events,
    description: e.description,
    enabled: e.enabled,
    disabledReason: e.disabledReason,
    disabledAt: e.disabledAt,
    failingSince: e.failingSince,
    previousSecretExpiresAt: e.previousSecretExpiresAt,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}

/** LegalPro's webhook endpoints, for admins. The secret is answered only on creation and rotation. */
@ApiTags('webhooks')
@ApiBearerAuth()
@Roles('admin')
@ApiResponse({ status: 403, description: 'Admins only', type: ErrorResponseDto })
@Controller('api/webhook-endpoints')
export class WebhookEndpointsController {
  constructor(private readonly endpoints: WebhookEndpointsService) {}

  @Post()
  @ApiResponse({ status: 201, type: WebhookEndpointSecretResponseDto })
  @ApiResponse({ status: 400, description: 'A refused URL or an event pattern that names nothing', type: ErrorResponseDto })
  async create(@Body() dto: CreateWebhookEndpointDto, @CurrentActor() actor: Actor): Promise<WebhookEndpointSecretResponseDto> {
    const { endpoint, secret } = await this.endpoints.create(dto, actor);
    return { success: true, data: { ...endpointView(endpoint), secret } };
  }

  @Get()
  @ApiResponse({ status: 200, type: WebhookEndpointListResponseDto })
  async list(): Promise<WebhookEndpointListResponseDto> {
    return { success: true, data: (await this.endpoints.list()).map(endpointView) };
  }

  @Get(':id')
  @ApiResponse({ status: 200, type: WebhookEndpointResponseDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto })
  async get(@Param('id', new ParseUUIDPipe()) id: string): Promise<WebhookEndpointResponseDto> {
    const found = await this.endpoints.get(id);
    if (found.kind === 'not_found') throw new NotFoundError('Webhook endpoint');
    return { success: true, data: endpointView(found.endpoint) };
  }

  @Patch(':id')
  @ApiResponse({ status: 200, type: WebhookEndpointResponseDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto })
  async update(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() dto: UpdateWebhookEndpointDto,
    @CurrentActor() actor: Actor,
  ): Promise<WebhookEndpointResponseDto> {
    const found = await this.endpoints.update(id, dto, actor);
    if (found.kind === 'not_found') throw new NotFoundError('Webhook endpoint');
    return { success: true, data: endpointView(found.endpoint) };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiResponse({ status: 204 })
  @ApiResponse({ status: 404, type: ErrorResponseDto })
  async remove(@Param('id', new ParseUUIDPipe()) id: string, @CurrentActor() actor: Actor): Promise<void> {
    if (!(await this.endpoints.remove(id, actor))) throw new NotFoundError('Webhook endpoint');
  }

  /** A new secret, answered once; the old one keeps signing beside it for WEBHOOK_ROTATION_OVERLAP_HOURS. */
  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiResponse({ status: 200, type: WebhookEndpointSecretResponseDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto })
  async rotate(@Param('id', new ParseUUIDPipe()) id: string, @CurrentActor() actor: Actor): Promise<WebhookEndpointSecretResponseDto> {
    const rotated = await this.endpoints.rotateSecret(id, actor);
    if (rotated.kind === 'not_found') throw new NotFoundError('Webhook endpoint');
    return { success: true, data: { ...endpointView(rotated.endpoint), secret: rotated.secret } };
  }

  /** Sends again every failed delivery of this endpoint (`default`: WEBHOOK_URL) whose event is from `since` on. */
  @Post(':id/redeliver')
  @HttpCode(202)
  @ApiResponse({ status: 202, type: RedeliveryResponseDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto })
  @ApiResponse({ status: 409, description: 'The endpoint is disabled', type: ErrorResponseDto })
  async redeliver(@Param('id') id: string, @Body() dto: RedeliverSinceDto, @CurrentActor() actor: Actor): Promise<RedeliveryResponseDto> {
    if (id !== DEFAULT_ENDPOINT_ID && !/^[0-9a-f-]{36}$/i.test(id)) throw new NotFoundError('Webhook endpoint');
    const outcome = await this.endpoints.redeliverFailedSince(id, dto.since, actor);
    if (outcome.kind === 'not_found') throw new NotFoundError('Webhook endpoint');
    if (outcome.kind === 'endpoint_disabled')
      throw new AppError(ErrorCode.CONFLICT, 'The endpoint is disabled: enable it first (PATCH enabled: true)');
    return { success: true, data: { queued: outcome.count } };
  }
}
