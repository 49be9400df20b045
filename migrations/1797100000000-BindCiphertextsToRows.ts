import { MigrationInterface, QueryRunner } from 'typeorm';
import {
  DataKeys,
  isLegacySealed,
  openField,
  openLegacy,
  SealedField,
  sealField,
  sealLegacy,
  SEALED_VERSION,
  SealedValueError,
} from '../src/common/crypto/sealed-field';
import { loadConfig } from '../src/config/configuration';

/** Every column that holds sealed values; the Redis token cache is not here: an unreadable token is a cache miss. */
const COLUMNS = [
  { table: 'payments', column: 'phone_number_encrypted' },
  { table: 'payments', column: 'customer_email_encrypted' },
  { table: 'payouts', column: 'phone_number_encrypted' },
] as const;

const BATCH = 500;
const REASONS: Record<string, string> = {
  unknown_key: 'key id not configured',
  not_authentic: 'does not authenticate',
  format: 'not a sealed value',
  legacy_format: 'old format',
};
/** How many row ids of unreadable values are printed per column: enough to look them up, not a flood. */
const IDS_SHOWN = 10;

interface Tally {
  converted: number;
  skipped: number;
  unreadable: number;
  reasons: Map<string, number>;
  ids: string[];
}

/**
 * Field encryption binds each value to its place: AES-256-GCM with `legalpro-payments/v2|<table>.<column>|<row id>`
 * as additional data, in the format `v2.<keyId>.<iv>.<tag>.<ciphertext>` (src/common/crypto/sealed-field.ts). This
 * re-encrypts every value of the old unbound format `<keyId>.<iv>.<tag>.<ciphertext>` with the current key and its
 * row's place; the service no longer reads the old format.
 *
 * A value that cannot be decrypted (its key id is not configured, it does not authenticate, it is not a sealed value)
 * is left as it is and counted: the migration cannot re-encrypt what it cannot read, and stopping would hold every
 * readable row hostage to one lost key, while clearing the value would destroy what the missing key (added to
 * DATA_ENCRYPTION_OLD_KEYS later) could still recover. The service treats such a value like any unreadable one.
 * Once the key is back, delete this migration's row from schema_migrations and run `npm run migrate` again:
 * values already converted are skipped, so only the rest is done.
 *
 * No transaction: each batch commits on its own, so a large table is not rewritten under one long transaction. An
 * interrupted run is safe to repeat for the same reason, and each UPDATE applies only where the value is still the
 * one that was read. Old processes can neither read nor write the new format: migrate with them stopped.
 *
 * down() writes the old format back, with the current key, so that the previous release reads every value again.
 */
export class BindCiphertextsToRows1797100000000 implements MigrationInterface {
  name = 'BindCiphertextsToRows1797100000000';
  transaction = false;

  /** The keys come from the configuration (DATA_ENCRYPTION_KEY, _KEY_ID, _OLD_KEYS) unless given, as tests do. */
  constructor(private readonly keys?: DataKeys) {}

  public async up(q: QueryRunner): Promise<void> {
    const keys = this.keys ?? loadConfig().security;
    await this.convert(q, 'up', (value, field) => {
      if (!isLegacySealed(value)) {
        // Already bound (a repeated run), or not a sealed value at all: the latter counts as unreadable.
        if (value.startsWith(`${SEALED_VERSION}.`)) return undefined;
        throw new SealedValueError('not a sealed value', 'format');
      }
      return sealField(openLegacy(value, keys), field, keys);
    });
  }

  public async down(q: QueryRunner): Promise<void> {
    const keys = this.keys ?? loadConfig().security;
    await this.convert(q, 'down', (value, field) => {
      if (isLegacySealed(value)) return undefined;
      return sealLegacy(openField(value, field, keys), keys);
    });
  }

  /**
   * Walks each column by id (keyset pagination: no OFFSET rescans, and rows inserted meanwhile do not shift the
   * pages) and writes what `change` returns; undefined means the value is already in the target format.
   */
  private async convert(
    q: QueryRunner,
    direction: 'up' | 'down',
    change: (value: string, field: SealedField) => string | undefined,
  ): Promise<void> {
    for (const { table, column } of COLUMNS) {
      const tally: Tally = { converted: 0, skipped: 0, unreadable: 0, reasons: new Map(), ids: [] };
      let after: string | null = null;
      for (;;) {
        const rows: { id: string; value: string }[] = await q.query(
          `SELECT "id", "${column}" AS "value" FROM "${table}"
            WHERE "${column}" IS NOT NULL AND ($1::uuid IS NULL OR "id" > $1::uuid)
            ORDER BY "id" LIMIT ${BATCH}`,
          [after],
        );
        if (!rows.length) break;
        after = rows[rows.length - 1].id;
        const ids: string[] = [];
        const olds: string[] = [];
        const news: string[] = [];
        for (const row of rows) {
          try {
            const sealed = change(row.value, { table, column, id: row.id });
            if (sealed === undefined) {
              tally.skipped++;
              continue;
            }
            ids.push(row.id);
            olds.push(row.value);
            news.push(sealed);
          } catch (e) {
            tally.unreadable++;
            const reason = e instanceof SealedValueError ? e.reason : 'error';
            tally.reasons.set(reason, (tally.reasons.get(reason) ?? 0) + 1);
            if (tally.ids.length < IDS_SHOWN) tally.ids.push(row.id);
          }
        }
        if (!ids.length) continue;
        const updated: { id: string }[] = await q.query(
          `UPDATE "${table}" AS t SET "${column}" = v.sealed
             FROM unnest($1::uuid[], $2::text[], $3::text[]) AS v(id, old, sealed)
            WHERE t."id" = v.id AND t."${column}" = v.old
          RETURNING t."id"`,
          [ids, olds, news],
        );
        tally.converted += updated.length;
      }
      console.log(`${this.name} ${direction}: ${table}.${column}: ${describe(tally)}`);
    }
  }
}

function describe(t: Tally): string {
  const parts = [`${t.converted} converted`, `${t.skipped} already in the target format`];
  if (t.unreadable) {
    const reasons = [...t.reasons].map(([reason, n]) => `${REASONS[reason] ?? reason}: ${n}`).join(', ');
    const more = t.unreadable > t.ids.length ? ', ...' : '';
    parts.push(`${t.unreadable} left as they are because they cannot be decrypted (${reasons}; ids ${t.ids.join(', ')}${more})`);
  }
  return parts.join(', ');
}
