import { Injectable } from '@nestjs/common';
import { redact } from '../common/redaction';
import { Database, Tx } from '../database/database';
import { json, raw, Sql, sql } from '../database/sql';
import { MpesaReceipt, RECEIPT_CHANNELS, ReceiptChannel } from './mpesa-receipt.entity';

/** One sighting of a receipt by one channel. */
export interface ReceiptSighting {
  receipt: string;
  channel: ReceiptChannel;
  amount: number;
  occurredAt: Date | null;
  accountReference: string | null;
  msisdn: string | null;
  payerName: string | null;
  shortCode: string | null;
  transactionType: string | null;
  /** The record as received; redacted here. */
  payload: unknown;
  /** The payment the sighting itself proves the receipt belongs to (an STK callback on that payment's URL). */
  paymentId?: string | null;
}

/** A known receipt's payment, as RECON and the ledger's readers see it. */
export interface ReceiptOwner {
  paymentId: string;
  amount: number;
  status: string;
}

const CHANNEL_COLUMN: Record<ReceiptChannel, string> = {
  stk_callback: 'stk_callback_at',
  c2b_confirmation: 'c2b_confirmation_at',
  pull: 'pull_at',
  statement: 'statement_at',
};

/**
 * The only writer of `mpesa_receipts`, the receipt-keyed ledger every channel of incoming money feeds. A receipt's
 * first-seen facts are kept; each channel's first sighting is stamped once; its payment, once set, never changes.
 */
@Injectable()
export class MpesaReceiptsRepository {
  constructor(private readonly db: Database) {}

  /** Records a sighting (insert, or stamp the channel on the existing row). */
  async record(sighting: ReceiptSighting, tx?: Tx): Promise<void> {
    const row = await this.db.one(sql`${this.recordSql(sighting)} RETURNING receipt`, tx);
    // Only the key comes back: callers read the ledger when they need it, not on every callback (its payloads are jsonb).
    if (!row) throw new Error(`Receipt ${sighting.receipt} was not recorded`);
  }

  /**
   * An STK callback's sighting, as part of the statement that reads its payment (PaymentsRepository.findByIdWith):
   * one round trip instead of two. The receipt is the payment's (`paymentId`), under the payment's own account
   * reference, and nothing is recorded when there is no such payment.
   */
  recordForPaymentSql(sighting: Omit<ReceiptSighting, 'accountReference' | 'paymentId'>, paymentId: string): Sql {
    return this.recordSql({ ...sighting, accountReference: null, paymentId }, paymentId);
  }

  /** INSERT ... ON CONFLICT of one sighting; with `ofPayment`, from that payment's row (see recordForPaymentSql). */
  private recordSql(sighting: ReceiptSighting, ofPayment?: string): Sql {
    if (!RECEIPT_CHANNELS.includes(sighting.channel)) throw new Error(`Unknown receipt channel ${sighting.channel}`);
    const column = raw(CHANNEL_COLUMN[sighting.channel]);
    const payload = json({ [sighting.channel]: redact(sighting.payload ?? null) });
    const accountReference = ofPayment
      ? sql`left(p.account_reference, 32)`
      : sql`${sighting.accountReference?.slice(0, 32) ?? null}::varchar`;
    return sql`INSERT INTO mpesa_receipts (receipt, amount, occurred_at, account_reference, msisdn, payer_name, short_code, transaction_type,
                                      payment_id, ${column}, payloads)
          SELECT ${sighting.receipt}::varchar, ${sighting.amount}::int, ${sighting.occurredAt}::timestamptz, ${accountReference},
                 ${sighting.msisdn?.slice(0, 100) ?? null}::varchar, ${sighting.payerName?.slice(0, 150) ?? null}::varchar,
                 ${sighting.shortCode?.slice(0, 16) ?? null}::varchar, ${sighting.transactionType?.slice(0, 64) ?? null}::varchar,
                 ${sighting.paymentId ?? null}::uuid, now(), ${payload}::jsonb
          ${ofPayment ? sql`FROM payments p WHERE p.id = ${ofPayment}` : sql``}
          ON CONFLICT (receipt) DO UPDATE SET
                 ${column} = COALESCE(mpesa_receipts.${column}, now()),
                 occurred_at = COALESCE(mpesa_receipts.occurred_at, EXCLUDED.occurred_at),
                 account_reference = COALESCE(mpesa_receipts.account_reference, EXCLUDED.account_reference),
                 msisdn = COALESCE(mpesa_receipts.msisdn, EXCLUDED.msisdn),
                 payer_name = COALESCE(mpesa_receipts.payer_name, EXCLUDED.payer_name),
                 short_code = COALESCE(mpesa_receipts.short_code, EXCLUDED.short_code),
                 transaction_type = COALESCE(mpesa_receipts.transaction_type, EXCLUDED.transaction_type),
                 payment_id = COALESCE(mpesa_receipts.payment_id, EXCLUDED.payment_id),
                 payloads = EXCLUDED.payloads || mpesa_receipts.payloads,
                 updated_at = now()`;
  }

