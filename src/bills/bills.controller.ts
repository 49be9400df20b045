import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Actor } from '../audit/audit.service';
import { AuthUser, CurrentActor, CurrentUser } from '../auth/auth-user';
import { ErrorResponseDto } from '../common/dto/error-response.dto';
import { BillListResponseDto, BillResponseDto, CancelBillDto, CreateBillDto, ListBillsQueryDto } from './dto/bill.dto';
import { BillsService } from './bills.service';

/** What clients owe, payable by STK push (`billId`) or by Paybill (the bill's account reference). */
@ApiTags('bills')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'Missing, expired or invalid token', type: ErrorResponseDto })
@Controller('api/bills')
export class BillsController {
  constructor(private readonly bills: BillsService) {}

  /** Creates an open bill with an account reference a customer can type (an admin for any client, a client for itself). */
  @Post()
  @ApiResponse({ status: 201, type: BillResponseDto })
  @ApiResponse({ status: 400, description: 'Invalid input; nothing stored', type: ErrorResponseDto })
  @ApiResponse({ status: 403, description: 'A client creating a bill for someone else', type: ErrorResponseDto })
  async create(@CurrentUser() user: AuthUser, @Body() dto: CreateBillDto, @CurrentActor() actor: Actor): Promise<BillResponseDto> {
    return { success: true, data: await this.bills.create(user, dto, actor) };
  }

  /** Newest first: a client sees its own, an admin all (or one client's). */
  @Get()
  @ApiResponse({ status: 200, type: BillListResponseDto })
  @ApiResponse({ status: 403, description: "A client asking for another client's bills", type: ErrorResponseDto })
  async list(@CurrentUser() user: AuthUser, @Query() query: ListBillsQueryDto): Promise<BillListResponseDto> {
    return { success: true, data: await this.bills.list(user, query) };
  }

  /** The bill, its paid amount and balance, and the payments that counted toward it. */
  @Get(':id')
  @ApiResponse({ status: 200, type: BillResponseDto })
  @ApiResponse({ status: 404, description: 'No such bill (or not yours)', type: ErrorResponseDto })
  async get(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<BillResponseDto> {
    return { success: true, data: await this.bills.get(user, id) };
  }

  /** Nothing more is owed. Only an open or partially paid bill; payments already made stay recorded. */
  @Post(':id/cancel')
  @HttpCode(200)
  @ApiResponse({ status: 200, type: BillResponseDto })
  @ApiResponse({ status: 404, description: 'No such bill (or not yours)', type: ErrorResponseDto })
  @ApiResponse({ status: 409, description: 'Already paid in full, or already cancelled', type: ErrorResponseDto })
  async cancel(
    @CurrentUser() user: AuthUser,
    @Param('id') id: string,
    @Body() dto: CancelBillDto,
    @CurrentActor() actor: Actor,
  ): Promise<BillResponseDto> {
    return { success: true, data: await this.bills.cancel(user, id, dto.reason, actor) };
  }
}
