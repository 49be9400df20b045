// Runs inside every integration test file (setupFilesAfterEnv).

// Real Postgres on a 2-core box that may be running the e2e app at the same time: more than jest's 5 s default.
jest.setTimeout(15_000);
