import { Body, Controller, HttpCode, Post, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { InboundCallbacks } from '../callbacks/inbound-callbacks';
import { Public, SkipRateLimits } from '../common/decorators/route-access';
import { ErrorResponseDto } from '../common/dto/error-response.dto';
import { C2bConfirmationAnswer, C2bValidationAnswer } from './c2b-answers';
import { C2bConfirmationService } from './c2b-confirmation.service';
import { C2bValidationService } from './c2b-validation.service';
import { C2bConfirmationAnswerDto, C2bValidationAnswerDto } from './dto/c2b.dto';

/**
 * Where M-Pesa posts C2B validation and confirmation requests for the shortcode. Public (M-Pesa has no JWT);
 * authenticated by the token the registered URL carries and the IP allowlist (src/callbacks). Served only under
 * /daraja/: Safaricom refuses C2B URLs containing "mpesa" (docs/daraja.md §9.3).
 */
@ApiTags('mpesa callbacks')
@Public()
@SkipRateLimits()
@Controller('api/payments/daraja/c2b')
export class C2bCallbacksController {
  constructor(
    private readonly callbacks: InboundCallbacks,
    private readonly validation: C2bValidationService,
    private readonly confirmation: C2bConfirmationService,
  ) {}

  @Post('validation')
  @HttpCode(200)
  @ApiOperation({ summary: 'C2B validation request from M-Pesa: accept ("0") or refuse (C2B00012, C2B00013), within 2 s' })
  @ApiResponse({ status: 200, type: C2bValidationAnswerDto })
  @ApiResponse({ status: 403, description: 'Forged: bad token or source IP', type: ErrorResponseDto })
  validate(@Query('token') token: unknown, @Body() body: unknown, @Req() request: FastifyRequest): Promise<C2bValidationAnswer> {
    return this.validation.validate({
      kind: 'c2b',
      id: 'validation',
      token,
      body,
      endpoint: '/api/payments/daraja/c2b/validation',
      ipAddress: request.ip,
      userAgent: request.headers['user-agent'],
      requestId: String(request.id),
    });
  }

  @Post('confirmation')
  @HttpCode(200)
  @ApiOperation({ summary: 'C2B confirmation from M-Pesa: stored once per TransID, then answered ResultCode 0' })
  @ApiResponse({ status: 200, type: C2bConfirmationAnswerDto })
  @ApiResponse({ status: 400, description: 'Malformed: no TransID, or not whole shillings; nothing stored', type: ErrorResponseDto })
  @ApiResponse({ status: 403, description: 'Forged: bad token or source IP; nothing stored', type: ErrorResponseDto })
  async confirm(@Query('token') token: unknown, @Body() body: unknown, @Req() request: FastifyRequest): Promise<C2bConfirmationAnswer> {
    return (await this.callbacks.handle(
      {
        kind: 'c2b',
        id: 'confirmation',
        token,
        body,
        endpoint: '/api/payments/daraja/c2b/confirmation',
        ipAddress: request.ip,
        userAgent: request.headers['user-agent'],
        requestId: String(request.id),
      },
      this.confirmation,
    )) as C2bConfirmationAnswer;
  }
}
