import { Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';
import { Roles } from '../auth/auth-user';
import { AlertEvaluation, AlertsService } from './alerts.service';
import { EpisodeRow } from './alerts.repository';

export class ListAlertsQueryDto {
  /** Only episodes still open (default: all, newest first). */
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  open?: boolean;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
}

@ApiTags('alerts')
@ApiBearerAuth()
@Roles('admin')
@ApiResponse({ status: 401, description: 'Missing, expired or invalid token' })
@ApiResponse({ status: 403, description: 'Admins only' })
@Controller('api/alerts')
export class AlertsController {
  constructor(private readonly alerts: AlertsService) {}

  /** Alert episodes: when each threshold was crossed, its worst value, and when it cleared. */
  @Get()
  async list(@Query() query: ListAlertsQueryDto): Promise<{ success: true; data: EpisodeRow[] }> {
    return { success: true, data: await this.alerts.list(query.open ?? false, query.limit ?? 100) };
  }

  /** Evaluates every threshold now (the scheduled job does it every ALERT_EVALUATION_INTERVAL_MS). */
  @Post('evaluate')
  @HttpCode(200)
  async evaluate(): Promise<{ success: true; data: AlertEvaluation }> {
    return { success: true, data: await this.alerts.evaluate() };
  }
}
