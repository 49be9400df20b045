import { Body, Controller, Get, Headers, HttpCode, Param, ParseUUIDPipe, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Actor } from '../audit/audit.service';
import { CurrentActor, Roles } from '../auth/auth-user';
import { ErrorResponseDto } from '../common/dto/error-response.dto';
import { IdempotencyService, requestFingerprint } from '../payments/idempotency/idempotency.service';
import { DisbursementRequestDto, PageQueryDto, RefundRequestDto, ReversalRequestDto } from './dto/payout.dto';
import { PayoutResponseDto } from './dto/payout-view.dto';
import { Payout, PayoutKind } from './payout.entity';
import { PayoutRequestsService } from './payout-requests.service';
import { PayoutsService } from './payouts.service';
import { Reversal } from './reversals/reversal.entity';
import { ReversalsService } from './reversals/reversals.service';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description: 'Same key and body: the first answer again and no second payout; another body: 422; while the first runs: 409',
};

/** Money out, for admins: refunds, disbursements, retries of failed payouts, reversals. Every POST is idempotent. */
@ApiTags('money out')
@ApiBearerAuth()
@Roles('admin')
@ApiResponse({ status: 403, description: 'Admins only', type: ErrorResponseDto })
@ApiResponse({ status: 422, description: 'Idempotency-Key reused with another body', type: ErrorResponseDto })
@Controller('api')
export class PayoutsController {
  constructor(
    private readonly payouts: PayoutsService,
    private readonly requests: PayoutRequestsService,
    private readonly reversals: ReversalsService,
    private readonly idempotency: IdempotencyService,
  ) {}

  /** Refunds part or all of a completed payment by B2C, after checking the business balance. */
  @Post('payments/:id/refund')
  @HttpCode(202)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiResponse({ status: 202, description: 'Refund accepted; it is sent after the balance check', type: PayoutResponseDto })
  @ApiResponse({
    status: 409,
    description: 'Not refundable, more than what is left to refund, or the key is in use',
    type: ErrorResponseDto,
  })
  async refund(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() dto: RefundRequestDto,
    @CurrentActor() actor: Actor,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.once(reply, actor, key, `POST /api/payments/${id}/refund`, dto, {
      run: async () => this.accepted(await this.requests.requestRefund(id, dto, actor, { idempotencyKey: key })),
      recover: (k) => this.payouts.findByIdempotencyKey(actor, k),
    });
  }

  /** Reverses a completed C2B payment (Transaction Reversal); the result moves it to `reversed`. */
  @Post('payments/:id/reversal')
  @HttpCode(202)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiResponse({ status: 409, description: 'Not completed, refunded, or already being reversed', type: ErrorResponseDto })
  @ApiResponse({ status: 502, description: 'M-Pesa refused the reversal (it is failed; nothing was reversed)', type: ErrorResponseDto })
  @ApiResponse({ status: 503, description: 'M-Pesa did not take it for now (it is failed; nothing was reversed)', type: ErrorResponseDto })
  async reverse(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() dto: ReversalRequestDto,
    @CurrentActor() actor: Actor,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.once(reply, actor, key, `POST /api/payments/${id}/reversal`, dto, {
      run: async () => this.reversalAccepted(await this.reversals.request(id, dto.reason, actor, key)),
      recover: async (k) => {
        const reversal = await this.reversals.findByIdempotencyKey(actor.id ?? actor.type, k);
        return reversal ? this.reversalAccepted(reversal) : undefined;
      },
    });
  }

  /** Pays compensation or another payout by B2C. */
  @Post('disbursements')
  @HttpCode(202)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiResponse({ status: 202, type: PayoutResponseDto })
  async disburse(
    @Body() dto: DisbursementRequestDto,
    @CurrentActor() actor: Actor,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.once(reply, actor, key, 'POST /api/disbursements', dto, {
      run: async () => this.accepted(await this.requests.requestDisbursement(dto, actor, { idempotencyKey: key })),
      recover: (k) => this.payouts.findByIdempotencyKey(actor, k),
    });
  }

  @Get('disbursements')
  async disbursements(@Query() query: PageQueryDto) {
    const [items, total] = await this.payouts.list(PayoutKind.Disbursement, query.page, query.limit);
    return { success: true, data: { items: items.map((p) => this.payouts.view(p)), total, page: query.page, limit: query.limit } };
  }

  @Get('disbursements/:id')
  @ApiResponse({ status: 200, type: PayoutResponseDto })
  async disbursement(@Param('id', new ParseUUIDPipe()) id: string) {
    return { success: true, data: await this.payouts.detailedView(await this.payouts.get(id)) };
  }

  /** Any payout (refund or disbursement), with its reviews; its status history is in the audit log. */
  @Get('payouts/:id')
  @ApiResponse({ status: 200, type: PayoutResponseDto })
  async payout(@Param('id', new ParseUUIDPipe()) id: string) {
    return { success: true, data: await this.payouts.detailedView(await this.payouts.get(id)) };
  }

  /** Sends a failed payout again as a new B2C request with a new OriginatorConversationID; at most once per payout. */
  @Post('payouts/:id/retry')
  @HttpCode(202)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiResponse({ status: 409, description: 'Not failed, under review, or already retried (the retry is named)', type: ErrorResponseDto })
  async retry(
    @Param('id', new ParseUUIDPipe()) id: string,
    @CurrentActor() actor: Actor,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.once(
      reply,
      actor,
      key,
      `POST /api/payouts/${id}/retry`,
      {},
      {
        run: async () => this.accepted(await this.requests.retry(id, actor, { idempotencyKey: key })),
        recover: (k) => this.payouts.findByIdempotencyKey(actor, k),
      },
    );
  }

  /**
   * Runs a money-moving request once per Idempotency-Key (when given): the same key and body replay the first answer;
   * a key whose first request died after storing its payout is answered from that payout.
   */
  private async once(
    reply: FastifyReply,
    actor: Actor,
    key: string | undefined,
    route: string,
    body: unknown,
    request: { run: () => Promise<Answer>; recover: (key: string) => Promise<Payout | Answer | null | undefined> },
  ): Promise<unknown> {
    const answer = key
      ? await this.idempotency.run(actor.id ?? actor.type, key, requestFingerprint(route, body), request.run, async () => {
          const found = await request.recover(key);
          return found instanceof Payout ? this.accepted(found) : (found ?? undefined);
        })
      : { ...(await request.run()), replayed: false };
    if (answer.replayed) void reply.header('idempotent-replayed', 'true');
    void reply.status(answer.status);
    return answer.body;
  }

  private accepted(payout: Payout): Answer {
    return { status: 202, body: { success: true, data: this.payouts.view(payout) } };
  }

  private reversalAccepted(reversal: Reversal): Answer {
    return { status: 202, body: { success: true, data: reversal as unknown as Record<string, unknown> } };
  }
}
