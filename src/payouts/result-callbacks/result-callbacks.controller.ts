import { Body, Controller, HttpCode, Post, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { RESULT_KINDS, ResultKind } from '../../callbacks/callback-urls';
import { DarajaAckDto } from '../../callbacks/daraja-ack.dto';
import { DarajaAck, InboundCallbacks } from '../../callbacks/inbound-callbacks';
import { Public, SkipRateLimits } from '../../common/decorators/route-access';
import { ErrorResponseDto } from '../../common/dto/error-response.dto';
import { ResultCallbacksService, ResultRoute } from './result-callbacks.service';

interface ResultQuery {
  kind?: unknown;
  id?: unknown;
  token?: unknown;
}

/**
 * Where Daraja posts the results of B2C, Account Balance, Reversal and Transaction Status. Public (Daraja has no JWT);
 * authenticated by the URL token and the IP allowlist. Never rate limited: a refused result is money whose outcome
 * arrives late or never.
 */
@ApiTags('mpesa callbacks')
@Public()
@SkipRateLimits()
// Safaricom rejects callback URLs containing "mpesa": the same routes are also served under /daraja/.
@Controller(['api/payments/mpesa', 'api/payments/daraja'])
export class ResultCallbacksController {
  constructor(
    private readonly callbacks: InboundCallbacks,
    private readonly results: ResultCallbacksService,
  ) {}

  @Post(['b2c-callback', 'result'])
  @HttpCode(200)
  @ApiOperation({ summary: 'ResultURL of B2C, Account Balance, Reversal and Transaction Status (kind, id and token query parameters)' })
  @ApiResponse({ status: 200, type: DarajaAckDto })
  @ApiResponse({ status: 400, description: 'Malformed payload; nothing changed', type: ErrorResponseDto })
  @ApiResponse({ status: 403, description: 'Forged: bad token or source IP; nothing changed', type: ErrorResponseDto })
  result(@Query() query: ResultQuery, @Body() body: unknown, @Req() request: FastifyRequest): Promise<DarajaAck> {
    return this.handle('result', query, body, request);
  }

  @Post('timeout')
  @HttpCode(200)
  @ApiOperation({ summary: 'QueueTimeOutURL: whatever arrives here is a timeout; the outcome is then confirmed with Transaction Status' })
  @ApiResponse({ status: 200, type: DarajaAckDto })
  @ApiResponse({ status: 403, description: 'Forged: bad token or source IP; nothing changed', type: ErrorResponseDto })
  timeout(@Query() query: ResultQuery, @Body() body: unknown, @Req() request: FastifyRequest): Promise<DarajaAck> {
    return this.handle('timeout', query, body, request);
  }

  private handle(route: ResultRoute, query: ResultQuery, body: unknown, request: FastifyRequest): Promise<DarajaAck> {
    const kind = RESULT_KINDS.includes(query.kind as ResultKind) ? (query.kind as ResultKind) : undefined;
    return this.callbacks.handle(
      {
        kind,
        id: query.id,
        token: query.token,
        body,
        endpoint: request.url.split('?')[0],
        ipAddress: request.ip,
        userAgent: request.headers['user-agent'],
        requestId: String(request.id),
      },
      this.results.handlerFor(route, kind),
    );
  }
}
