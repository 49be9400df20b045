// Five projects: `unit` (fast, no servers), `integration` (repositories and services of src/ against real Postgres
// and Redis, no app and no HTTP; a migrated database per run from test/support/integration-global-setup.ts) and `e2e` (HTTP
// against the built app, started once per run by test/support/global-setup.ts); `faults` and `model` (docs/faults.md) run
// their own API and workers against their own Postgres and Redis, which they break on purpose. `npm test` runs all five;
// `jest --selectProjects unit` runs only the first and starts nothing.

/** SWC instead of ts-jest: no type-check here (tsc does that), but Nest's decorators and metadata must work. */
const swcTransform = [
  '@swc/jest',
  {
    swcrc: false,
    sourceMaps: 'inline',
    module: { type: 'commonjs' },
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      // useDefineForClassFields mirrors what tsc does for target ES2022 in `nest build`.
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: true },
      keepClassNames: true,
    },
  },
];

const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swcTransform },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/dist/'],
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/test/support/integration-global-setup.ts',
      globalTeardown: '<rootDir>/test/support/integration-global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/integration-setup.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      // Sets the 60 s timeout (testTimeout is a global option, so it cannot be set per project here).
      setupFilesAfterEnv: ['<rootDir>/test/support/e2e-setup.ts'],
      slowTestThreshold: 15,
    },
    {
      ...common,
      displayName: 'faults',
      // Each file starts its own API and workers against the suite's own Postgres and Redis (docs/faults.md).
      testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'],
      globalSetup: '<rootDir>/test/support/fault-global-setup.ts',
      globalTeardown: '<rootDir>/test/support/fault-global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/fault-setup.ts'],
      slowTestThreshold: 60,
    },
    {
      ...common,
      displayName: 'model',
      // fast-check drives the same fleet; MODEL_RUNS, MODEL_SEED and MODEL_PATH steer it (scripts/test-model.mjs).
      testMatch: ['<rootDir>/test/model/**/*.model-spec.ts'],
      globalSetup: '<rootDir>/test/support/fault-global-setup.ts',
      globalTeardown: '<rootDir>/test/support/fault-global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/fault-setup.ts'],
      slowTestThreshold: 60,
    },
  ],
  collectCoverageFrom: ['<rootDir>/src/**/*.ts', '!<rootDir>/src/**/*.module.ts', '!<rootDir>/src/main.ts'],
  coverageDirectory: '<rootDir>/coverage',
};
