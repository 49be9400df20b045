import { Body, Controller, Get, Headers, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthUser, CurrentUser } from '../auth/auth-user';
import { LimitPerPhone } from '../rate-limit/rate-limits';
import { InitiateStkPushDto } from './dto/initiate-stk-push.dto';
import { ListPaymentsQueryDto } from './dto/list-payments.query.dto';
import { ErrorResponseDto, PaymentListResponseDto, PaymentStatusResponseDto, StkPushResponseDto } from './dto/payment-responses.dto';
import { PaymentsService } from './payments.service';

@ApiTags('payments')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'Missing, expired or invalid token', type: ErrorResponseDto })
@ApiResponse({ status: 429, description: 'Over a rate limit; retry after the Retry-After header (seconds)', type: ErrorResponseDto })
@Controller('api/payments')
export class PaymentsController {
  constructor(private readonly payments: PaymentsService) {}

  /** Starts an M-Pesa STK Push (Lipa Na M-Pesa Online) to the client's phone. */
  @Post('stk-push')
  // Prompts to one phone are capped whoever asks (RATE_LIMIT_STK_PUSHES_PER_PHONE_PER_MINUTE): a stream of PIN
  // prompts harasses the customer, whichever clients send it.
  @LimitPerPhone('phoneNumber')
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Same key and body: same answer and no second push' })
  @ApiResponse({ status: 201, description: 'Daraja accepted the push', type: StkPushResponseDto })
  @ApiResponse({ status: 202, description: 'Queued for retry, or sent without confirmation; poll the status', type: StkPushResponseDto })
  @ApiResponse({ status: 400, description: 'Invalid input; nothing stored', type: ErrorResponseDto })
  @ApiResponse({ status: 409, description: 'A payment to this phone is pending, or the Idempotency-Key is in use', type: ErrorResponseDto })
  @ApiResponse({ status: 422, description: 'Idempotency-Key reused with another body', type: ErrorResponseDto })
  @ApiResponse({ status: 502, description: 'M-Pesa rejected the push; the payment is failed', type: ErrorResponseDto })
  async initiate(
    @CurrentUser() user: AuthUser,
    @Body() dto: InitiateStkPushDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    const answer = await this.payments.initiate(user, dto, { idempotencyKey, requestId: String(request.id), ipAddress: request.ip });
    if (answer.replayed) void reply.header('idempotent-replayed', 'true');
    void reply.status(answer.status);
    return answer.body;
  }

  /** Lists payments, newest first: a client sees its own, an admin sees all. */
  @Get()
  @ApiResponse({ status: 200, type: PaymentListResponseDto })
  async list(@CurrentUser() user: AuthUser, @Query() query: ListPaymentsQueryDto): Promise<PaymentListResponseDto> {
    return { success: true, data: await this.payments.list(user, query) };
  }

  /** The payment's current status, receipt and Daraja result. */
  @Get(':id/status')
  @ApiResponse({ status: 200, type: PaymentStatusResponseDto })
  @ApiResponse({ status: 404, description: 'No such payment (or not yours)', type: ErrorResponseDto })
  async status(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<PaymentStatusResponseDto> {
    return { success: true, data: await this.payments.getForUser(user, id) };
  }
}
