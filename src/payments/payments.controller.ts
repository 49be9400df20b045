import { Body, Controller, Get, Headers, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthUser, CurrentUser } from '../auth/auth-user';
import { ErrorResponseDto } from '../common/dto/error-response.dto';
import { AppError, ErrorCode } from '../common/errors/app-error';
import { appErrorResponse } from '../common/errors/app-error.filter';
import { redactText } from '../common/redaction';
import { InitiateStkPushDto } from './dto/initiate-stk-push.dto';
import { ListPaymentsQueryDto } from './dto/list-payments.query.dto';
import { PaymentListResponseDto, PaymentStatusResponseDto, StkPushResponseDto } from './dto/payment-responses.dto';
import { IdempotencyService, requestFingerprint } from './idempotency/idempotency.service';
import { Payment } from './payment.entity';
import { PaymentStatus } from './payment-status';
import { PaymentsService } from './payments.service';
import { PushOutcome, StkPushService } from './stk-push.service';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

@ApiTags('payments')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'Missing, expired or invalid token', type: ErrorResponseDto })
@ApiResponse({ status: 429, description: 'Over a rate limit; retry after the Retry-After header (seconds)', type: ErrorResponseDto })
@Controller('api/payments')
export class PaymentsController {
  constructor(
    private readonly payments: PaymentsService,
    private readonly stkPush: StkPushService,
    private readonly idempotency: IdempotencyService,
  ) {}

  /** Starts an M-Pesa STK Push (Lipa Na M-Pesa Online) to the client's phone. */
  @Post('stk-push')
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Same key and body: same answer and no second push' })
  @ApiResponse({ status: 201, description: 'Daraja accepted the push', type: StkPushResponseDto })
  @ApiResponse({ status: 202, description: 'Queued for retry, or sent without confirmation; poll the status', type: StkPushResponseDto })
  @ApiResponse({ status: 400, description: 'Invalid input; nothing stored', type: ErrorResponseDto })
  @ApiResponse({ status: 409, description: 'A payment to this phone is pending, or the Idempotency-Key is in use', type: ErrorResponseDto })
  @ApiResponse({ status: 429, description: 'Too many pushes to this phone (counted only for valid requests)', type: ErrorResponseDto })
  @ApiResponse({ status: 422, description: 'Idempotency-Key reused with another body', type: ErrorResponseDto })
  @ApiResponse({ status: 502, description: 'M-Pesa rejected the push; the payment is failed', type: ErrorResponseDto })
  async initiate(
    @CurrentUser() user: AuthUser,
    @Body() dto: InitiateStkPushDto,
    @Headers('idempotency-key') key: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    const push = async () =>
      pushAnswer(await this.stkPush.initiate(user, dto, { idempotencyKey: key, requestId: String(request.id), ipAddress: request.ip }));
    const answer = key
      ? await this.idempotency.run(user.id, key, requestFingerprint('POST /api/payments/stk-push', dto), push, async () => {
          const payment = await this.payments.findByIdempotencyKey(user.id, key);
          return payment ? this.alreadyInitiated(payment) : undefined;
        })
      : { ...(await push()), replayed: false };
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

  /** A replay whose first request stored its payment but died before storing its answer. */
  private alreadyInitiated(payment: Payment): Answer {
    return { status: 202, body: { success: true, message: 'Payment already initiated', data: this.payments.view(payment) } };
  }
}

/** The HTTP answer to a push, once its payment row exists (replayed as it is for an Idempotency-Key). */
function pushAnswer(outcome: PushOutcome): Answer {
  switch (outcome.kind) {
    case 'accepted':
      return {
        status: 201,
        body: {
          success: true,
          message: 'STK Push initiated successfully',
          data: {
            paymentId: outcome.paymentId,
            status: PaymentStatus.Pending,
            checkoutRequestID: outcome.response.CheckoutRequestID,
            merchantRequestID: outcome.response.MerchantRequestID,
            customerMessage: outcome.response.CustomerMessage,
          },
        },
      };
    case 'queued_for_retry':
      return {
        status: 202,
        body: {
          success: true,
          message: 'M-Pesa is temporarily unavailable; the STK Push is queued for retry',
          data: {
            paymentId: outcome.paymentId,
            status: PaymentStatus.Pending,
            checkoutRequestID: null,
            merchantRequestID: null,
            customerMessage: null,
          },
        },
      };
    case 'sent_unconfirmed':
      return {
        status: 202,
        body: {
          success: true,
          message: 'STK Push sent but M-Pesa did not confirm it; the payment will be settled by its callback or a status check',
          data: {
            paymentId: outcome.paymentId,
            status: outcome.payment?.status ?? PaymentStatus.Pending,
            checkoutRequestID: outcome.payment?.checkoutRequestId ?? null,
            merchantRequestID: outcome.payment?.merchantRequestId ?? null,
            customerMessage: null,
          },
        },
      };
    case 'rejected': {
      const details = { paymentId: outcome.paymentId, status: PaymentStatus.Failed };
      const error =
        outcome.error.reason === 'subscriber_busy'
          ? new AppError(ErrorCode.SUBSCRIBER_BUSY, 'The customer has another M-Pesa request in progress; try again in a minute', details)
          : new AppError(ErrorCode.DARAJA_REJECTED, `M-Pesa rejected the STK Push: ${redactText(outcome.error.message)}`, details);
      // Through the error filter's own mapping, so the body has the shape of every error answer.
      const [status, body] = appErrorResponse(error);
      return { status, body: { ...body } };
    }
  }
}
