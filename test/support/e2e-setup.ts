// Runs inside every e2e test file (setupFilesAfterEnv).
import { closeDb } from './app';

// The simulator's late/no-answer scenarios and the status sweep take seconds, not milliseconds.
jest.setTimeout(60_000);

// db() opens a pool per test file; close it so jest exits without --forceExit.
afterAll(async () => {
  await closeDb();
});
