import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn, VersionColumn } from 'typeorm';
import { PaymentChannel, PaymentStatus, PaymentType, SettledBy, StkPushStatus } from './payment-status';

/** Why a row's personal data was masked: the retention job (age) or a data-subject anonymisation request. */
export type PersonalDataMasking = 'retention' | 'anonymisation';

@Entity({ name: 'payments' })
// The list's order is (created_at, id): see migration PaymentListIndexes1797600000000 for these and its other indexes.
@Index('ix_payments_client_created_id', ['clientId', 'createdAt', 'id'])
@Index('ix_payments_created_id', ['createdAt', 'id'])
@Index('ix_payments_status_created', ['status', 'createdAt', 'id'])
@Index('ix_payments_type_created', ['paymentType', 'createdAt', 'id'])
export class Payment {
  @PrimaryGeneratedColumn('uuid') id: string;

  /** Null only for a C2B payment whose account number matched no bill: it belongs to no client until a person places it. */
  @Column({ name: 'client_id', type: 'varchar', length: 64, nullable: true }) clientId: string | null;
  /** How the money came: `stk` (we pushed a prompt) or `c2b` (the customer paid the Paybill or till from the phone). */
  @Column({ type: 'varchar', length: 8, default: PaymentChannel.Stk }) channel: PaymentChannel;
  /** The bill this payment counts toward (src/bills), when it names one. */
  @Column({ name: 'bill_id', type: 'uuid', nullable: true }) billId: string | null;
  @Column({ name: 'appointment_id', type: 'varchar', length: 64, nullable: true }) appointmentId: string | null;
  /** Whole Kenya shillings. */
  @Column({ type: 'integer' }) amount: number;
  @Column({ type: 'char', length: 3, default: 'KES' }) currency: string;
  /** Sum of completed refunds, in whole shillings. */
  @Column({ name: 'refunded_amount', type: 'integer', default: 0 }) refundedAmount: number;
  @Column({ type: 'varchar', length: 24, default: PaymentStatus.Pending }) status: PaymentStatus;
  @Column({ type: 'varchar', length: 16, default: 'mpesa' }) method: string;
  @Column({ name: 'payment_type', type: 'varchar', length: 32 }) paymentType: PaymentType;
  @Column({ type: 'varchar', length: 255, nullable: true }) description: string | null;

  @Column({ name: 'mpesa_transaction_id', type: 'varchar', length: 64, nullable: true }) mpesaTransactionId: string | null;
  @Column({ name: 'checkout_request_id', type: 'varchar', length: 64, nullable: true, unique: true }) checkoutRequestId: string | null;
  @Column({ name: 'merchant_request_id', type: 'varchar', length: 64, nullable: true }) merchantRequestId: string | null;
  @Column({ name: 'mpesa_receipt_number', type: 'varchar', length: 32, nullable: true, unique: true }) mpesaReceiptNumber: string | null;
  @Column({ name: 'transaction_date', type: 'timestamptz', nullable: true }) transactionDate: Date | null;
  /** AES-256-GCM ciphertext of the MSISDN (see FieldEncryptionService). */
  @Column({ name: 'phone_number_encrypted', type: 'text' }) phoneNumberEncrypted: string;
  /** Keyed hash of the MSISDN, for look-ups and for matching callbacks. */
  @Column({ name: 'phone_number_hash', type: 'char', length: 64 }) phoneNumberHash: string;
  /** As LegalPro gave it with the push (trimmed); used to greet the client in notifications. */
  @Column({ name: 'customer_name', type: 'varchar', length: 100, nullable: true }) customerName: string | null;
  /** AES-256-GCM ciphertext of the client's email, when given: where payment emails go. */
  @Column({ name: 'customer_email_encrypted', type: 'text', nullable: true }) customerEmailEncrypted: string | null;
  /**
   * Set when the phone, name and email above were replaced by masked forms (src/privacy): the ciphertext columns
   * then hold the masked value, so readers still decrypt, but no refund can be sent to it.
   */
  @Column({ name: 'personal_data_masked_at', type: 'timestamptz', nullable: true }) personalDataMaskedAt: Date | null;
  @Column({ name: 'personal_data_masked_by', type: 'varchar', length: 16, nullable: true })
  personalDataMaskedBy: PersonalDataMasking | null;
  /** STK: the AccountReference we sent (at most 12). C2B: the account number the customer typed, trimmed (up to 20). */
  @Column({ name: 'account_reference', type: 'varchar', length: 32 }) accountReference: string;
  @Column({ name: 'transaction_desc', type: 'varchar', length: 13 }) transactionDesc: string;

  @Column({ name: 'stk_push_status', type: 'varchar', length: 24, default: StkPushStatus.Initiating }) stkPushStatus: StkPushStatus;
  @Column({ name: 'callback_received', type: 'boolean', default: false }) callbackReceived: boolean;
  /** Daraja's ResultCode as text: usually numeric, sometimes not (`SFC_IC0003`). */
  @Column({ name: 'result_code', type: 'varchar', length: 32, nullable: true }) resultCode: string | null;
  @Column({ name: 'result_desc', type: 'text', nullable: true }) resultDesc: string | null;
  @Column({ name: 'settled_by', type: 'varchar', length: 16, nullable: true }) settledBy: SettledBy | null;
  /** Set when something needs a person (e.g. a callback whose amount or phone did not match). */
  @Column({ name: 'review_reason', type: 'varchar', length: 64, nullable: true }) reviewReason: string | null;

  @Column({ name: 'retry_count', type: 'integer', default: 0 }) retryCount: number;
  @Column({ name: 'last_retry_at', type: 'timestamptz', nullable: true }) lastRetryAt: Date | null;
  @Column({ name: 'max_retries', type: 'integer', default: 3 }) maxRetries: number;
  /** How many of PAYMENT_LATE_QUERY_DELAYS_MS's questions an expired payment has had answered. */
  @Column({ name: 'late_queries', type: 'smallint', default: 0 }) lateQueries: number;

  @Column({ name: 'request_payload', type: 'jsonb', nullable: true }) requestPayload: object | null;
  @Column({ name: 'response_payload', type: 'jsonb', nullable: true }) responsePayload: object | null;
  @Column({ name: 'callback_payload', type: 'jsonb', nullable: true }) callbackPayload: object | null;
  @Column({ name: 'error_logs', type: 'jsonb', default: () => "'[]'::jsonb" }) errorLogs: string[];

  @Column({ name: 'idempotency_key', type: 'varchar', length: 255, nullable: true }) idempotencyKey: string | null;
  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true }) requestId: string | null;

  @Column({ name: 'initiated_at', type: 'timestamptz', default: () => 'now()' }) initiatedAt: Date;
  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true }) completedAt: Date | null;
  @Column({ name: 'failed_at', type: 'timestamptz', nullable: true }) failedAt: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
  @VersionColumn({ name: 'version', default: 1 }) version: number;
}
