// Migration BindCiphertextsToRows on real Postgres: values written in the old unbound format are readable by the
// service once up() has run, each bound to its row and column; a value copied to another row no longer opens; what
// cannot be decrypted stays as it was; down() gives the previous release its format back. Other files write rows in
// the same database meanwhile: every assertion looks only at this file's rows.
import { randomBytes } from 'node:crypto';
import { QueryRunner } from 'typeorm';
import { BindCiphertextsToRows1797100000000 } from '../../migrations/1797100000000-BindCiphertextsToRows';
import { FieldEncryptionService } from '../../src/common/crypto/field-encryption.service';
import { DataKeys, FIELDS, isLegacySealed, openLegacy, SealedValueError, sealLegacy } from '../../src/common/crypto/sealed-field';
import { Database } from '../../src/database/database';
import { sql } from '../../src/database/sql';
import { PayoutKind } from '../../src/payouts/payout.entity';
import { NewPayout, PayoutsRepository } from '../../src/payouts/payouts.repository';
import { insertPayment, insertPayout, IntegrationDb, openIntegrationDb, rowOf } from '../support/integration';

const OLD_KEY = randomBytes(32);
const CURRENT_KEY = randomBytes(32);
/** After a rotation: values of k1 are still around, new ones are written with k2. */
const KEYS: DataKeys = { dataKeyId: 'k2', dataKeys: { k2: CURRENT_KEY, k1: OLD_KEY } };
/** What the previous release wrote with: only k1. */
const OLD_RELEASE_KEYS: DataKeys = { dataKeyId: 'k1', dataKeys: { k1: OLD_KEY } };
/** A key nobody configured any more. */
const LOST_KEYS: DataKeys = { dataKeyId: 'k0', dataKeys: { k0: randomBytes(32) } };

let pg: IntegrationDb;
let db: Database;
let runner: QueryRunner;
const crypto = new FieldEncryptionService(KEYS);
const migration = new BindCiphertextsToRows1797100000000(KEYS);

