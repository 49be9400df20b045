import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Actor } from '../audit/audit.service';
import { CurrentActor, Roles } from '../auth/auth-user';
import { ErrorResponseDto } from '../common/dto/error-response.dto';
import { DisbursementRequestDto, PageQueryDto, RefundRequestDto, ReversalRequestDto } from './dto/payout.dto';
import { PayoutResponseDto } from './dto/payout-view.dto';
import { PayoutKind } from './payout.entity';
import { PayoutRequestsService } from './payout-requests.service';
import { PayoutsService } from './payouts.service';
import { ReversalsService } from './reversals/reversals.service';

/** Money out, for admins: refunds, disbursements, retries of failed payouts, reversals. */
@ApiTags('money out')
@ApiBearerAuth()
@Roles('admin')
@ApiResponse({ status: 403, description: 'Admins only', type: ErrorResponseDto })
@Controller('api')
export class PayoutsController {
  constructor(
    private readonly payouts: PayoutsService,
    private readonly requests: PayoutRequestsService,
    private readonly reversals: ReversalsService,
  ) {}

  /** Refunds part or all of a completed payment by B2C, after checking the business balance. */
  @Post('payments/:id/refund')
  @HttpCode(202)
  @ApiResponse({ status: 202, description: 'Refund accepted; it is sent after the balance check', type: PayoutResponseDto })
  @ApiResponse({ status: 409, description: 'Not refundable, or more than what is left to refund', type: ErrorResponseDto })
  async refund(@Param('id', new ParseUUIDPipe()) id: string, @Body() dto: RefundRequestDto, @CurrentActor() actor: Actor) {
    return { success: true, data: this.payouts.view(await this.requests.requestRefund(id, dto, actor)) };
  }

  /** Reverses a completed C2B payment (Transaction Reversal); the result moves it to `reversed`. */
  @Post('payments/:id/reversal')
  @HttpCode(202)
  @ApiResponse({ status: 409, description: 'Not completed, refunded, or already being reversed', type: ErrorResponseDto })
  async reverse(@Param('id', new ParseUUIDPipe()) id: string, @Body() dto: ReversalRequestDto, @CurrentActor() actor: Actor) {
    return { success: true, data: await this.reversals.request(id, dto.reason, actor) };
  }

  /** Pays compensation or another payout by B2C. */
  @Post('disbursements')
  @HttpCode(202)
  @ApiResponse({ status: 202, type: PayoutResponseDto })
  async disburse(@Body() dto: DisbursementRequestDto, @CurrentActor() actor: Actor) {
    return { success: true, data: this.payouts.view(await this.requests.requestDisbursement(dto, actor)) };
  }

  @Get('disbursements')
  async disbursements(@Query() query: PageQueryDto) {
    const [items, total] = await this.payouts.list(PayoutKind.Disbursement, query.page, query.limit);
    return { success: true, data: { items: items.map((p) => this.payouts.view(p)), total, page: query.page, limit: query.limit } };
  }

  @Get('disbursements/:id')
  @ApiResponse({ status: 200, type: PayoutResponseDto })
  async disbursement(@Param('id', new ParseUUIDPipe()) id: string) {
    return { success: true, data: this.payouts.view(await this.payouts.get(id)) };
  }

  /** Any payout (refund or disbursement), with its status history in the audit log. */
  @Get('payouts/:id')
  @ApiResponse({ status: 200, type: PayoutResponseDto })
  async payout(@Param('id', new ParseUUIDPipe()) id: string) {
    return { success: true, data: this.payouts.view(await this.payouts.get(id)) };
  }

  /** Sends a failed payout again as a new B2C request with a new OriginatorConversationID. */
  @Post('payouts/:id/retry')
  @HttpCode(202)
  @ApiResponse({ status: 409, description: 'Only failed payouts can be retried', type: ErrorResponseDto })
  async retry(@Param('id', new ParseUUIDPipe()) id: string, @CurrentActor() actor: Actor) {
    return { success: true, data: this.payouts.view(await this.requests.retry(id, actor)) };
  }
}
