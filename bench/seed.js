'use strict';
// Seeding helpers: payment rows whose encrypted and hashed columns are what the app itself writes, made with the
// app's own sealed-field code from dist/ (each ciphertext is bound to its row id, so it must be made per row).

const crypto = require('node:crypto');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

/** The app's FieldEncryptionService for the DATA_ENCRYPTION_KEY (hex or base64) the app under test is given. */
function fieldEncryption(dataKey, keyId = 'k1') {
  const { FieldEncryptionService } = require(path.join(ROOT, 'dist/src/common/crypto/field-encryption.service.js'));
  const { FIELDS } = require(path.join(ROOT, 'dist/src/common/crypto/sealed-field.js'));
  const key = /^[0-9a-fA-F]{64}$/.test(dataKey) ? Buffer.from(dataKey, 'hex') : Buffer.from(dataKey, 'base64');
  const service = new FieldEncryptionService({ dataKeyId: keyId, dataKeys: { [keyId]: key } });
  return {
    /** A payment's id, its sealed phone and the phone's look-up hash, as stk-push.service.ts writes them. */
    paymentPhone(phone, id = crypto.randomUUID()) {
      return { id, phoneEncrypted: service.encrypt(phone, FIELDS.paymentPhone(id)), phoneHash: service.lookupHash(phone) };
    },
  };
}

/** A valid Safaricom MSISDN for seed row `i` (distinct for i < 10 million; never a simulator scenario number). */
const seedPhone = (i) => `25472${String(i % 10_000_000).padStart(7, '0')}`;

module.exports = { fieldEncryption, seedPhone };
