import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { securityConfig } from '../../config/configuration';

/**
 * AES-256-GCM for personal data at rest (`<keyId>.<iv>.<tag>.<ciphertext>`, base64url parts) plus a keyed hash
 * for equality look-ups. The key id travels with each value so old rows stay readable after a key rotation.
 */
@Injectable()
export class FieldEncryptionService {
  private readonly lookupKey: Buffer;

  constructor(@Inject(securityConfig.KEY) private readonly settings: ConfigType<typeof securityConfig>) {
    // The look-up hash must not change when the encryption key rotates, so it is derived from the first key ever
    // configured for that purpose: the current one unless an old one is named `lookup`.
    const base = settings.dataKeys['lookup'] ?? settings.dataKeys[settings.dataKeyId];
    this.lookupKey = Buffer.from(hkdfSync('sha256', base, Buffer.alloc(0), 'legalpro-payments/lookup-hash', 32));
  }

  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.settings.dataKeys[this.settings.dataKeyId], iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [this.settings.dataKeyId, iv, cipher.getAuthTag(), data]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  decrypt(sealed: string): string {
    const [keyId, iv, tag, data] = sealed.split('.');
    const key = this.settings.dataKeys[keyId];
    if (!key) throw new Error(`No data encryption key with id ${keyId} is configured`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** Deterministic keyed hash, so a phone number can be found without storing it in clear. */
  lookupHash(value: string): string {
    return createHmac('sha256', this.lookupKey).update(value).digest('hex');
  }
}
