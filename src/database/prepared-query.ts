import type { Pool } from 'pg';
import { EntityManager } from 'typeorm';

/**
 * Runs a named prepared statement on the pool behind TypeORM: Postgres parses and plans it once per connection
 * instead of on every call. For the few statements on the hot paths (every push and every callback); they run
 * outside any TypeORM transaction, as single atomic statements.
 */
export async function preparedQuery<T = Record<string, unknown>>(manager: EntityManager, name: string, text: string, values: unknown[]): Promise<T[]> {
  const pool = (manager.connection.driver as unknown as { master: Pool }).master;
  const result = await pool.query({ name, text, values });
  return result.rows as T[];
}
