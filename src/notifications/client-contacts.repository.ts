import { Injectable, Logger } from '@nestjs/common';
import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { FIELDS, SealedField } from '../common/crypto/sealed-field';
import { normalizeKenyanPhone } from '../common/phone-number';
import { Database } from '../database/database';
import { sql } from '../database/sql';
import { ClientEvent } from './client-templates';

/** Where a client can be reached, decrypted for one delivery and never stored. */
export interface ClientContact {
  /** `2547...`, or undefined when there is none (anonymised, unreadable). */
  phone?: string;
  email?: string;
  name: string | null;
}

interface ContactRow {
  /** The payment the email and name were read from (null for a refund of a payment that is gone). */
  payment_id: string | null;
  phone_number_encrypted: string | null;
  customer_email_encrypted: string | null;
  customer_name: string | null;
}

/**
 * Reads the recipient at delivery time from the row the notification is about: the payment (its phone, email and
 * name) or, for a refund, the payout (the phone it paid) and its payment (email and name). Plain SQL rather than
 * the payments entities: Payments depends on Notifications, not the other way round.
 */
@Injectable()
export class ClientContactsRepository {
  private readonly logger = new Logger(ClientContactsRepository.name);

  constructor(
    private readonly db: Database,
    private readonly crypto: FieldEncryptionService,
  ) {}

  async forEvent(event: ClientEvent, subjectId: string): Promise<ClientContact | null> {
    const refund = event === 'refund.sent';
    const rows: ContactRow[] = refund
      ? await this.db.query<ContactRow>(
          sql`SELECT pa.id AS payment_id, po.phone_number_encrypted, pa.customer_email_encrypted, pa.customer_name
                FROM payouts po LEFT JOIN payments pa ON pa.id = po.payment_id
               WHERE po.id = ${subjectId}`,
        )
      : await this.db.query<ContactRow>(
          sql`SELECT id AS payment_id, phone_number_encrypted, customer_email_encrypted, customer_name FROM payments WHERE id = ${subjectId}`,
        );
    if (!rows.length) return null;
    const row = rows[0];
    // Masked by the retention job or an anonymisation request, the columns decrypt to `2547****149` and
    // `w***@***.ke`: neither is anywhere to send to.
    const phoneField = refund ? FIELDS.payoutPhone(subjectId) : FIELDS.paymentPhone(subjectId);
    const phone = normalizeKenyanPhone(this.open(row.phone_number_encrypted, phoneField) ?? '');
    const email = row.payment_id ? this.open(row.customer_email_encrypted, FIELDS.paymentEmail(row.payment_id)) : undefined;
    return { phone, email: email && /^[^*\s]+@[^*\s]+$/.test(email) ? email : undefined, name: row.customer_name };
  }

  /** A value that no longer decrypts (anonymised, a retired key) is simply not there. */
  private open(sealed: string | null, field: SealedField): string | undefined {
    if (!sealed) return undefined;
    try {
      return this.crypto.decrypt(sealed, field);
    } catch (e) {
      this.logger.warn(`A contact field does not decrypt: ${(e as Error).message}`);
      return undefined;
    }
  }
}
