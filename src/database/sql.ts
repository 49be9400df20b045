/**
 * SQL written as tagged templates: `sql\`UPDATE payouts SET status = ${to} WHERE id = ${id}\``. Interpolated values
 * become parameters; an interpolated `Sql` is inlined with its own parameters, so each table's repository can write
 * its part of a statement and a caller can join the parts into one statement (one round trip, one atomic commit)
 * without any part knowing the others' parameter numbers. `$n` placeholders are assigned when the text is built.
 */
export class Sql {
  constructor(
    readonly strings: readonly string[],
    readonly values: readonly unknown[],
  ) {}

  /** The statement text with `$1..$n` and its parameter values, ready for `pg`. */
  toQuery(): { text: string; values: unknown[] } {
    const values: unknown[] = [];
    let text = '';
    const append = (part: Sql) => {
      part.strings.forEach((chunk, i) => {
        text += chunk;
        if (i >= part.values.length) return;
        const value = part.values[i];
        if (value instanceof Sql) append(value);
        else text += `$${values.push(value)}`;
      });
    };
    append(this);
    return { text, values };
  }
}

export function sql(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  return new Sql(strings, values);
}

/** Text that is part of the statement itself (a CTE or column name chosen by our code, never by input). */
export function raw(text: string): Sql {
  return new Sql([text], []);
}

/** Joins parts with a separator (`, ` by default). */
export function join(parts: readonly Sql[], separator = ', '): Sql {
  if (parts.length === 0) return raw('');
  return new Sql(['', ...parts.slice(1).map(() => separator), ''], parts);
}

/** A JSON parameter (`jsonb` columns, `jsonb_to_recordset` inputs). */
export function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

/** The condition a follower of `changeWithEffects` writes under: the change touched a row. */
export const IF_CHANGED = raw('EXISTS (SELECT 1 FROM changed)');

/**
 * One statement that makes a guarded change and, only when it applied, writes what belongs with it (audit events,
 * outbox rows, log rows): each repository writes its own part, and they commit together in one round trip.
 * `change` must end in `RETURNING ...`; each effect must be written `... WHERE ${IF_CHANGED} RETURNING ...`.
 * The result has the changed row's columns plus, per effect, the rows it returned as a JSON array under its name.
 * No row means the guard did not match and nothing at all was written.
 */
export function changeWithEffects(change: Sql, effects: Record<string, Sql>): Sql {
  const names = Object.keys(effects);
  for (const name of names) {
    if (!/^[a-z_]+$/.test(name)) throw new Error(`changeWithEffects: effect name ${name} is not a plain identifier`);
  }
  const ctes = names.map((name) => sql`, ${raw(name)} AS (${effects[name]})`);
  const columns = names.map((name) => raw(`, (SELECT COALESCE(jsonb_agg(to_jsonb(e)), '[]'::jsonb) FROM ${name} e) AS ${name}`));
  return sql`WITH changed AS (${change})${join(ctes, '')} SELECT changed.*${join(columns, '')} FROM changed`;
}
