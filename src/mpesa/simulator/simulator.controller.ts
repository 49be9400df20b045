import { All, Body, Controller, Get, Headers, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public, SkipRateLimits } from '../../common/decorators/route-access';
import { DarajaReply, methodNotAllowed, resourceNotFound } from './daraja-errors';
import type { ProcessingVariant, SimulatedEndpoint } from './simulator-faults';
import { sendDaraja, serveDaraja } from './simulator-http';
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
    return serveDaraja(this.simulator, endpoint, reply, process);
  }
}

/** Daraja's paths and the one method each takes (OAuth is the only GET). */
export const DARAJA_ROUTES: Readonly<Record<string, 'GET' | 'POST'>> = {
  'oauth/v1/generate': 'GET',
  'mpesa/stkpush/v1/processrequest': 'POST',
  'mpesa/stkpushquery/v1/query': 'POST',
  'mpesa/b2c/v1/paymentrequest': 'POST',
  'mpesa/b2c/v3/paymentrequest': 'POST',
  'mpesa/accountbalance/v1/query': 'POST',
  'mpesa/reversal/v1/request': 'POST',
  'mpesa/transactionstatus/v1/query': 'POST',
  'mpesa/c2b/v1/registerurl': 'POST',
  'mpesa/c2b/v2/registerurl': 'POST',
  'mpesa/c2b/v1/simulate': 'POST',
  'mpesa/c2b/v2/simulate': 'POST',
  'pulltransactions/v1/register': 'POST',
  'pulltransactions/v1/query': 'POST',
};

/**
 * Whatever no Daraja route took: a known path with the wrong method gets Daraja's `405.001 <METHOD> Method Not
 * Allowed`, anything else `404.001.01 Resource not found`, both in Daraja's envelope rather than the app's JSON 404.
 * Registered after the Daraja controllers; the router prefers their exact paths over this wildcard anyway.
 */
@Public()
@SkipRateLimits()
@ApiExcludeController()
@Controller('simulator/daraja')
export class DarajaWrongMethodController {
  constructor(private readonly simulator: DarajaSimulatorService) {}

  @All('*')
  async notServed(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const path = request.url
      .split('?')[0]
      .replace(/^.*?\/simulator\/daraja\//, '')
      .replace(/\/+$/, '');
    const answer = DARAJA_ROUTES[path] ? methodNotAllowed(request.method) : resourceNotFound();
    sendDaraja(reply, answer);
    await this.simulator.endCall('unrouted', request, answer);
  }
}
