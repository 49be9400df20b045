import { IsOptional, Matches, ValidateIf } from 'class-validator';

export class TransactionStatusRequestDto {
  /**
   * An M-Pesa receipt (C2B, STK or B2C).
   * @example "SG632NMUAB"
   */
  @ValidateIf((o: TransactionStatusRequestDto) => !o.originatorConversationId)
  @Matches(/^[A-Z0-9]{8,20}$/, {
    message: 'transactionId must be an M-Pesa receipt (8-20 capital letters and digits), or give originatorConversationId',
  })
  transactionId?: string;

  /**
   * The OriginatorConversationID of a B2C, reversal or other initiator request.
   * @example "LPb2c4f0c8a1e27d4d0b"
   */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'originatorConversationId must be 1-64 letters, digits, _ or -' })
  originatorConversationId?: string;
}

export class AccountBalanceLineDto {
  /** @example "Utility Account" */
  account: string;
  /** @example "KES" */
  currency: string;
  /** Decimal KES as Daraja gives them. @example 228037.5 */
  current: number;
  available: number;
  reserved: number;
  uncleared: number;
}

export class BalanceSnapshotDto {
  id: string;
  status: 'pending' | 'completed' | 'failed' | 'expired';
  shortcode: string;
  accounts: AccountBalanceLineDto[] | null;
  resultCode: string | null;
  resultDesc: string | null;
  requestedAt: Date;
  completedAt: Date | null;
}

export class TransactionStatusQueryDto {
  id: string;
  status: 'pending' | 'completed' | 'failed' | 'expired';
  transactionId: string | null;
  originatorConversationId: string | null;
  resultCode: string | null;
  resultDesc: string | null;
  result: object | null;
  requestedAt: Date;
  completedAt: Date | null;
}