beforeAll(async () => {
  pg = await openIntegrationDb();
  db = pg.db;
  runner = pg.dataSource.createQueryRunner();
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterAll(async () => {
  await runner.release();
  await pg.close();
});

/** A payment and a refund of it whose phone (and email) were written by the previous release. */
async function legacyRows(phone: string, email: string | null, keys = OLD_RELEASE_KEYS) {
  const payment = await insertPayment(db);
  const payout = await insertPayout(db);
  const paymentPhone = sealLegacy(phone, keys);
  // The previous release copied the payment's ciphertext into its refunds as it was.
  const values = { paymentPhone, paymentEmail: email === null ? null : sealLegacy(email, keys), payoutPhone: paymentPhone };
  await db.query(
    sql`UPDATE payments SET phone_number_encrypted = ${values.paymentPhone}, customer_email_encrypted = ${values.paymentEmail}
         WHERE id = ${payment.id}`,
  );
  await db.query(sql`UPDATE payouts SET phone_number_encrypted = ${values.payoutPhone} WHERE id = ${payout.id}`);
  return { paymentId: payment.id, payoutId: payout.id, values };
}

const stored = async (table: 'payments' | 'payouts', id: string) => rowOf(db, table, id);

describe('BindCiphertextsToRows1797100000000', () => {
  let a: Awaited<ReturnType<typeof legacyRows>>;
  let b: Awaited<ReturnType<typeof legacyRows>>;
  let lost: Awaited<ReturnType<typeof legacyRows>>;

  beforeAll(async () => {
    a = await legacyRows('254708374149', 'wanjiku@example.co.ke');
    b = await legacyRows('254711000222', null);
    lost = await legacyRows('254722333444', 'otieno@example.com', LOST_KEYS);

    await migration.up(runner);
  });

  it('makes every old value readable by the service, bound to its own row and column', async () => {
    const payment = await stored('payments', a.paymentId);
    const payout = await stored('payouts', a.payoutId);

    expect(payment.phone_number_encrypted).toMatch(/^v2\.k2\./);
    expect(crypto.decrypt(payment.phone_number_encrypted, FIELDS.paymentPhone(a.paymentId))).toBe('254708374149');
    expect(crypto.decrypt(payment.customer_email_encrypted, FIELDS.paymentEmail(a.paymentId))).toBe('wanjiku@example.co.ke');
    expect(crypto.decrypt(payout.phone_number_encrypted, FIELDS.payoutPhone(a.payoutId))).toBe('254708374149');
    expect(crypto.decrypt((await stored('payments', b.paymentId)).phone_number_encrypted, FIELDS.paymentPhone(b.paymentId))).toBe(
      '254711000222',
    );
    expect((await stored('payments', b.paymentId)).customer_email_encrypted).toBeNull();
  });

  it('binds the refund and its payment separately, though the old release had stored the same ciphertext in both', async () => {
    const payment = await stored('payments', a.paymentId);
    const payout = await stored('payouts', a.payoutId);

    expect(payout.phone_number_encrypted).not.toBe(payment.phone_number_encrypted);
    expect(() => crypto.decrypt(payout.phone_number_encrypted, FIELDS.paymentPhone(a.paymentId))).toThrow(SealedValueError);
  });

  it('no longer opens a ciphertext copied from one row to another, or to another column', async () => {
    const target = await insertPayment(db);
    const fromA = (await stored('payments', a.paymentId)).phone_number_encrypted as string;
    await db.query(sql`UPDATE payments SET phone_number_encrypted = ${fromA}, customer_email_encrypted = ${fromA} WHERE id = ${target.id}`);

    const copied = await stored('payments', target.id);

    expect(() => crypto.decrypt(copied.phone_number_encrypted, FIELDS.paymentPhone(target.id))).toThrow(/does not authenticate/);
    expect(() => crypto.decrypt(copied.customer_email_encrypted, FIELDS.paymentEmail(target.id))).toThrow(/does not authenticate/);
    expect(() => crypto.decrypt(fromA, FIELDS.paymentEmail(a.paymentId))).toThrow(/does not authenticate/);
    expect(crypto.decrypt(fromA, FIELDS.paymentPhone(a.paymentId))).toBe('254708374149');
  });

  it('leaves values it cannot decrypt as they were', async () => {
    const payment = await stored('payments', lost.paymentId);
    const payout = await stored('payouts', lost.payoutId);

    expect(payment.phone_number_encrypted).toBe(lost.values.paymentPhone);
    expect(payment.customer_email_encrypted).toBe(lost.values.paymentEmail);
    expect(payout.phone_number_encrypted).toBe(lost.values.payoutPhone);
    expect(() => crypto.decrypt(payment.phone_number_encrypted, FIELDS.paymentPhone(lost.paymentId))).toThrow(/old unbound format/);
  });

  it('reports what it left, by table and column, without stopping', async () => {
    const log = jest.mocked(console.log);
    log.mockClear();
    const extra = await legacyRows('254733444555', null, LOST_KEYS);

    await migration.up(runner);

    const lines = log.mock.calls.map((c) => String(c[0]));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^BindCiphertextsToRows1797100000000 up: payments\.phone_number_encrypted: \d+ converted, \d+ already/);
    for (const line of [lines[0], lines[2]]) {
      expect(line).toMatch(/\d+ left as they are because they cannot be decrypted \(.*key id not configured: \d+/);
      expect(line).not.toContain('254733444555');
    }
    expect(lines[1]).toMatch(/^BindCiphertextsToRows1797100000000 up: payments\.customer_email_encrypted: /);
    expect((await stored('payments', extra.paymentId)).phone_number_encrypted).toBe(extra.values.paymentPhone);
  });

  it('changes nothing already converted when run again', async () => {
    const before = await stored('payments', a.paymentId);

    await migration.up(runner);

    const after = await stored('payments', a.paymentId);
    expect(after.phone_number_encrypted).toBe(before.phone_number_encrypted);
    expect(after.customer_email_encrypted).toBe(before.customer_email_encrypted);
  });

  it('down() writes the old format back, readable by the previous release, and up() binds it again', async () => {
    await migration.down(runner);

    const payment = await stored('payments', a.paymentId);
    const payout = await stored('payouts', a.payoutId);
    expect(isLegacySealed(payment.phone_number_encrypted)).toBe(true);
    // With the current key (k2): the previous release reads it once k2 is configured, as it is after the rotation.
    expect(openLegacy(payment.phone_number_encrypted, KEYS)).toBe('254708374149');
    expect(openLegacy(payment.customer_email_encrypted, KEYS)).toBe('wanjiku@example.co.ke');
    expect(openLegacy(payout.phone_number_encrypted, KEYS)).toBe('254708374149');
    expect((await stored('payments', lost.paymentId)).phone_number_encrypted).toBe(lost.values.paymentPhone);

    await migration.up(runner);

    const again = await stored('payments', a.paymentId);
    expect(crypto.decrypt(again.phone_number_encrypted, FIELDS.paymentPhone(a.paymentId))).toBe('254708374149');
  });
});

describe('PayoutsRepository.insert', () => {
  it('keeps the id it is given, fills in what Postgres defaults, and refuses an id that exists', async () => {
    const payout = await insertPayout(db);
    const row = await stored('payouts', payout.id);

    expect(row).toMatchObject({ id: payout.id, status: 'pending', version: payout.version });
    expect(payout.createdAt).toBeInstanceOf(Date);
    expect(payout.version).toBe(1);

    const again: NewPayout = {
      id: payout.id,
      kind: PayoutKind.Disbursement,
      paymentId: null,
      clientId: 'client-other',
      amount: 900,
      commandId: 'BusinessPayment',
      phoneNumberEncrypted: crypto.encrypt('254708374149', FIELDS.payoutPhone(payout.id)),
      phoneNumberHash: randomBytes(32).toString('hex'),
      remarks: 'Compensation',
      reason: null,
      originatorConversationId: `LP${randomBytes(9).toString('hex')}`,
      requestedBy: 'admin-integration',
      requestId: null,
    };
    await expect(db.transaction((tx) => new PayoutsRepository(db).insert(tx, again))).rejects.toThrow(/duplicate key/);
    expect(await stored('payouts', payout.id)).toMatchObject({ amount: payout.amount, client_id: payout.clientId });
  });
});
