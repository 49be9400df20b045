import { Transform } from 'class-transformer';
import { IsEmail, IsEnum, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { IsKenyanPhone } from '../../common/validation/is-kenyan-phone';
import { PaymentType } from '../payment-status';

/** Daraja's STK limits: whole shillings from 1 to 250,000 (docs/daraja.md §12). */
export const STK_MIN_AMOUNT = 1;
export const STK_MAX_AMOUNT = 250_000;

export class InitiateStkPushDto {
  /**
   * The M-Pesa number to prompt.
   * @example "254708374149"
   */
  @IsString()
  @IsKenyanPhone()
  phoneNumber: string;

  /**
   * Whole Kenya shillings.
   * @example 100
   */
  @IsInt({ message: 'amount must be a whole number of shillings' })
  @Min(STK_MIN_AMOUNT, { message: `amount must be at least ${STK_MIN_AMOUNT}` })
  @Max(STK_MAX_AMOUNT, { message: `amount must not exceed ${STK_MAX_AMOUNT}` })
  amount: number;

  /** @example "consultation_fee" */
  @IsEnum(PaymentType, { message: `paymentType must be one of: ${Object.values(PaymentType).join(', ')}` })
  paymentType: PaymentType;

  /**
   * What the payment is for; the first 13 letters and digits become Daraja's TransactionDesc.
   * @example "Consultation with Adv. Otieno"
   */
  @IsString()
  @IsNotEmpty({ message: 'description must not be empty' })
  @MaxLength(255)
  description: string;

  /**
   * Shown in the M-Pesa prompt: letters, digits, spaces and dashes, at most 12 (Daraja's limit).
   * Defaults to `LP` + the first 10 characters of the payment id.
   * @example "CASE-2291"
   */
  @IsOptional()
  @Matches(/^[A-Za-z0-9 -]{1,12}$/, { message: 'accountReference must be 1-12 letters, digits, spaces or dashes' })
  accountReference?: string;

  /** @example "apt_8812" */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  appointmentId?: string;

  /**
   * Where to email the client a receipt (and news of a failure or a refund). Stored encrypted; never echoed back.
   * @example "wanjiru@example.com"
   */
  @IsOptional()
  @IsString()
  @MaxLength(254, { message: 'email must be at most 254 characters' })
  @IsEmail({}, { message: 'email must be a valid email address' })
  email?: string;

  /**
   * How to greet the client in notifications; surrounding spaces are trimmed.
   * @example "Wanjiru Kamau"
   */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @MaxLength(100, { message: 'customerName must be at most 100 characters' })
  // Control characters (line breaks included) have no place in a name and would let it reshape an SMS or a header.
  @Matches(/^[^\p{Cc}]*$/u, { message: 'customerName must not contain control characters' })
  customerName?: string;
}
