import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Actor } from '../audit/audit.service';
import { CurrentActor, Roles } from '../auth/auth-user';
import { BalanceSnapshot } from './balance-snapshot.entity';
import { BalanceService } from './balance.service';
import { BalanceSnapshotDto, TransactionStatusQueryDto, TransactionStatusRequestDto } from './dto/treasury.dto';
import { TransactionStatusQuery } from './transaction-status-query.entity';
import { TransactionStatusService } from './transaction-status.service';

/** The business account, for admins: balance snapshots and Transaction Status look-ups. */
@ApiTags('mpesa account')
@ApiBearerAuth()
@Roles('admin')
@Controller('api/mpesa')
export class TreasuryController {
  constructor(
    private readonly balances: BalanceService,
    private readonly statuses: TransactionStatusService,
  ) {}

  /** Asks Daraja for the business account balance; the answer arrives asynchronously. */
  @Post('balance')
  @HttpCode(202)
  @ApiResponse({ status: 202, type: BalanceSnapshotDto })
  async requestBalance(@CurrentActor() actor: Actor) {
    return { success: true, data: balanceView(await this.balances.request(actor)) };
  }

  /** The most recent completed balance. */
  @Get('balance/latest')
  @ApiResponse({ status: 200, type: BalanceSnapshotDto })
  async latestBalance() {
    return { success: true, data: balanceView(await this.balances.latest()) };
  }

  @Get('balance/:id')
  @ApiResponse({ status: 200, type: BalanceSnapshotDto })
  async balance(@Param('id', new ParseUUIDPipe()) id: string) {
    return { success: true, data: balanceView(await this.balances.get(id)) };
  }

  /** Asks Safaricom about any transaction, by receipt or OriginatorConversationID; poll the result by id. */
  @Post('transaction-status')
  @HttpCode(202)
  @ApiResponse({ status: 202, type: TransactionStatusQueryDto })
  async transactionStatus(@Body() dto: TransactionStatusRequestDto, @CurrentActor() actor: Actor) {
    const query = await this.statuses.query(
      { transactionId: dto.transactionId, originatorConversationId: dto.originatorConversationId },
      actor,
    );
    return { success: true, data: statusView(query) };
  }

  @Get('transaction-status/:id')
  @ApiResponse({ status: 200, type: TransactionStatusQueryDto })
  async transactionStatusResult(@Param('id', new ParseUUIDPipe()) id: string) {
    return { success: true, data: statusView(await this.statuses.get(id)) };
  }
}

function balanceView(s: BalanceSnapshot): BalanceSnapshotDto {
  return {
    id: s.id,
    status: s.status,
    shortcode: s.shortcode,
    accounts: s.accounts,
    resultCode: s.resultCode,
    resultDesc: s.resultDesc,
    requestedAt: s.createdAt,
    completedAt: s.completedAt,
  };
}

function statusView(q: TransactionStatusQuery): TransactionStatusQueryDto {
  return {
    id: q.id,
    status: q.status,
    transactionId: q.transactionId,
    originatorConversationId: q.queriedConversationId,
    resultCode: q.resultCode,
    resultDesc: q.resultDesc,
    result: q.result,
    requestedAt: q.createdAt,
    completedAt: q.completedAt,
  };
}
