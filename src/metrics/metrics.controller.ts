import { Controller, Get, Headers, Inject, Res } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public, SkipRateLimits } from '../common/decorators/route-access';
import { UnauthenticatedError } from '../common/errors/app-error';
import { metricsConfig } from '../config/configuration';
import { bearerTokenMatches } from './metrics-token';
import { MetricsService } from './metrics.service';

/** Prometheus' scrape target. No JWT (Prometheus has none): open, or guarded by METRICS_TOKEN. */
@ApiExcludeController()
@Public()
@SkipRateLimits()
@Controller('metrics')
export class MetricsController {
  constructor(
    @Inject(metricsConfig.KEY) private readonly settings: ConfigType<typeof metricsConfig>,
    private readonly metrics: MetricsService,
  ) {}

  @Get()
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    if (this.settings.token && !bearerTokenMatches(authorization, this.settings.token)) {
      throw new UnauthenticatedError('A valid metrics bearer token is required');
    }
    void reply.header('content-type', this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
