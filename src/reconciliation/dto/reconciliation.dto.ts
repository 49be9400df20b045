import { Type } from 'class-transformer';
import { IsEnum, IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { ItemKind } from '../reports/reconcile';

export class PullRegisterDto {
  /** The shortcode to register (default PULL_SHORTCODE, else MPESA_SHORTCODE). @example "600000" */
  @IsOptional()
  @Matches(/^\d{5,7}$/, { message: 'shortCode must be a 5-7 digit shortcode' })
  shortCode?: string;

  /** The Safaricom number on the shortcode's KYC record, not the shortcode (default PULL_NOMINATED_NUMBER). @example "254722000000" */
  @IsOptional()
  @Matches(/^(?:\+?254|0)[17]\d{8}$/, { message: 'nominatedNumber must be a Safaricom number such as 254722000000 (not the shortcode)' })
  nominatedNumber?: string;

  /** Required by Daraja, though nothing is known to be posted to it (default PULL_CALLBACK_URL). */
  @IsOptional()
  @Matches(/^https?:\/\/\S+$/, { message: 'callbackUrl must be an http(s) URL without spaces' })
  callbackUrl?: string;
}

export class PullRegisteredDto {
  /** 1000: registered now; 1001: registered before. Both are success. @example "1000" */
  responseStatus: string;
  responseDescription: string;
  alreadyRegistered: boolean;
  responseRefId: string | null;
  shortCode: string;
  nominatedNumber: string;
  callbackUrl: string;
}

export class PullRegisteredResponseDto {
  success: boolean;
  data: PullRegisteredDto;
}

export class ListPullRunsQueryDto {
  @IsOptional()
  @IsIn(['running', 'succeeded', 'ambiguous', 'failed'], { message: 'status must be one of: running, succeeded, ambiguous, failed' })
  status?: 'running' | 'succeeded' | 'ambiguous' | 'failed';
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100_000) page: number = 1;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit: number = 20;
}

export class PullPageDto {
  /** The OffSetValue sent. */
  offset: number;
  /** The body's ResponseCode: 1000 success, 1001 "no records", anything else a failure (even inside HTTP 200). */
  responseCode: string;
  responseMessage: string;
  transactions: number;
  newTransactions: number;
  totalPages: number | null;
  totalRecords: number | null;
}

export class PullRunDto {
  id: string;
  /** `scheduled` (every PULL_INTERVAL_MINUTES), `manual` (POST /api/reconciliation/pull-runs) or `daily`. */
  trigger: 'scheduled' | 'manual' | 'daily';
  shortCode: string;
  windowStart: Date;
  windowEnd: Date;
  /**
   * `succeeded`; `ambiguous`: Pull answered 1001 "no records" on the first page, said both for a quiet window and for a
   * shortcode not set up for Pull (see `note`); `failed`: another ResponseCode, an error, or the page cap (see `errors`).
   */
  status: 'running' | 'succeeded' | 'ambiguous' | 'failed';
  pages: number;
  /** Distinct transactions Pull listed. */
  transactionsSeen: number;
  /** Of those, receipts the service already held. */
  alreadyKnown: number;
  /** Receipts the service did not know, handed to the payments module (the C2B confirmation path, source `pull`). */
  ingested: number;
  /** Of those, now held by a payment: created, attached to an STK payment, or recorded on one settled without it. */
  recovered: number;
  /** Of those, put to a person by the payments module (a possible match, another amount). */
  flagged: number;
  unreadable: number;
  /** How Pull's answers counted OffSetValue (page index or row offset), when more than one page told. */
  offsetReading: 'page' | 'row' | null;
  /** Each page's answer, in order. */
  responseCodes: PullPageDto[];
  errors: string[];
  recoveredReceipts: { receipt: string; outcome: string; paymentId: string | null }[];
  /** For an ambiguous run: payments the service recorded in the window itself. */
  paymentsRecordedInWindow: number | null;
  note: string | null;
  requestedBy: string;
  startedAt: Date;
  finishedAt: Date | null;
}

export class PullRunResponseDto {
  success: boolean;
  data: PullRunDto;
}

