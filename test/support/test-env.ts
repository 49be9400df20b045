import { parse as parseDotenv } from 'dotenv';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './e2e-state';

/** Test-only secrets: fixed so that tests can sign tokens and check signatures. */
export const TEST_JWT_SECRET = 'e2e-test-jwt-secret-0123456789abcdefghijkl';
export const TEST_WEBHOOK_SECRET = 'test-webhook-secret-123';
export const TEST_CALLBACK_SECRET = 'e2e-test-callback-secret-0123456789abcdef';
export const TEST_DATA_ENCRYPTION_KEY = 'a1'.repeat(32);

export interface TestEnvInputs {
  port: number;
  webhookPort: number;
  databaseUrl: string;
  redisUrl: string;
  redisKeyPrefix: string;
}

/**
 * Every variable the e2e app is started with. Short timers make the simulator's late/no-answer scenarios and
 * the status sweep observable within a test's 60 s.
 */
export function testEnvOverrides(i: TestEnvInputs): Record<string, string> {
  return {
    NODE_ENV: 'test',
    MODE: 'all',
    HOST: '127.0.0.1',
    PORT: String(i.port),
    LOG_LEVEL: 'warn',
    // Tests read an app's log file right after the request that wrote it (the gathered writes of the default are
    // tested in test/unit/log-destination.spec.ts).
    LOG_FLUSH_INTERVAL_MS: '0',
    DATABASE_URL: i.databaseUrl,
    REDIS_URL: i.redisUrl,
    REDIS_KEY_PREFIX: i.redisKeyPrefix,
    JWT_SECRET: TEST_JWT_SECRET,
    DATA_ENCRYPTION_KEY: TEST_DATA_ENCRYPTION_KEY,
    MPESA_ENVIRONMENT: 'simulator',
    MPESA_CALLBACK_SECRET: TEST_CALLBACK_SECRET,
    MPESA_HTTP_TIMEOUT_MS: '2500',
    SIMULATOR_CALLBACK_DELAY_MS: '300',
    SIMULATOR_LATE_CALLBACK_MS: '4000',
    SIMULATOR_NO_ANSWER_MS: '4000',
    SIMULATOR_TOKEN_TTL_SECONDS: '20',
    STATUS_SWEEP_INTERVAL_MS: '1000',
    STATUS_QUERY_MIN_AGE_MS: '1500',
    PAYMENT_MAX_PENDING_MS: '12000',
    // Money out: results are expected within 3 s, an unknown payout is checked after 0.5 s and then every 2 s.
    PAYOUT_RESULT_WAIT_MS: '3000',
    PAYOUT_FIRST_STATUS_CHECK_DELAY_MS: '500',
    PAYOUT_STATUS_CHECK_INTERVAL_MS: '2000',
    PAYOUT_MAX_STATUS_CHECKS: '3',
    // Transaction Status "not found" counts as "not paid" for a payout older than 2 s (after two such answers).
    PAYOUT_NOT_FOUND_MIN_AGE_MS: '2000',
    // Balance, Transaction Status and reversal requests without a result expire after 8 s; a refund waiting on
    // the balance asks again every 2 s.
    RESULT_WAIT_MAX_MS: '8000',
    BALANCE_RETRY_INTERVAL_MS: '2000',
    BALANCE_FRESHNESS_SECONDS: '1',
    BALANCE_WAIT_MS: '5000',
    // Alert webhooks would land among the payment webhooks other tests count; test/e2e/alerts.e2e-spec.ts runs its own app.
    ALERTS_ENABLED: 'false',
    // A scheduled Pull run would record the simulator's C2B payments of other tests while they wait for their own
    // confirmations; test/e2e/reconciliation.e2e-spec.ts turns it on in an app of its own.
    PULL_ENABLED: 'false',
    // Every test file calls from 127.0.0.1, and many refuse bad tokens on purpose: at the default 30 a minute they
    // would lock each other out. The other limits keep their defaults; test/e2e/rate-limits.e2e-spec.ts tests
    // this one (at 30) on an app of its own.
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '100000',
    RATE_LIMIT_REJECTED_CALLBACKS_PER_MINUTE: '100000',
    // Client email/SMS rows would sit beside the webhook rows other tests count per payment;
    // test/e2e/client-notifications.e2e-spec.ts runs its own app.
    CLIENT_NOTIFICATION_EVENTS: 'none',
    WEBHOOK_URL: `http://127.0.0.1:${i.webhookPort}/webhooks/legalpro`,
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    // Webhook retries as they were before the three-day schedule: 6 attempts, 2 s doubling (about a minute).
    WEBHOOK_RETRY_SCHEDULE_MS: '2000,4000,8000,16000,32000',
    WEBHOOK_MAX_ATTEMPTS: '6',
  };
}

const APP_VARIABLE_PREFIXES =
  /^(ALERT_|ALERTS_|MPESA_|SIMULATOR_|DATABASE_|REDIS_|WEBHOOK_|DATA_ENCRYPTION_|STATUS_|PAYMENT_|IDEMPOTENCY_|WORKER_|JWT_|PULL_|RECONCILIATION_|C2B_)/;
const APP_VARIABLES = new Set(['MODE', 'NODE_ENV', 'PORT', 'HOST', 'PUBLIC_BASE_URL', 'LOG_LEVEL', 'TRUSTED_PROXIES']);

/** The names the app validates, read from its env class so this list cannot fall behind. */
function declaredAppVariables(): string[] {
  const file = join(PROJECT_ROOT, 'src', 'config', 'env.validation.ts');
  if (!existsSync(file)) return [];
  return [...readFileSync(file, 'utf8').matchAll(/\b([A-Z][A-Z0-9_]+)\?:\s/g)].map((m) => m[1]);
}

/**
 * The child's environment: ours (PATH and the like) with every app variable blanked, then the overrides.
 * The app counts an empty variable as unset, and dotenv never replaces a variable that exists, so neither the
 * developer's shell nor a `.env` file can leak MPESA_* or WEBHOOK_* settings into the tests.
 */
export function childEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const names = new Set([...declaredAppVariables(), ...APP_VARIABLES]);
  for (const key of Object.keys(env)) if (APP_VARIABLE_PREFIXES.test(key)) names.add(key);
  for (const name of names) env[name] = '';
  delete env.NODE_OPTIONS; // jest's own flags (e.g. --inspect) must not reach the app
  return { ...env, ...overrides };
}

/**
 * DATABASE_URL and REDIS_URL of the dev box, read like scripts/services.sh does: the environment first, then
 * `.env`, then the defaults in src/config/configuration.ts.
 */
export function serviceUrls(): { databaseUrl: string; redisUrl: string } {
  const file = join(PROJECT_ROOT, '.env');
  const dotenv = existsSync(file) ? parseDotenv(readFileSync(file)) : {};
  const pick = (key: string, fallback: string) => process.env[key]?.trim() || dotenv[key]?.trim() || fallback;
  return {
    databaseUrl: pick('DATABASE_URL', 'postgres://legalpro:legalpro@127.0.0.1:55432/legalpro'),
    redisUrl: pick('REDIS_URL', 'redis://127.0.0.1:56379'),
  };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

export function isLocalHost(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === '127.0.0.1' || host === 'localhost' || host === '::1';
}
