import { IsBoolean, IsIn, IsInt, IsISO8601, IsNumber, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { FAULT_KINDS, FaultKind, SIMULATED_ENDPOINTS, SimulatedEndpoint } from './simulator-faults';
import { LEDGER_KINDS, LedgerKind, MSISDN_FORMATS, MsisdnFormat } from './simulator-ledger';
import { MAX_PULL_PAGE_SIZE, PullOffsetReading } from './simulator-pull.service';

export class QueueFaultsDto {
  /** Which simulated Daraja endpoint the faults hit. */
  @IsIn(SIMULATED_ENDPOINTS)
  endpoint: SimulatedEndpoint;

  @IsIn(FAULT_KINDS)
  kind: FaultKind;

  /** How many consecutive requests get the fault (default 1). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  count?: number;

  /** For `delay`: how long to hold the answer (default 35000). */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(600_000)
  delayMs?: number;
}

export class CallbacksSwitchDto {
  @IsBoolean()
  enabled: boolean;

  /** With enabled=false: `stk` silences only STK callbacks (results, confirmations and validations still go). */
  @IsOptional()
  @IsIn(['stk'])
  only?: 'stk';
}

/** Largest simulated balance, in KES: keeps every balance an exact integer number of cents in Redis' Lua. */
export const MAX_SIMULATED_BALANCE = 10_000_000_000;

export class SetBalancesDto {
  /** The B2C Utility account, KES (two decimals at most): what payouts and reversals are paid from. */
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 })
  @Min(0)
  @Max(MAX_SIMULATED_BALANCE)
  utility: number;

  /** The Working account, KES; left as it is when omitted. */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 })
  @Min(0)
  @Max(MAX_SIMULATED_BALANCE)
  working?: number;
}

// ---- C2B, Pull and the ledger ----

export class C2bSwitchesDto {
  /** Completed STK pushes also send a C2B confirmation with the same receipt (off by default). */
  @IsOptional()
  @IsBoolean()
  stkConfirmations?: boolean;

  /** When that confirmation is sent, relative to the push's settlement (negative: before its STK callback). */
  @IsOptional()
  @IsInt()
  @Min(-600_000)
  @Max(600_000)
  stkConfirmationDelayMs?: number;

  /** Whether the registered ValidationURL is asked before each simulated payment (on by default). */
  @IsOptional()
  @IsBoolean()
  validation?: boolean;

  /** `production`: a second Register URL for a shortcode answers "Urls are already registered." */
  @IsOptional()
  @IsIn(['sandbox', 'production'])
  registration?: 'sandbox' | 'production';

  @IsOptional()
  @IsIn(MSISDN_FORMATS)
  msisdnFormat?: MsisdnFormat;
}

export class PullSettingsDto {
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_PULL_PAGE_SIZE)
  pageSize?: number;

  /** What OffSetValue counts: a page index (default) or a row offset. */
  @IsOptional()
  @IsIn(['page', 'row'])
  offsetReading?: PullOffsetReading;
}

const RECEIPT = /^[A-Z0-9]{10}$/;
const PLAIN_MSISDN_OR_NONE = /^(254[17]\d{8})?$/;
const SHORTCODE = /^\d{5,7}$/;
const WITH_ZONE = /(Z|[+-]\d{2}:?\d{2})$/i;

/** A ledger row M-Pesa has: a payment the app never heard of, a payout, a charge, … (amounts in KES). */
export class AddLedgerRowDto {
  @IsIn(LEDGER_KINDS)
  kind: LedgerKind;

  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 })
  @Min(0.01)
  @Max(MAX_SIMULATED_BALANCE)
  amount: number;

  /** Generated when omitted; required for a `charge` (the receipt of the payment it is charged on). */
  @IsOptional()
  @Matches(RECEIPT)
  receipt?: string;

  /** ISO 8601 with its zone; default now. */
  @IsOptional()
  @IsISO8601({ strict: true })
  @Matches(WITH_ZONE, { message: 'completedAt must carry its zone (Z or +03:00)' })
  completedAt?: string;

  /** The customer's number (2547…/2541…), or '' for a business payer; default 254708374149. */
  @IsOptional()
  @Matches(PLAIN_MSISDN_OR_NONE)
  phone?: string;

  @IsOptional()
  @IsString()
  @Length(1, 100)
  name?: string;

  @IsOptional()
  @IsString()
  @Length(0, 20)
  accountReference?: string;

  /** Default: the STK shortcode (the B2C shortcode for `b2c`). */
  @IsOptional()
  @Matches(SHORTCODE)
  shortCode?: string;

  /** Default: CustomerPayBillOnline for money in, BusinessPayment for `b2c`. */
  @IsOptional()
  @IsString()
  @Length(1, 40)
  transactionType?: string;

  /** Replaces the statement's generated Details. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  details?: string;

  /** A reversal's original receipt. */
  @IsOptional()
  @Matches(RECEIPT)
  originalReceipt?: string;
}

/** What M-Pesa's books say differently: the row's amount, time, account reference, Details, number or name. */
export class PatchLedgerRowDto {
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 })
  @Min(0.01)
  @Max(MAX_SIMULATED_BALANCE)
  amount?: number;

  @IsOptional()
  @IsISO8601({ strict: true })
  @Matches(WITH_ZONE, { message: 'completedAt must carry its zone (Z or +03:00)' })
  completedAt?: string;

  @IsOptional()
  @IsString()
  @Length(0, 20)
  accountReference?: string;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  details?: string;

  @IsOptional()
  @Matches(PLAIN_MSISDN_OR_NONE)
  phone?: string;

  @IsOptional()
  @IsString()
  @Length(1, 100)
  name?: string;
}
