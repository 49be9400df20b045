import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Where a sealed value lives. It is authenticated with the value (AES-GCM additional data), so a ciphertext only
 * opens in the place it was written for: copied to another row or column, it is refused.
 */
export interface SealedField {
  /** The table, or the store for values kept outside Postgres (`redis`). */
  readonly table: string;
  readonly column: string;
  /** The row's id (or the cache key): it must be known before the value is written. */
  readonly id: string;
}

/** Every place that holds sealed values, so a call site says which one it reads or writes. */
export const FIELDS = {
  paymentPhone: (paymentId: string): SealedField => ({ table: 'payments', column: 'phone_number_encrypted', id: paymentId }),
  paymentEmail: (paymentId: string): SealedField => ({ table: 'payments', column: 'customer_email_encrypted', id: paymentId }),
  payoutPhone: (payoutId: string): SealedField => ({ table: 'payouts', column: 'phone_number_encrypted', id: payoutId }),
  darajaToken: (cacheKey: string): SealedField => ({ table: 'redis', column: 'daraja-token', id: cacheKey }),
  webhookEndpointSecret: (endpointId: string): SealedField => ({ table: 'webhook_endpoints', column: 'secret_encrypted', id: endpointId }),
  webhookEndpointPreviousSecret: (endpointId: string): SealedField => ({
    table: 'webhook_endpoints',
    column: 'previous_secret_encrypted',
    id: endpointId,
  }),
} as const;

/** The keys a value may be sealed with: the current one (`dataKeys[dataKeyId]`) and the old ones, by id. */
export interface DataKeys {
  dataKeyId: string;
  dataKeys: Record<string, Buffer>;
}

export const SEALED_VERSION = 'v2';
const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const AAD_PREFIX = `legalpro-payments/${SEALED_VERSION}`;
const NAME = /^[a-z0-9_-]+$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Why a value did not open. The message never contains the value. */
export class SealedValueError extends Error {
  constructor(
    message: string,
    readonly reason: 'format' | 'legacy_format' | 'unknown_key' | 'not_authentic',
  ) {
    super(message);
    this.name = 'SealedValueError';
  }
}

/**
 * `legalpro-payments/v2|payments.phone_number_encrypted|<id>`. Table and column are plain names, so the last `|`
 * ends them and the id may hold anything (a Redis key has colons).
 */
export function fieldAad(field: SealedField): Buffer {
  if (!NAME.test(field.table) || !NAME.test(field.column)) {
    throw new Error(`A sealed field's table and column must be plain names (got ${field.table}.${field.column})`);
  }
  // An empty id would bind every value of the column to the same place: the row id was not known yet.
  if (!field.id) throw new Error(`A value of ${field.table}.${field.column} cannot be sealed without its row id`);
  return Buffer.from(`${AAD_PREFIX}|${field.table}.${field.column}|${field.id}`, 'utf8');
}

const where = (field: SealedField) => `${field.table}.${field.column} of ${field.id}`;

/** `v2.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts) with the current key, bound to `field`. */
export function sealField(plain: string, field: SealedField, keys: DataKeys): string {
  const key = keys.dataKeys[keys.dataKeyId];
  if (!key) throw new Error(`No data encryption key with id ${keys.dataKeyId} is configured`);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(fieldAad(field));
  const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [SEALED_VERSION, keys.dataKeyId, ...[iv, cipher.getAuthTag(), data].map((b) => b.toString('base64url'))].join('.');
}

/** The clear value of a `v2` value sealed for `field`; throws SealedValueError for any other place, key or format. */
export function openField(sealed: string, field: SealedField, keys: DataKeys): string {
  const parts = sealed.split('.');
  if (parts.length === 4) {
    throw new SealedValueError(
      `The value of ${where(field)} is in the old unbound format (<keyId>.<iv>.<tag>.<ciphertext>), which is no longer ` +
        'read: migration BindCiphertextsToRows1797100000000 (`npm run migrate`) converts it',
      'legacy_format',
    );
  }
  if (parts.length !== 5 || parts[0] !== SEALED_VERSION) {
    throw new SealedValueError(`The value of ${where(field)} is not a sealed ${SEALED_VERSION} value`, 'format');
  }
  const [, keyId, iv, tag, data] = parts;
  return decipher(keyId, iv, tag, data, keys, fieldAad(field), where(field));
}

/** True for the format written before values were bound to their place: `<keyId>.<iv>.<tag>.<ciphertext>`. */
export function isLegacySealed(sealed: string): boolean {
  return sealed.split('.').length === 4;
}

/** Opens an old unbound value. Only for the migration that converts them; the service itself refuses them. */
export function openLegacy(sealed: string, keys: DataKeys): string {
  const parts = sealed.split('.');
  if (parts.length !== 4) throw new SealedValueError('Not a value of the old unbound format', 'format');
  const [keyId, iv, tag, data] = parts;
  return decipher(keyId, iv, tag, data, keys, undefined, 'an old unbound value');
}

/** Writes the old unbound format: only for the migration's down(), to give the previous release values it reads. */
export function sealLegacy(plain: string, keys: DataKeys): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, keys.dataKeys[keys.dataKeyId], iv, { authTagLength: TAG_BYTES });
  const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [keys.dataKeyId, ...[iv, cipher.getAuthTag(), data].map((b) => b.toString('base64url'))].join('.');
}

function decipher(
  keyId: string,
  ivPart: string,
  tagPart: string,
  dataPart: string,
  keys: DataKeys,
  aad: Buffer | undefined,
  what: string,
): string {
  const key = keys.dataKeys[keyId];
  if (!key) throw new SealedValueError(`No data encryption key with id ${keyId} is configured (reading ${what})`, 'unknown_key');
  const iv = decodePart(ivPart);
  const tag = decodePart(tagPart);
  const data = decodePart(dataPart);
  // GCM accepts shorter tags (down to 4 bytes), which are easier to forge: ours are always 16 bytes, so anything
  // else is refused before the decipher sees it.
  if (!iv || iv.length !== IV_BYTES || !tag || tag.length !== TAG_BYTES || !data) {
    throw new SealedValueError(`The value of ${what} is malformed (IV, tag or ciphertext)`, 'format');
  }
  const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
  } catch {
    throw new SealedValueError(
      `The value of ${what} does not authenticate: it was sealed for another place or key, or it was altered`,
      'not_authentic',
    );
  }
}

/** Base64url as we write it, and only that: no padding, no stray characters, no other spelling of the same bytes. */
function decodePart(part: string): Buffer | undefined {
  if (!BASE64URL.test(part)) return undefined;
  const bytes = Buffer.from(part, 'base64url');
  return bytes.toString('base64url') === part ? bytes : undefined;
}
