import { Body, Controller, HttpCode, Post, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Public } from '../auth/public.decorator';
import { SkipRateLimits } from '../rate-limit/rate-limits';
import { DarajaAckDto, ErrorResponseDto } from './dto/payment-responses.dto';
import { DARAJA_ACK, MpesaCallbackService } from './mpesa-callback.service';
import { ResultCallbackService } from './result-callback.service';

/** Where Daraja posts results. Public (Daraja has no JWT); authenticated by the URL token and the IP allowlist. */
@ApiTags('mpesa callbacks')
@Public()
// Never rate limited: a refused callback is a payment whose result arrives late or never.
@SkipRateLimits()
// Safaricom rejects callback URLs containing "mpesa": the same routes are also served under /daraja/.
@Controller(['api/payments/mpesa', 'api/payments/daraja'])
export class MpesaCallbackController {
  constructor(
    private readonly callbacks: MpesaCallbackService,
    private readonly results: ResultCallbackService,
  ) {}

  @Post('stk-callback')
  @HttpCode(200)
  @ApiOperation({ summary: 'STK Push result from Daraja (CallBackURL carries pid and token query parameters)' })
  @ApiResponse({ status: 200, type: DarajaAckDto })
  @ApiResponse({ status: 400, description: 'Malformed payload; nothing changed', type: ErrorResponseDto })
  @ApiResponse({ status: 403, description: 'Forged: bad token or source IP; nothing changed', type: ErrorResponseDto })
  stkCallback(
    @Query('pid') paymentId: unknown,
    @Query('token') token: unknown,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ): Promise<typeof DARAJA_ACK> {
    return this.callbacks.handleStkCallback({
      paymentId,
      token,
      body,
      ipAddress: request.ip,
      userAgent: request.headers['user-agent'],
      requestId: String(request.id),
      endpoint: '/api/payments/mpesa/stk-callback',
    });
  }

  @Post(['b2c-callback', 'result'])
  @HttpCode(200)
  @ApiOperation({ summary: 'ResultURL of B2C, Account Balance, Reversal and Transaction Status (kind, id and token query parameters)' })
  @ApiResponse({ status: 200, type: DarajaAckDto })
  @ApiResponse({ status: 400, description: 'Malformed payload; nothing changed', type: ErrorResponseDto })
  @ApiResponse({ status: 403, description: 'Forged: bad token or source IP; nothing changed', type: ErrorResponseDto })
  result(@Query() query: ResultQuery, @Body() body: unknown, @Req() request: FastifyRequest): Promise<typeof DARAJA_ACK> {
    return this.results.handle({ ...query, body, via: 'result', ...this.origin(request) });
  }

  @Post('timeout')
  @HttpCode(200)
  @ApiOperation({ summary: 'QueueTimeOutURL: whatever arrives here is a timeout; the outcome is then confirmed with Transaction Status' })
  @ApiResponse({ status: 200, type: DarajaAckDto })
  @ApiResponse({ status: 403, description: 'Forged: bad token or source IP; nothing changed', type: ErrorResponseDto })
  timeout(@Query() query: ResultQuery, @Body() body: unknown, @Req() request: FastifyRequest): Promise<typeof DARAJA_ACK> {
    return this.results.handle({ ...query, body, via: 'timeout', ...this.origin(request) });
  }

  private origin(request: FastifyRequest) {
    return { ipAddress: request.ip, userAgent: request.headers['user-agent'], requestId: String(request.id), endpoint: request.url.split('?')[0] };
  }
}

interface ResultQuery {
  kind?: unknown;
  id?: unknown;
  token?: unknown;
}
