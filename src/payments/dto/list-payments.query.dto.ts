import { Type } from 'class-transformer';
import { IsDate, IsEnum, IsInt, IsOptional, Max, Min } from 'class-validator';
import { PaymentStatus, PaymentType } from '../payment-status';

export class ListPaymentsQueryDto {
  @IsOptional() @IsEnum(PaymentStatus) status?: PaymentStatus;
  @IsOptional() @IsEnum(PaymentType) paymentType?: PaymentType;
  /** ISO 8601; payments created at or after. */
  @IsOptional() @Type(() => Date) @IsDate({ message: 'from must be an ISO 8601 date' }) from?: Date;
  /** ISO 8601; payments created at or before. */
  @IsOptional() @Type(() => Date) @IsDate({ message: 'to must be an ISO 8601 date' }) to?: Date;
  /** @example 1 */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) page: number = 1;
  /** @example 20 */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit: number = 20;
}
