import { IsNotEmpty, IsOptional, IsString, Length, MaxLength, ValidateIf } from 'class-validator';
import { IsKenyanPhone } from '../../common/validation/is-kenyan-phone';

/**
 * Whom a data-protection request is about: LegalPro's client id, the phone number that paid, or both (then the
 * records of either). In the body, not the URL, so that a phone number never lands in access logs.
 */
export class DataSubjectDto {
  /**
   * LegalPro's client id (the `sub` of the client's tokens). Required unless phoneNumber is given.
   * @example "client-42"
   */
  @ValidateIf((o: DataSubjectDto) => o.clientId !== undefined || o.phoneNumber === undefined)
  @IsString({ message: 'clientId or phoneNumber is required' })
  @IsNotEmpty({ message: 'clientId must not be empty' })
  @MaxLength(64)
  clientId?: string;

  /**
   * The phone number that paid, in any format the payments API accepts; looked up through its keyed hash.
   * @example "254708374149"
   */
  @IsOptional()
  @IsString()
  @IsKenyanPhone()
  phoneNumber?: string;
}

export class AnonymiseRequestDto extends DataSubjectDto {
  /**
   * Why: the reference of the client's erasure request. Stored in the audit trail, so name no person here
   * (phone numbers and emails are masked anyway).
   * @example "DPA erasure request #2291, received 2026-11-20"
   */
  @IsString()
  @Length(3, 255, { message: 'reason must be 3 to 255 characters' })
  reason: string;
}

export class AnonymisationCountsDto {
  payments: number;
  payouts: number;
  notifications: number;
  /** Client emails and SMS still queued about these records, now never sent (their recipient is gone). */
  clientMessagesCancelled: number;
  reversals: number;
  transactionStatusQueries: number;
  transactionLogs: number;
  idempotencyRecords: number;
  /** Receipt ledger rows of these payments whose stored records still named the payer. */
  mpesaReceipts: number;
  /** Reconciliation report items about these payments (their payer's name, narration and row). */
  reconciliationItems: number;
}

export class AnonymisationResultDto {
  /** False when everything was already anonymised: nothing was written. */
  changed: boolean;
  /** Rows changed by this request (0 everywhere on a repeat). */
  counts: AnonymisationCountsDto;
  /** LegalPro client ids whose records were concerned. */
  clientIds: string[];
}

export class AnonymisationResponseDto {
  success: boolean;
  /** @example "Personal data anonymised" */
  message: string;
  data: AnonymisationResultDto;
}

export class ClientDataExportDto {
  /** The request as understood: the client id and the phone number masked. */
  subject: { clientId: string | null; phoneNumber: string | null };
  generatedAt: Date;
  /** Every payment, with its phone number, name and email decrypted (masked ones show their masked form). */
  payments: Record<string, unknown>[];
  /** Refunds and disbursements, with their phone number decrypted. */
  payouts: Record<string, unknown>[];
  reversals: Record<string, unknown>[];
  /** Outbox rows announcing these payments and payouts (webhooks, emails, SMS). */
  notifications: Record<string, unknown>[];
  /** The audit trail of these records (already masked when written). */
  auditEvents: Record<string, unknown>[];
  /** Daraja calls and callbacks about these records, redacted as stored. */
  transactionLogs: Record<string, unknown>[];
  transactionStatusQueries: Record<string, unknown>[];
  /** Stored answers replayed for an Idempotency-Key. */
  idempotencyRecords: Record<string, unknown>[];
  /** The receipt ledger's rows of these payments: each channel's record of the money (number masked, name initials). */
  mpesaReceipts: Record<string, unknown>[];
  /** Reconciliation report lines about these payments or their receipts. */
  reconciliationItems: Record<string, unknown>[];
}

export class ClientDataExportResponseDto {
  success: boolean;
  data: ClientDataExportDto;
}
