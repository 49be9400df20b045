import { Body, Controller, HttpCode, Post, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Public } from '../auth/public.decorator';
import { DarajaAckDto, ErrorResponseDto } from './dto/payment-responses.dto';
import { DARAJA_ACK, MpesaCallbackService } from './mpesa-callback.service';

/** Where Daraja posts results. Public (Daraja has no JWT); authenticated by the URL token and the IP allowlist. */
@ApiTags('mpesa callbacks')
@Public()
@Controller('api/payments/mpesa')
export class MpesaCallbackController {
  constructor(private readonly callbacks: MpesaCallbackService) {}

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
}
