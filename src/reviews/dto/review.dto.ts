import { Type } from 'class-transformer';
import { IsEnum, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min, MinLength } from 'class-validator';
import { ReviewEntity, ReviewReason, ReviewResolution, ReviewStatus } from '../review.entity';

export class ListReviewsQueryDto {
  @IsOptional()
  @IsEnum(ReviewStatus, { message: `status must be one of: ${Object.values(ReviewStatus).join(', ')}` })
  status?: ReviewStatus;
  @IsOptional()
  @IsEnum(ReviewEntity, { message: `entityType must be one of: ${Object.values(ReviewEntity).join(', ')}` })
  entityType?: ReviewEntity;
  @IsOptional()
  @IsEnum(ReviewReason, { message: `reason must be one of: ${Object.values(ReviewReason).join(', ')}` })
  reason?: ReviewReason;
  /** The reviews of one payment, payout or reversal. */
  @IsOptional() @IsUUID() entityId?: string;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100_000) page: number = 1;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit: number = 20;
}

export class ResolveReviewDto {
  /**
   * `complete`: the payment (or payout) becomes completed, with the receipt the evidence recorded; `fail`: it becomes
   * failed (a payout may then be retried); `dismiss`: nothing changes.
   */
  @IsEnum(ReviewResolution, { message: `resolution must be one of: ${Object.values(ReviewResolution).join(', ')}` })
  resolution: ReviewResolution;

  /** Why: kept with the review and in the audit trail. @example "Statement checked: paid on prompt #1" */
  @IsString()
  @MinLength(3, { message: 'note must say why, in at least 3 characters' })
  @MaxLength(1000)
  note: string;
}

export class ReviewViewDto {
  id: string;
  entityType: ReviewEntity;
  entityId: string;
  reason: ReviewReason;
  status: ReviewStatus;
  /** Redacted: the receipt, amounts, the masked phone, the payload as received. Admins only. */
  evidence?: Record<string, unknown>;
  openedAt: Date;
  resolvedAt: Date | null;
  resolution: ReviewResolution | null;
  /** The deciding admin's note. Admins only. */
  note?: string | null;
}

export class ReviewResponseDto {
  success: boolean;
  data: ReviewViewDto;
}

export class ReviewPageDto {
  items: ReviewViewDto[];
  total: number;
  page: number;
  limit: number;
}

export class ReviewListResponseDto {
  success: boolean;
  data: ReviewPageDto;
}
