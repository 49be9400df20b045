import { ConfigType } from '@nestjs/config';
import { randomBytes, randomUUID } from 'node:crypto';
import { FieldEncryptionService } from '../../src/common/crypto/field-encryption.service';
import { FIELDS, SealedValueError, sealLegacy } from '../../src/common/crypto/sealed-field';
import { securityConfig } from '../../src/config/configuration';

type Security = ConfigType<typeof securityConfig>;

const K1 = randomBytes(32);
const K2 = randomBytes(32);
const service = (settings: Security) => new FieldEncryptionService(settings);
const onlyK1 = service({ dataKeyId: 'k1', dataKeys: { k1: K1 } });

/** The error `fn` throws, so its reason and message can both be checked. */
function errorOf(fn: () => unknown): SealedValueError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SealedValueError);
    return e as SealedValueError;
  }
  throw new Error('expected a SealedValueError, nothing was thrown');
}

/** A base64url part with its first byte changed. */
function flipFirstByte(part: string): string {
  const bytes = Buffer.from(part, 'base64url');
  bytes[0] ^= 1;
  return bytes.toString('base64url');
}

/** Swaps one base64url part of a sealed value (0: version, 1: key id, 2: IV, 3: tag, 4: ciphertext). */
function withPart(sealed: string, index: number, change: (part: string) => string): string {
  const parts = sealed.split('.');
  parts[index] = change(parts[index]);
  return parts.join('.');
}

describe(FieldEncryptionService.name, () => {
  const paymentId = randomUUID();
  const phone = FIELDS.paymentPhone(paymentId);

  it('round-trips a value in the v2 format, with a fresh IV each time', () => {
    const a = onlyK1.encrypt('254708374149', phone);
    const b = onlyK1.encrypt('254708374149', phone);

    expect(a).toMatch(/^v2\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('254708374149');
    expect(onlyK1.decrypt(a, phone)).toBe('254708374149');
    expect(onlyK1.decrypt(onlyK1.encrypt('', phone), phone)).toBe('');
    expect(onlyK1.decrypt(onlyK1.encrypt('wanjiku@example.co.ke ✓', FIELDS.paymentEmail(paymentId)), FIELDS.paymentEmail(paymentId))).toBe(
      'wanjiku@example.co.ke ✓',
    );
  });

  it.each([
    ['another row', FIELDS.paymentPhone(randomUUID())],
    ['another column of the same row', FIELDS.paymentEmail(paymentId)],
    ['another table with the same id', FIELDS.payoutPhone(paymentId)],
    ['the Redis token cache', FIELDS.darajaToken(paymentId)],
  ])('refuses a value read as %s', (_, elsewhere) => {
    const sealed = onlyK1.encrypt('254708374149', phone);

    const error = errorOf(() => onlyK1.decrypt(sealed, elsewhere));

    expect(error.reason).toBe('not_authentic');
    expect(error.message).toContain(`${elsewhere.table}.${elsewhere.column} of ${elsewhere.id}`);
    expect(error.message).not.toContain('254708374149');
  });

  it('refuses a sealed value without a row id: the id must be chosen before the value is written', () => {
    expect(() => onlyK1.encrypt('254708374149', FIELDS.payoutPhone(''))).toThrow(/without its row id/);
  });

  describe('the tag', () => {
    const sealed = onlyK1.encrypt('254708374149', phone);

    it.each([
      ['one byte flipped', flipFirstByte],
      ['truncated to 12 bytes', (tag: string) => Buffer.from(tag, 'base64url').subarray(0, 12).toString('base64url')],
      ['truncated to 4 bytes', (tag: string) => Buffer.from(tag, 'base64url').subarray(0, 4).toString('base64url')],
      ['one byte longer', (tag: string) => Buffer.concat([Buffer.from(tag, 'base64url'), Buffer.of(0)]).toString('base64url')],
      ['empty', () => ''],
      ['in padded base64', (tag: string) => Buffer.from(tag, 'base64url').toString('base64')],
    ])('%s: refused', (_, change) => {
      expect(() => onlyK1.decrypt(withPart(sealed, 3, change), phone)).toThrow(SealedValueError);
    });

    it('a changed ciphertext or IV: refused', () => {
      expect(errorOf(() => onlyK1.decrypt(withPart(sealed, 4, flipFirstByte), phone)).reason).toBe('not_authentic');
      expect(errorOf(() => onlyK1.decrypt(withPart(sealed, 2, flipFirstByte), phone)).reason).toBe('not_authentic');
    });
  });

  describe('key rotation', () => {
    const before = onlyK1.encrypt('254708374149', phone);
    // k2 is current; k1 stays readable as an old key.
    const rotated = service({ dataKeyId: 'k2', dataKeys: { k2: K2, k1: K1 } });

    it('reads values written with the old key, and writes new ones with the current key', () => {
      expect(rotated.decrypt(before, phone)).toBe('254708374149');
      const after = rotated.encrypt('254708374149', phone);
      expect(after.split('.')[1]).toBe('k2');
      expect(rotated.decrypt(after, phone)).toBe('254708374149');
    });

    it('still binds old-key values to their place', () => {
      expect(errorOf(() => rotated.decrypt(before, FIELDS.paymentPhone(randomUUID()))).reason).toBe('not_authentic');
    });

    it('names a key id that is not configured', () => {
      const after = rotated.encrypt('254708374149', phone);

      const error = errorOf(() => onlyK1.decrypt(after, phone));

      expect(error.reason).toBe('unknown_key');
      expect(error.message).toMatch(/No data encryption key with id k2/);
    });

    it('refuses a value whose key id was swapped for another configured key', () => {
      expect(
        errorOf(() =>
          rotated.decrypt(
            withPart(before, 1, () => 'k2'),
            phone,
          ),
        ).reason,
      ).toBe('not_authentic');
    });
  });

  it('refuses the old unbound format, naming the migration that converts it', () => {
    const legacy = sealLegacy('254708374149', { dataKeyId: 'k1', dataKeys: { k1: K1 } });
    expect(legacy.split('.')).toHaveLength(4);

    const error = errorOf(() => onlyK1.decrypt(legacy, phone));

    expect(error.reason).toBe('legacy_format');
    expect(error.message).toMatch(/old unbound format/);
    expect(error.message).toContain('BindCiphertextsToRows1797100000000');
  });

  it.each([['sealed-0d3c'], ['v3.k1.a.b.c'], ['v2.k1.a'], ['v2.k1.a.b.c.d'], ['']])('refuses %p as not a sealed value', (value) => {
    expect(errorOf(() => onlyK1.decrypt(value, phone)).reason).toBe('format');
  });

  it('refuses a current key id that cannot be written between dots', () => {
    expect(() => service({ dataKeyId: 'k.1', dataKeys: { 'k.1': K1 } })).toThrow(/DATA_ENCRYPTION_KEY_ID/);
  });

  it('keeps the look-up hash stable across a rotation when the first key is kept as `lookup`', () => {
    const rotated = service({ dataKeyId: 'k2', dataKeys: { k2: K2, k1: K1, lookup: K1 } });

    expect(rotated.lookupHash('254708374149')).toBe(onlyK1.lookupHash('254708374149'));
  });
});
