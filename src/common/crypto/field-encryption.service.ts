import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { createHmac, hkdfSync } from 'node:crypto';
import { securityConfig } from '../../config/configuration';
import { openField, SealedField, sealField } from './sealed-field';

/**
 * AES-256-GCM for personal data at rest (`v2.<keyId>.<iv>.<tag>.<ciphertext>`, base64url parts, see sealed-field.ts)
 * plus a keyed hash for equality look-ups. Each value is bound to its table, column and row id, so a ciphertext copied
 * elsewhere does not open; the key id travels with it so old rows stay readable after a key rotation.
 */
@Injectable()
export class FieldEncryptionService {
  private readonly lookupKey: Buffer;

  constructor(@Inject(securityConfig.KEY) private readonly settings: ConfigType<typeof securityConfig>) {
    // The key id is a part of every value, between dots.
    if (!settings.dataKeyId || settings.dataKeyId.includes('.')) {
      throw new Error(`DATA_ENCRYPTION_KEY_ID must not be empty or contain a dot (got "${settings.dataKeyId}")`);
    }
    // The look-up hash must not change when the encryption key rotates, so it is derived from the first key ever
    // configured for that purpose: the current one unless an old one is named `lookup`.
    const base = settings.dataKeys['lookup'] ?? settings.dataKeys[settings.dataKeyId];
    this.lookupKey = Buffer.from(hkdfSync('sha256', base, Buffer.alloc(0), 'legalpro-payments/lookup-hash', 32));
  }

  encrypt(plain: string, field: SealedField): string {
    return sealField(plain, field, this.settings);
  }

  /** Throws a SealedValueError when the value was sealed for another place, with an unknown key, or is altered. */
  decrypt(sealed: string, field: SealedField): string {
    return openField(sealed, field, this.settings);
  }

  /** Deterministic keyed hash, so a phone number can be found without storing it in clear. */
  lookupHash(value: string): string {
    return createHmac('sha256', this.lookupKey).update(value).digest('hex');
  }
}
