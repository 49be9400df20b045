// src/database/sql.ts against Postgres: the placeholders it numbers, and the statements changeWithEffects composes,
// on tables of this file's own (so the composition is tested apart from any repository's SQL).
import { randomBytes } from 'node:crypto';
import { Database } from '../../src/database/database';
import { changeWithEffects, IF_CHANGED, join, json, raw, sql } from '../../src/database/sql';
import { count, IntegrationDb, openIntegrationDb } from '../support/integration';

let pg: IntegrationDb;
let db: Database;
/** Scratch tables, named per run of this file: `items` changes state, `notes` and `tags` are its effects. */
const suffix = randomBytes(4).toString('hex');
const items = raw(`sql_int_items_${suffix}`);
const notes = raw(`sql_int_notes_${suffix}`);

beforeAll(async () => {
  pg = await openIntegrationDb();
  db = pg.db;
  await db.query(sql`CREATE TABLE ${items} (id serial PRIMARY KEY, state text NOT NULL, label text)`);
  await db.query(sql`CREATE TABLE ${notes} (id serial PRIMARY KEY, item_id int NOT NULL, note varchar(20) NOT NULL)`);
});

afterAll(async () => {
  await db.query(sql`DROP TABLE IF EXISTS ${notes}, ${items}`);
  await pg.close();
});

async function newItem(state = 'open'): Promise<number> {
  const row = await db.one<{ id: number }>(sql`INSERT INTO ${items} (state) VALUES (${state}) RETURNING id`);
  return (row as { id: number }).id;
}

/** The guarded change the tests compose with effects: open -> done, with a label. */
const close = (id: number, label: string) =>
  sql`UPDATE ${items} SET state = 'done', label = ${label} WHERE id = ${id} AND state = 'open' RETURNING id, state, label`;

/** An effect: a note about `id`, written only when the change applied. */
const noteAbout = (id: number, note: string) =>
  sql`INSERT INTO ${notes} (item_id, note) SELECT ${id}::int, ${note}::varchar WHERE ${IF_CHANGED} RETURNING item_id, note`;

const notesOf = (id: number) => count(db, sql`SELECT count(*)::int AS n FROM ${notes} WHERE item_id = ${id}`);

describe(sql.name, () => {
  it('numbers the placeholders of nested fragments in the order they appear', () => {
    const inner = sql`${2}::int + ${3}::int`;
    const query = sql`SELECT ${1}::int AS a, (${inner}) AS b, ${'four'}::text AS c`.toQuery();

    expect(query).toEqual({ text: 'SELECT $1::int AS a, ($2::int + $3::int) AS b, $4::text AS c', values: [1, 2, 3, 'four'] });
  });

  it('puts each value where it was written, however deep its fragment', async () => {
    const deepest = sql`${'c'}::text`;
    const middle = sql`${'b'}::text || ${deepest}`;

    const row = await db.one(sql`SELECT ${'a'}::text || ${middle} AS word, ${42}::int AS answer`);

    expect(row).toEqual({ word: 'abc', answer: 42 });
  });

  it('gives a fragment used twice a placeholder of its own each time', async () => {
    const five = sql`${5}::int`;

    expect(sql`SELECT ${five} + ${five} AS ten`.toQuery().values).toEqual([5, 5]);
    expect(await db.one(sql`SELECT ${five} + ${five} AS ten`)).toEqual({ ten: 10 });
  });

  it('inlines raw text and passes json() as a jsonb value', async () => {
    const row = await db.one(sql`SELECT ${json({ amount: 100, items: ['a', 'b'] })}::jsonb AS ${raw('doc')}`);

    expect(row).toEqual({ doc: { amount: 100, items: ['a', 'b'] } });
  });

  it('joins fragments with the separator, and nothing into an empty fragment', async () => {
    const parts = [1, 2, 3].map((n) => sql`${n}::int`);

    expect(await db.one(sql`SELECT ARRAY[${join(parts)}] AS xs, ARRAY[${join([])}]::int[] AS none`)).toEqual({ xs: [1, 2, 3], none: [] });
  });
});

describe(changeWithEffects.name, () => {
  it('returns the changed row with the rows each effect returned, under its name', async () => {
    const id = await newItem();

    const row = await db.one(changeWithEffects(close(id, 'paid'), { first: noteAbout(id, 'one'), second: noteAbout(id, 'two') }));

    expect(row).toEqual({
      id,
      state: 'done',
      label: 'paid',
      first: [{ item_id: id, note: 'one' }],
      second: [{ item_id: id, note: 'two' }],
    });
  });

  it('numbers the parameters of the change and of every effect as one statement', () => {
    const { text, values } = changeWithEffects(close(7, 'paid'), { first: noteAbout(7, 'one') }).toQuery();

    expect(values).toEqual(['paid', 7, 7, 'one']);
    expect(text.match(/\$\d+/g)).toEqual(['$1', '$2', '$3', '$4']);
  });

  it('returns an empty array for an effect that wrote nothing', async () => {
    const id = await newItem();
    const nothing = sql`INSERT INTO ${notes} (item_id, note) SELECT ${id}::int, 'never' WHERE ${IF_CHANGED} AND false RETURNING item_id`;

    const row = await db.one(changeWithEffects(close(id, 'paid'), { note: noteAbout(id, 'one'), nothing }));

    expect(row).toMatchObject({ state: 'done', note: [{ item_id: id, note: 'one' }], nothing: [] });
  });

  it('returns no row and writes no effect when the guard does not match', async () => {
    const id = await newItem('done');

    const row = await db.one(changeWithEffects(close(id, 'paid'), { note: noteAbout(id, 'one') }));

    expect(row).toBeNull();
    expect(await notesOf(id)).toBe(0);
  });

  it('writes neither the change nor any effect when an effect fails', async () => {
    const id = await newItem();
    const tooLong = noteAbout(id, 'x'.repeat(21)); // note is varchar(20)

    await expect(db.one(changeWithEffects(close(id, 'paid'), { ok: noteAbout(id, 'one'), too_long: tooLong }))).rejects.toThrow(/too long/);

    expect(await db.one(sql`SELECT state, label FROM ${items} WHERE id = ${id}`)).toEqual({ state: 'open', label: null });
    expect(await notesOf(id)).toBe(0);
  });

  it('refuses an effect name that is not a plain identifier', () => {
    expect(() => changeWithEffects(close(1, 'paid'), { 'x) AS (SELECT 1': noteAbout(1, 'one') })).toThrow(/not a plain identifier/);
  });
});
