// Runs inside every fault and model test file (setupFilesAfterEnv): a fault test waits for recoveries measured in
// seconds on a shared 2-core box, so its tests get minutes, not the e2e minute.
jest.setTimeout(180_000);