export class PullRunPageDto {
  items: PullRunDto[];
  total: number;
  page: number;
  limit: number;
}

export class PullRunListResponseDto {
  success: boolean;
  data: PullRunPageDto;
}

export class StatementImportQueryDto {
  /** The statement's shortcode, when the file does not name it (the newer template has it only in its file name). */
  @IsOptional()
  @Matches(/^\d{5,7}$/, { message: 'shortCode must be a 5-7 digit shortcode' })
  shortCode?: string;
}

export class DailyReconciliationDto {
  /** A Kenya day inside Pull's 48 hours: yesterday, or today so far. @example "2026-03-14" */
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'day must be a date, YYYY-MM-DD (Kenya time)' })
  day: string;
}

export class ListReportsQueryDto {
  @IsOptional()
  @IsIn(['statement', 'pull_daily'], { message: 'kind must be statement or pull_daily' })
  kind?: 'statement' | 'pull_daily';
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100_000) page: number = 1;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit: number = 20;
}

export class ReportItemsQueryDto {
  /** Only the rows of one kind, e.g. `missing_here`. */
  @IsOptional()
  @IsEnum(ItemKind, { message: `kind must be one of: ${Object.values(ItemKind).join(', ')}` })
  kind?: ItemKind;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100_000) page: number = 1;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000) limit: number = 200;
}

export class ReportDto {
  id: string;
  /** `statement` (an org-portal export) or `pull_daily` (a Kenya day through Pull Transactions). */
  kind: 'statement' | 'pull_daily';
  shortCode: string | null;
  /** The period M-Pesa's record covers, `[periodStart, periodEnd)`. */
  periodStart: Date;
  periodEnd: Date;
  /** `statement`: its own Time Period; `rows`: its first and last transactions; `day`: the Kenya day. */
  periodSource: 'statement' | 'rows' | 'day';
  /** The statement's layout: `legacy` (preamble, `Receipt No.`) or `template` (newer CSV). */
  layout: string | null;
  pullRunId: string | null;
  rowsRead: number;
  /**
   * Per kind: matched, missing_here, missing_at_mpesa, amount_mismatch, charge, internal, recovered, stk_not_listed,
   * ignored; and `unexplained`, the differences that opened (or joined) a review.
   */
  counts: Record<string, number>;
  /** M-Pesa's side in KES: paidIn, withdrawn, charges. */
  totals: Record<string, number>;
  /** Differences still waiting for a person (their review open). */
  openDifferences?: number;
  notes: string[];
  createdBy: string;
  createdAt: Date;
}

export class ReportItemDto {
  id: string;
  kind: ItemKind;
  direction: 'in' | 'out';
  /** The statement's line (null for Pull and for our records M-Pesa does not show). */
  lineNo: number | null;
  receipt: string | null;
  /** M-Pesa's amount (KES). */
  amount: number | null;
  /** Ours. */
  recordedAmount: number | null;
  occurredAt: Date | null;
  accountReference: string | null;
  /** The other party as M-Pesa shows it (masked number and name). */
  party: string | null;
  transactionType: string | null;
  details: string | null;
  recordType: 'payment' | 'payout' | 'reversal' | null;
  recordId: string | null;
  recordStatus: string | null;
  /** The review that puts this difference before a person. */
  reviewId: string | null;
  /** `recovered`, `flagged` (the payments module's review decides), `recorded` or `dismissed` (a person decided). */
  resolution: string | null;
  resolutionDetail: Record<string, unknown> | null;
  resolvedAt: Date | null;
}

export class ReportWithItemsDto extends ReportDto {
  items: { items: ReportItemDto[]; total: number; page: number; limit: number };
}

export class ReportResponseDto {
  success: boolean;
  /** True when this request created the report; false when the same statement (or day) had been reconciled before. */
  created?: boolean;
  data: ReportWithItemsDto;
}

export class ReportPageDto {
  items: ReportDto[];
  total: number;
  page: number;
  limit: number;
}

export class ReportListResponseDto {
  success: boolean;
  data: ReportPageDto;
}
