// Jest globalTeardown of the integration project: drops the run's database and deletes the run's Redis keys. The
// servers keep running for the next run (`npm run services:stop` stops them; in CI the last tier's teardown does).
import { releaseServices } from './ci-services';
import { deleteRedisKeys, dropDatabase } from './resources';

/** Databases of this tier are `legalpro_int_<jest pid>_<hex>`. */
export const INTEGRATION_DATABASE_PREFIX = 'legalpro_int';
/** Where globalSetup leaves the URL of the run's database for the test files (test/support/integration.ts). */
export const INTEGRATION_DATABASE_URL_VAR = 'LEGALPRO_INTEGRATION_DATABASE_URL';
/** The URLs of the copies (JSON array); worker N (JEST_WORKER_ID) uses the (N-1)th of [database, ...copies]. */
export const INTEGRATION_DATABASE_COPY_URLS_VAR = 'LEGALPRO_INTEGRATION_DATABASE_COPY_URLS';
/** Redis key prefixes of this tier are `lpint<jest pid>x<hex>` (the e2e tier's are `lptest<jest pid>x<hex>`). */
export const INTEGRATION_REDIS_KEY_PREFIX = 'lpint';
/** Where globalSetup leaves the Redis URL and the run's key prefix for the test files (test/support/integration.ts). */
export const INTEGRATION_REDIS_URL_VAR = 'LEGALPRO_INTEGRATION_REDIS_URL';
export const INTEGRATION_REDIS_KEY_PREFIX_VAR = 'LEGALPRO_INTEGRATION_REDIS_KEY_PREFIX';

/** What one integration run holds; filled in as setup goes, so a half-done setup can be released too. */
export interface IntegrationRun {
  adminDatabaseUrl: string;
  database?: string;
  /** Copies of the migrated database, one per further jest worker, so files running side by side share no rows. */
  copies?: string[];
  redisUrl: string;
  redisKeyPrefix: string;
}

declare global {
  var __LEGALPRO_INTEGRATION_RUN__: IntegrationRun | undefined;
}

/**
 * Best effort: failures are printed, not thrown (an abandoned database, or the keys of an abandoned prefix, are
 * removed by the next run's setup). Every key under the run's prefix goes, whichever test file wrote it.
 */
export async function releaseIntegrationRun(run: IntegrationRun): Promise<void> {
  for (const database of [...(run.copies ?? []), ...(run.database ? [run.database] : [])]) {
    await dropDatabase(run.adminDatabaseUrl, database).catch((e: Error) =>
      console.warn(`integration teardown: dropping database ${database}: ${e.message}`),
    );
  }
  await deleteRedisKeys(run.redisUrl, `${run.redisKeyPrefix}*`).catch((e: Error) =>
    console.warn(`integration teardown: deleting Redis keys ${run.redisKeyPrefix}*: ${e.message}`),
  );
}

export default async function globalTeardown(): Promise<void> {
  const run = globalThis.__LEGALPRO_INTEGRATION_RUN__;
  globalThis.__LEGALPRO_INTEGRATION_RUN__ = undefined;
  if (run) await releaseIntegrationRun(run);
  releaseServices('integration');
}