  /** The receipt's row, locked until `tx` ends: two deliveries of one receipt are placed one after the other. */
  async lock(tx: Tx, receipt: string): Promise<MpesaReceipt | null> {
    const row = await this.db.one(sql`SELECT * FROM mpesa_receipts WHERE receipt = ${receipt} FOR UPDATE`, tx);
    return row ? this.fromRow(row) : null;
  }

  async find(receipt: string): Promise<MpesaReceipt | null> {
    const row = await this.db.one(sql`SELECT * FROM mpesa_receipts WHERE receipt = ${receipt}`);
    return row ? this.fromRow(row) : null;
  }

  /** The receipts linked to a payment (a callback's, say, whose settlement never committed). */
  async findLinkedTo(paymentId: string): Promise<MpesaReceipt[]> {
    const rows = await this.db.query(sql`SELECT * FROM mpesa_receipts WHERE payment_id = ${paymentId} ORDER BY created_at`);
    return rows.map((row) => this.fromRow(row));
  }

  /** The payment the receipt belongs to, when it had none yet (a receipt never moves to another payment). */
  async link(tx: Tx, receipt: string, paymentId: string): Promise<void> {
    await this.db.query(this.linkSql(receipt, paymentId), tx);
  }

  /** The same as part of a caller's statement (see changeWithEffects); `when` makes it conditional. */
  linkSql(receipt: string, paymentId: string, when: Sql = sql`TRUE`): Sql {
    return sql`UPDATE mpesa_receipts SET payment_id = ${paymentId}, updated_at = now()
                WHERE receipt = ${receipt} AND payment_id IS NULL AND ${when}
                RETURNING receipt`;
  }

  /**
   * The payments these receipts belong to: through the ledger, or on the payment itself (a receipt a payment held
   * before the ledger existed). Receipts seen but not placed (a review decides them) are not in the map.
   */
  async findOwners(receipts: string[]): Promise<Map<string, ReceiptOwner>> {
    const owners = new Map<string, ReceiptOwner>();
    if (!receipts.length) return owners;
    const rows = await this.db.query<{ receipt: string; id: string; amount: number; status: string }>(
      sql`SELECT r.receipt, p.id, p.amount, p.status
            FROM mpesa_receipts r JOIN payments p ON p.id = r.payment_id
           WHERE r.receipt = ANY(${receipts})
          UNION
          SELECT p.mpesa_receipt_number AS receipt, p.id, p.amount, p.status
            FROM payments p WHERE p.mpesa_receipt_number = ANY(${receipts})`,
    );
    for (const row of rows) owners.set(row.receipt, { paymentId: row.id, amount: row.amount, status: row.status });
    return owners;
  }

  /**
   * Stored records scrubbed of personal data (retention, anonymisation): `value` is the whole `payloads` document.
   * Answers how many rows changed. Ledger rows written since names are reduced on the way in change nothing.
   */
  async rewritePayloads(tx: Tx, rows: { id: string; value: unknown }[]): Promise<number> {
    if (!rows.length) return 0;
    const changed = await this.db.query(
      sql`UPDATE mpesa_receipts t SET payloads = v.value, updated_at = now()
            FROM jsonb_to_recordset(${json(rows)}::jsonb) AS v(id varchar, value jsonb)
           WHERE t.receipt = v.id AND v.value IS NOT NULL AND t.payloads IS DISTINCT FROM v.value
           RETURNING t.receipt`,
      tx,
    );
    return changed.length;
  }

  private fromRow(row: Record<string, unknown>): MpesaReceipt {
    return this.db.toEntity(MpesaReceipt, row);
  }
}
