import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { FIELDS, SealedField } from '../common/crypto/sealed-field';
import { PersonalDataMasking } from '../payments/payment.entity';
import { maskEmail, maskMsisdn, maskName, scrubPersonalData } from './personal-data';
import { PaymentMasking } from '../payments/payments.repository';
import { PayoutMasking } from '../payouts/payouts.repository';
import { PaymentPersonalData, PayoutPersonalData } from './privacy.repository';

/** What a value we cannot decrypt becomes: we cannot keep what we cannot read, nor show a part of it. */
const UNREADABLE = '************';

/**
 * Turns a row's personal data into its masked form. The masked phone and email are encrypted again and stored
 * where the clear ones were, so every reader (views, notifications, exports) keeps decrypting as before and simply
 * gets `2547****149`; the row's `personal_data_masked_at` tells the refund path that nothing can be paid to it.
 */
@Injectable()
export class PersonalDataMasker {
  constructor(private readonly crypto: FieldEncryptionService) {}

  /** The clear value, null when there is none, undefined when it cannot be decrypted (unknown key, corrupt). */
  tryDecrypt(sealed: string | null, field: SealedField): string | null | undefined {
    if (sealed === null) return null;
    try {
      return this.crypto.decrypt(sealed, field);
    } catch {
      return undefined;
    }
  }

  maskPayment(row: PaymentPersonalData, by: PersonalDataMasking): { row: PaymentMasking; unreadable: boolean } {
    const phone = this.maskSealed(row.phone_number_encrypted, FIELDS.paymentPhone(row.id), maskMsisdn);
    const email = this.maskSealed(row.customer_email_encrypted, FIELDS.paymentEmail(row.id), maskEmail);
    return {
      row: {
        id: row.id,
        phone_number_encrypted: phone.sealed as string,
        phone_number_hash: by === 'anonymisation' ? this.unlinkableHash(row.id) : null,
        customer_name: row.customer_name === null ? null : maskName(row.customer_name),
        customer_email_encrypted: email.sealed,
        request_payload: scrubPersonalData(row.request_payload),
        response_payload: scrubPersonalData(row.response_payload),
        callback_payload: scrubPersonalData(row.callback_payload),
        error_logs: scrubPersonalData(row.error_logs ?? []),
      },
      unreadable: phone.unreadable || email.unreadable,
    };
  }

  maskPayout(row: PayoutPersonalData, by: PersonalDataMasking): { row: PayoutMasking; unreadable: boolean } {
    const phone = this.maskSealed(row.phone_number_encrypted, FIELDS.payoutPhone(row.id), maskMsisdn);
    return {
      row: {
        id: row.id,
        phone_number_encrypted: phone.sealed as string,
        phone_number_hash: by === 'anonymisation' ? this.unlinkableHash(row.id) : null,
        result_payload: scrubPersonalData(row.result_payload),
        error_logs: scrubPersonalData(row.error_logs ?? []),
      },
      unreadable: phone.unreadable,
    };
  }

  private maskSealed(
    sealed: string | null,
    field: SealedField,
    mask: (clear: string) => string,
  ): { sealed: string | null; unreadable: boolean } {
    const clear = this.tryDecrypt(sealed, field);
    if (clear === null) return { sealed: null, unreadable: false };
    if (clear === undefined) return { sealed: this.crypto.encrypt(UNREADABLE, field), unreadable: true };
    return { sealed: this.crypto.encrypt(mask(clear), field), unreadable: false };
  }

  /**
   * Replaces the phone's look-up hash after an anonymisation: the column stays NOT NULL and distinct per row, but
   * nothing (not even the key holder with the phone number) can link the row to the number any more.
   */
  private unlinkableHash(rowId: string): string {
    return createHash('sha256').update(`anonymised:${rowId}`).digest('hex');
  }
}
