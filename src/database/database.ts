import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import type { Pool, PoolClient, QueryResult } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { Sql } from './sql';

/**
 * A transaction in progress. Repositories take one as their first argument when the caller groups several writes;
 * services get one from `Database.transaction` and pass it on without looking inside.
 */
export type Tx = EntityManager;

/**
 * Runs SQL for the repositories. Every statement is a named prepared statement (named after its text), so Postgres
 * parses and plans each one once per connection: the hot paths (every push, every callback) pay for it once.
 * Results are always `pg`'s rows, whatever the statement (TypeORM's `query()` answers UPDATE with `[rows, count]`).
 */
@Injectable()
export class Database {
  private readonly names = new Map<string, string>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The rows of one statement: inside `tx` when given, else on its own (one statement is atomic by itself). */
  async query<T = Record<string, unknown>>(statement: Sql, tx?: Tx): Promise<T[]> {
    const { text, values } = statement.toQuery();
    const query = { name: this.nameOf(text), text, values };
    const result: QueryResult = tx ? await (await this.clientOf(tx)).query(query) : await this.pool().query(query);
    return result.rows as T[];
  }

  /** The first row, or null. */
  async one<T = Record<string, unknown>>(statement: Sql, tx?: Tx): Promise<T | null> {
    const rows = await this.query<T>(statement, tx);
    return rows[0] ?? null;
  }

  /** Runs `work` in one transaction: everything it writes through `tx` commits together, or nothing does. */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /** A raw row (snake_case columns, as `RETURNING *` gives it) as an instance of the entity. */
  toEntity<T extends object>(target: new () => T, row: Record<string, unknown>): T {
    const entity = new target();
    for (const column of this.dataSource.getMetadata(target).columns) {
      if (column.databaseName in row) (entity as Record<string, unknown>)[column.propertyName] = row[column.databaseName];
    }
    return entity;
  }

  /** TypeORM's entity manager, for repositories' typed reads (find, query builder). */
  get manager(): EntityManager {
    return this.dataSource.manager;
  }

  private pool(): Pool {
    return (this.dataSource.driver as unknown as { master: Pool }).master;
  }

  private clientOf(tx: Tx): Promise<PoolClient> {
    if (!tx.queryRunner) throw new Error('Database.query: the transaction handle has no query runner');
    return tx.queryRunner.connect() as Promise<PoolClient>;
  }

  // A prepared statement's name must stay bound to one text per connection: the name is derived from the text.
  private nameOf(text: string): string {
    let name = this.names.get(text);
    if (!name) {
      name = `q_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
      this.names.set(text, name);
    }
    return name;
  }
}
