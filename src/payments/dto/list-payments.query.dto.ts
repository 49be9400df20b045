import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsDate, IsEnum, IsInt, IsOptional, IsString, IsUUID, Length, Max, MaxDate, Min, MinDate } from 'class-validator';

// Dates Postgres can store and a person could mean; anything else is a typo.
const EARLIEST = new Date('2000-01-01T00:00:00Z');
const LATEST = new Date('2100-01-01T00:00:00Z');
import { PaymentChannel, PaymentStatus, PaymentType } from '../payment-status';

export class ListPaymentsQueryDto {
  @IsOptional() @IsEnum(PaymentStatus) status?: PaymentStatus;
  @IsOptional() @IsEnum(PaymentType) paymentType?: PaymentType;
  /** `stk` (we pushed a prompt) or `c2b` (paid from the phone by Paybill or till). */
  @IsOptional()
  @IsEnum(PaymentChannel, { message: `channel must be one of: ${Object.values(PaymentChannel).join(', ')}` })
  channel?: PaymentChannel;
  /** The payments of one bill. */
  @IsOptional() @IsUUID('all', { message: 'billId must be a UUID' }) billId?: string;
  /** ISO 8601; payments created at or after. */
  @IsOptional() @Type(() => Date) @IsDate({ message: 'from must be an ISO 8601 date' }) @MinDate(EARLIEST) @MaxDate(LATEST) from?: Date;
  /** ISO 8601; payments created at or before. */
  @IsOptional() @Type(() => Date) @IsDate({ message: 'to must be an ISO 8601 date' }) @MinDate(EARLIEST) @MaxDate(LATEST) to?: Date;
  /** true: only payments with a review open (docs/outcome-model.md); false: only those without. */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'needsReview must be true or false' })
  needsReview?: boolean;
  /** @example 1 */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100_000) page: number = 1;
  /**
   * The `nextCursor` of the previous page: the next page by keyset, as fast at the millionth payment as at the first
   * (with a cursor, `page` is not used). Without one, `page` pages by offset.
   */
  @IsOptional() @IsString() @Length(1, 200) cursor?: string;
  /** @example 20 */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit: number = 20;
}
