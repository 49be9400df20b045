import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Actor } from '../audit/audit.service';
import { CurrentActor, Roles } from '../auth/auth-user';
import { ErrorResponseDto } from '../common/dto/error-response.dto';
import { ListReviewsQueryDto, ResolveReviewDto, ReviewListResponseDto, ReviewResponseDto } from './dto/review.dto';
import { reviewView, ReviewsService } from './reviews.service';

/** The review queue, for admins: what the service could not decide on its own. */
@ApiTags('reviews')
@ApiBearerAuth()
@Roles('admin')
@ApiResponse({ status: 403, description: 'Admins only', type: ErrorResponseDto })
@Controller('api/reviews')
export class ReviewsController {
  constructor(private readonly reviews: ReviewsService) {}

  /** Newest first; filter by status, record type, reason or record. */
  @Get()
  @ApiResponse({ status: 200, type: ReviewListResponseDto })
  async list(@Query() query: ListReviewsQueryDto): Promise<ReviewListResponseDto> {
    const [items, total] = await this.reviews.list(query);
    return { success: true, data: { items: items.map((r) => reviewView(r)), total, page: query.page, limit: query.limit } };
  }

  @Get(':id')
  @ApiResponse({ status: 200, type: ReviewResponseDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto })
  async get(@Param('id', new ParseUUIDPipe()) id: string): Promise<ReviewResponseDto> {
    return { success: true, data: reviewView(await this.reviews.get(id)) };
  }

  /** Applies a decision to the record (complete, fail or dismiss); audited, and announced by webhook. */
  @Post(':id/resolve')
  @HttpCode(200)
  @ApiResponse({ status: 200, type: ReviewResponseDto })
  @ApiResponse({ status: 409, description: 'Already resolved, or the decision does not fit the record', type: ErrorResponseDto })
  async resolve(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() dto: ResolveReviewDto,
    @CurrentActor() actor: Actor,
  ): Promise<ReviewResponseDto> {
    return { success: true, data: reviewView(await this.reviews.resolve(id, dto.resolution, dto.note, actor)) };
  }
}
