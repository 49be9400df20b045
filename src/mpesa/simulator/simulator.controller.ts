import { Body, Controller, Get, Headers, Post, Query, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public, SkipRateLimits } from '../../common/decorators/route-access';
import type { DarajaReply } from './daraja-errors';
import type { ProcessingVariant, SimulatedEndpoint } from './simulator-faults';
import { serveDaraja } from './simulator-http';
import { DarajaSimulatorService } from './simulator.service';

/**
 * Safaricom's paths under `/simulator/daraja`, so `MPESA_BASE_URL=http://host:port/simulator/daraja` is the only
 * difference the app's Daraja client sees. Answers go out through the raw reply: Daraja's JSON, not ours.
 */
@Public()
@SkipRateLimits()
@ApiExcludeController()
@Controller('simulator/daraja')
export class DarajaSimulatorController {
  constructor(private readonly simulator: DarajaSimulatorService) {}

  @Get('oauth/v1/generate')
  async generateToken(
    @Query('grant_type') grantType: unknown,
    @Headers('authorization') authorization: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.serve('oauth', reply, () => this.simulator.issueToken(grantType, authorization));
  }

  @Post('mpesa/stkpush/v1/processrequest')
  async stkPush(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.serve('stkpush', reply, () => this.simulator.stkPush(authorization, body));
  }

  @Post('mpesa/stkpushquery/v1/query')
  async stkQuery(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.serve('stkquery', reply, (variant) => this.simulator.stkQuery(authorization, body, variant));
  }

  private serve(
    endpoint: SimulatedEndpoint,
    reply: FastifyReply,
    process: (variant?: ProcessingVariant) => Promise<DarajaReply>,
  ): Promise<void> {
    return serveDaraja((e) => this.simulator.beginCall(e), endpoint, reply, process);
  }
}
