import { Transform } from 'class-transformer';
import {
  IsEmail,
  IsEnum,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import { IsKenyanPhone } from '../../common/validation/is-kenyan-phone';
import { PaymentType } from '../payment-status';

/** Daraja's STK limits: whole shillings from 1 to 250,000 (docs/daraja.md §12). */
export const STK_MIN_AMOUNT = 1;
export const STK_MAX_AMOUNT = 250_000;

/** Required without a bill; with a `billId` it may be left out (the bill's is used: see StkPushService). */
const requiredUnlessBilled = (field: 'amount' | 'paymentType' | 'description') =>
  ValidateIf((dto: InitiateStkPushDto) => dto.billId === undefined || dto[field] !== undefined);

export class InitiateStkPushDto {
  /**
   * The M-Pesa number to prompt.
   * @example "254708374149"
   */
  @IsString()
  @IsKenyanPhone()
  phoneNumber: string;

  /**
   * Whole Kenya shillings. With a `billId`: defaults to the bill's balance, and may not exceed it.
   * @example 100
   */
  @requiredUnlessBilled('amount')
  @IsInt({ message: 'amount must be a whole number of shillings' })
  @Min(STK_MIN_AMOUNT, { message: `amount must be at least ${STK_MIN_AMOUNT}` })
  @Max(STK_MAX_AMOUNT, { message: `amount must not exceed ${STK_MAX_AMOUNT}` })
  amount?: number;

  /** With a `billId`: defaults to the bill's. @example "consultation_fee" */
  @requiredUnlessBilled('paymentType')
  @IsEnum(PaymentType, { message: `paymentType must be one of: ${Object.values(PaymentType).join(', ')}` })
  paymentType?: PaymentType;

  /**
   * What the payment is for; the first 13 letters and digits become Daraja's TransactionDesc. With a `billId`:
   * defaults to the bill's.
   * @example "Consultation with Adv. Otieno"
   */
  @requiredUnlessBilled('description')
  @IsString()
  @IsNotEmpty({ message: 'description must not be empty' })
  @MaxLength(255)
  description?: string;

  /**
   * Shown in the M-Pesa prompt: letters, digits, spaces and dashes, at most 12 (Daraja's limit).
   * Defaults to `LP` + the first 10 characters of the payment id; with a `billId` it is the bill's reference.
   * @example "CASE-2291"
   */
  @IsOptional()
  @Matches(/^[A-Za-z0-9 -]{1,12}$/, { message: 'accountReference must be 1-12 letters, digits, spaces or dashes' })
  accountReference?: string;

  /**
   * The bill this payment is for (src/bills): it must be open or partially paid, and the caller's own (an admin may
   * push for any client's bill). The completed payment counts toward it.
   * @example "5b0e8a1e-3f55-4f0e-9d7a-2f7c1f0f6a11"
   */
  @IsOptional()
  @IsUUID('all', { message: 'billId must be a UUID' })
  billId?: string;

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
