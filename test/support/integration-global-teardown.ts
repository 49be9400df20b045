// Jest globalTeardown of the integration project: drops the run's database. The servers keep running for the next
// run (`npm run services:stop` stops them; in CI the e2e teardown does).
import { dropDatabase } from './resources';

/** Databases of this tier are `legalpro_int_<jest pid>_<hex>`. */
export const INTEGRATION_DATABASE_PREFIX = 'legalpro_int';
/** Where globalSetup leaves the URL of the run's database for the test files (test/support/integration.ts). */
export const INTEGRATION_DATABASE_URL_VAR = 'LEGALPRO_INTEGRATION_DATABASE_URL';

/** What one integration run holds; filled in as setup goes, so a half-done setup can be released too. */
export interface IntegrationRun {
  adminDatabaseUrl: string;
  database?: string;
}

declare global {
  var __LEGALPRO_INTEGRATION_RUN__: IntegrationRun | undefined;
}

/** Best effort: a failure is printed, not thrown (an abandoned database is dropped by the next run's setup). */
export async function releaseIntegrationRun(run: IntegrationRun): Promise<void> {
  if (!run.database) return;
  await dropDatabase(run.adminDatabaseUrl, run.database).catch((e: Error) =>
    console.warn(`integration teardown: dropping database ${run.database}: ${e.message}`),
  );
}

export default async function globalTeardown(): Promise<void> {
  const run = globalThis.__LEGALPRO_INTEGRATION_RUN__;
  globalThis.__LEGALPRO_INTEGRATION_RUN__ = undefined;
  if (run) await releaseIntegrationRun(run);
}
