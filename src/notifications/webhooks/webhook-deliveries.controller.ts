import { Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Actor } from '../../audit/audit.service';
import { CurrentActor, Roles } from '../../auth/auth-user';
import { ErrorResponseDto } from '../../common/dto/error-response.dto';
import { AppError, ErrorCode, NotFoundError } from '../../common/errors/app-error';
import { ListWebhookDeliveriesQueryDto, RedeliveryResponseDto, WebhookDeliveryListResponseDto } from './dto/webhook.dto';
import { WebhookEndpointsService } from './webhook-endpoints.service';

/** Every delivery of every event to every endpoint (the default one included), for admins. */
@ApiTags('webhooks')
@ApiBearerAuth()
@Roles('admin')
@ApiResponse({ status: 403, description: 'Admins only', type: ErrorResponseDto })
@Controller('api/webhook-deliveries')
export class WebhookDeliveriesController {
  constructor(private readonly endpoints: WebhookEndpointsService) {}

  /** Newest first; filter by status, endpoint (`default` for WEBHOOK_URL), event or family, and creation time. */
  @Get()
  @ApiResponse({ status: 200, type: WebhookDeliveryListResponseDto })
  async list(@Query() q: ListWebhookDeliveriesQueryDto): Promise<WebhookDeliveryListResponseDto> {
    const [items, total] = await this.endpoints.listDeliveries(q);
    return { success: true, data: { items, total, page: q.page, limit: q.limit } };
  }

  /** Every attempt of one delivery: status code, duration, error. */
  @Get(':id/attempts')
  async attempts(@Param('id', new ParseUUIDPipe()) id: string) {
    return { success: true, data: await this.endpoints.attemptsOf(id) };
  }

  /** The same event id and body again, newly signed. */
  @Post(':id/redeliver')
  @HttpCode(202)
  @ApiResponse({ status: 202, type: RedeliveryResponseDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto })
  @ApiResponse({ status: 409, description: 'Still being delivered, or its endpoint is disabled', type: ErrorResponseDto })
  async redeliver(@Param('id', new ParseUUIDPipe()) id: string, @CurrentActor() actor: Actor): Promise<RedeliveryResponseDto> {
    const outcome = await this.endpoints.redeliver(id, actor);
    switch (outcome.kind) {
      case 'queued':
        return { success: true, data: { queued: 1 } };
      case 'not_found':
        throw new NotFoundError('Webhook delivery');
      case 'in_progress':
        throw new AppError(ErrorCode.CONFLICT, 'This delivery is still pending: it will be attempted again on its schedule');
      case 'endpoint_disabled':
        throw new AppError(ErrorCode.CONFLICT, 'The endpoint is disabled: enable it first (PATCH enabled: true)');
    }
  }
}
