import { EntityManager } from 'typeorm';

/**
 * The rows a statement returned. TypeORM's `query()` answers UPDATE and DELETE with `[rows, rowCount]` and every
 * other statement with `rows`; guarded updates (`... RETURNING id`) must see the rows to know whether they applied.
 */
export async function queryRows<T = Record<string, unknown>>(manager: EntityManager, sql: string, params: unknown[] = []): Promise<T[]> {
  const result: unknown = await manager.query(sql, params);
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return result[0] as T[];
  }
  return result as T[];
}
