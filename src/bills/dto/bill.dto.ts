import { Transform, Type } from 'class-transformer';
import {
  IsDate,
  IsEnum,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxDate,
  MaxLength,
  Min,
  MinDate,
} from 'class-validator';
import { BillStatus } from '../bill.entity';

/**
 * The payment types a bill may carry: the same names as payments' PaymentType (src/payments/payment-status.ts), which
 * this module cannot import (payments depends on bills). test/unit/account-reference.spec.ts keeps the two equal.
 */
export const BILL_PAYMENT_TYPES = ['consultation_fee', 'appointment_fee', 'case_filing_fee', 'other'] as const;
export type BillPaymentType = (typeof BILL_PAYMENT_TYPES)[number];

/** Bills are not bound by STK's 250,000 cap: a large bill is paid in several payments, or by Paybill. */
export const BILL_MAX_AMOUNT = 100_000_000;

const EARLIEST = new Date('2000-01-01T00:00:00Z');
const LATEST = new Date('2100-01-01T00:00:00Z');
const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateBillDto {
  /**
   * Whose bill it is: any client for an admin, only itself for a client.
   * @example "client-42"
   */
  @Transform(trim)
  @IsString()
  @IsNotEmpty({ message: 'clientId must not be empty' })
  @MaxLength(64)
  clientId: string;

  /**
   * Whole Kenya shillings owed.
   * @example 2500
   */
  @IsInt({ message: 'amount must be a whole number of shillings' })
  @Min(1, { message: 'amount must be at least 1' })
  @Max(BILL_MAX_AMOUNT, { message: `amount must not exceed ${BILL_MAX_AMOUNT}` })
  amount: number;

  /** @example "consultation_fee" */
  @IsIn(BILL_PAYMENT_TYPES, { message: `paymentType must be one of: ${BILL_PAYMENT_TYPES.join(', ')}` })
  paymentType: BillPaymentType;

  /**
   * What the bill is for (an STK push for it uses this unless it gives its own).
   * @example "Consultation, 12 March"
   */
  @Transform(trim)
  @IsString()
  @IsNotEmpty({ message: 'description must not be empty' })
  @MaxLength(255)
  // Control characters (line breaks included) would reshape webhooks and invoices that show it.
  @Matches(/^[^\p{Cc}]*$/u, { message: 'description must not contain control characters' })
  description: string;

  /** @example "apt_8812" */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  appointmentId?: string;

  /** ISO 8601; shown with the bill, never enforced. @example "2026-03-31T21:00:00Z" */
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'dueAt must be an ISO 8601 date' })
  @MinDate(EARLIEST)
  @MaxDate(LATEST)
  dueAt?: Date;
}

export class ListBillsQueryDto {
  @IsOptional()
  @IsEnum(BillStatus, { message: `status must be one of: ${Object.values(BillStatus).join(', ')}` })
  status?: BillStatus;
  /** Admins: one client's bills. A client sees only its own (another clientId is refused). */
  @IsOptional() @IsString() @MaxLength(64) clientId?: string;
  /** @example 1 */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100_000) page: number = 1;
  /** @example 20 */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit: number = 20;
}

export class CancelBillDto {
  /** Why; kept with the bill and in the audit trail. @example "Consultation waived" */
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(255)
  reason?: string;
}

export class BillPaymentViewDto {
  paymentId: string;
  amount: number;
  /** `stk` or `c2b`. */
  channel: string;
  status: string;
  mpesaReceiptNumber: string | null;
  settledBy: string | null;
  completedAt: Date | null;
}

export class BillViewDto {
  billId: string;
  clientId: string;
  appointmentId: string | null;
  /** Whole KES owed. @example 2500 */
  amount: number;
  /** What the payments counted toward it add up to. @example 1000 */
  paidAmount: number;
  /** Still owed: amount − paidAmount, never below 0. @example 1500 */
  balance: number;
  /** @example "KES" */
  currency: string;
  paymentType: string;
  description: string;
  /** The account number to type when paying by Paybill (8 characters, no 0/O/1/I). @example "K7HM3QXA" */
  accountReference: string;
  status: BillStatus;
  dueAt: Date | null;
  paidAt: Date | null;
  cancelledAt: Date | null;
  cancelReason: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** Only on `GET /api/bills/:id`: the paid payments that counted toward it, oldest first. */
  payments?: BillPaymentViewDto[];
}

export class BillResponseDto {
  success: boolean;
  data: BillViewDto;
}

export class BillPageDto {
  items: BillViewDto[];
  total: number;
  page: number;
  limit: number;
}

export class BillListResponseDto {
  success: boolean;
  data: BillPageDto;
}
