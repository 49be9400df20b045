import { Body, Controller, HttpCode, Post, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { DarajaAckDto } from '../callbacks/daraja-ack.dto';
import { DarajaAck, InboundCallbacks } from '../callbacks/inbound-callbacks';
import { Public, SkipRateLimits } from '../common/decorators/route-access';
import { ErrorResponseDto } from '../common/dto/error-response.dto';
import { StkCallbackService } from './stk-callback.service';

/** Where Daraja posts STK results. Public (Daraja has no JWT); authenticated by the URL token and the IP allowlist. */
@ApiTags('mpesa callbacks')
@Public()
@SkipRateLimits()
// Safaricom rejects callback URLs containing "mpesa": the same route is also served under /daraja/.
@Controller(['api/payments/mpesa', 'api/payments/daraja'])
export class StkCallbackController {
  constructor(
    private readonly callbacks: InboundCallbacks,
    private readonly stkCallbacks: StkCallbackService,
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
  ): Promise<DarajaAck> {
    return this.callbacks.handle(
      {
        kind: 'stk',
        id: paymentId,
        token,
        body,
        endpoint: '/api/payments/mpesa/stk-callback',
        ipAddress: request.ip,
        userAgent: request.headers['user-agent'],
        requestId: String(request.id),
      },
      this.stkCallbacks,
    );
  }
}
