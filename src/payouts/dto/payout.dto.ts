import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Length, Max, MaxLength, Min } from 'class-validator';
import { IsKenyanPhone } from '../../common/validation/is-kenyan-phone';

/** B2C's own limits: whole shillings from 10 to 250,000 (docs/daraja.md §5.1, D-B2C FAQ 9). */
export const B2C_MIN_AMOUNT = 10;
export const B2C_MAX_AMOUNT = 250_000;
export const B2C_COMMAND_IDS = ['BusinessPayment', 'SalaryPayment', 'PromotionPayment'] as const;

export class RefundRequestDto {
  /**
   * Whole Kenya shillings, at most what is left to refund on the payment.
   * @example 50
   */
  @IsInt({ message: 'amount must be a whole number of shillings' })
  @Min(B2C_MIN_AMOUNT, { message: `amount must be at least ${B2C_MIN_AMOUNT} (the B2C minimum)` })
  @Max(B2C_MAX_AMOUNT, { message: `amount must not exceed ${B2C_MAX_AMOUNT}` })
  amount: number;

  /** @example "Consultation cancelled by the advocate" */
  @IsString()
  @IsNotEmpty({ message: 'reason must not be empty' })
  @MaxLength(255)
  reason: string;
}

export class DisbursementRequestDto {
  /** @example "254708374149" */
  @IsString()
  @IsKenyanPhone()
  phoneNumber: string;

  /** @example 1500 */
  @IsInt({ message: 'amount must be a whole number of shillings' })
  @Min(B2C_MIN_AMOUNT, { message: `amount must be at least ${B2C_MIN_AMOUNT} (the B2C minimum)` })
  @Max(B2C_MAX_AMOUNT, { message: `amount must not exceed ${B2C_MAX_AMOUNT}` })
  amount: number;

  /** @example "BusinessPayment" */
  @IsIn(B2C_COMMAND_IDS, { message: `commandId must be one of: ${B2C_COMMAND_IDS.join(', ')}` })
  commandId: (typeof B2C_COMMAND_IDS)[number];

  /**
   * Daraja's Remarks: 2 to 100 characters.
   * @example "Compensation for delayed hearing"
   */
  @IsString()
  @Length(2, 100, { message: 'remarks must be 2 to 100 characters' })
  remarks: string;

  /** @example "Case 2291" */
  @IsOptional()
  @IsString()
  @Length(1, 100, { message: 'occasion must be 1 to 100 characters' })
  occasion?: string;

  /** The LegalPro client this payout is for, if any. */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  clientId?: string;
}

export class ReversalRequestDto {
  /** @example "Paid to the wrong paybill" */
  @IsString()
  @IsNotEmpty({ message: 'reason must not be empty' })
  @MaxLength(255)
  reason: string;
}

export class PageQueryDto {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100_000) page: number = 1;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit: number = 20;
}
