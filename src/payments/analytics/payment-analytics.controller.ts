import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Roles } from '../../auth/auth-user';
import { ErrorResponseDto } from '../../common/dto/error-response.dto';
import { PaymentAnalyticsQueryDto } from './analytics-query.dto';
import { PaymentAnalyticsResponseDto } from './analytics-response.dto';
import { PaymentAnalyticsService } from './payment-analytics.service';

@ApiTags('payments')
@ApiBearerAuth()
@Roles('admin')
@ApiResponse({ status: 401, description: 'Missing, expired or invalid token', type: ErrorResponseDto })
@ApiResponse({ status: 403, description: 'Admins only', type: ErrorResponseDto })
@Controller('api/payments')
export class PaymentAnalyticsController {
  constructor(private readonly analytics: PaymentAnalyticsService) {}

  /**
   * Counts, success and failure rates, revenue, refunds, time to completion and result codes of the payments
   * created in a window (default: the last 30 Kenya days), in total and per Kenya day or payment type.
   */
  @Get('analytics')
  @ApiResponse({ status: 200, type: PaymentAnalyticsResponseDto })
  @ApiResponse({ status: 400, description: 'Bad from, to or groupBy; from after to; more than 366 days', type: ErrorResponseDto })
  async summarize(@Query() query: PaymentAnalyticsQueryDto): Promise<PaymentAnalyticsResponseDto> {
    return { success: true, data: await this.analytics.summarize(query) };
  }
}
