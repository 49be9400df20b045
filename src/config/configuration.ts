import { registerAs } from '@nestjs/config';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  B2cApiVersion,
  ConfigValidationError,
  EnvironmentVariables,
  MpesaEnvironment,
  ProcessMode,
  STK_TRANSACTION_TYPES,
  validateEnv,
} from './env.validation';

/** Safaricom's public sandbox passkey for shortcode 174379 (see shared/daraja/reference.md §10.3). */
export const SANDBOX_PASSKEY = 'bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919';
export const SANDBOX_SHORTCODE = '174379';
/** The simulator's initiator (Safaricom's documented sandbox values, reference §10.3); the simulator expects them. */
export const SIMULATOR_INITIATOR_NAME = 'testapi';
export const SIMULATOR_INITIATOR_PASSWORD = 'Safaricom999!*!';

/**
 * The directory holding package.json, found from this file so that it is the same from `src/config` (ts-node,
 * jest) and from `dist/src/config` (the built app), whatever the working directory.
 */
function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(from, '..', '..');
  }
}

export const PROJECT_ROOT = findProjectRoot(__dirname);

function sameFile(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false; // an unreadable path is the preflight's business
  }
}

/** The SecurityCredential certificates shipped in `certs/` (see certs/README.md), one per environment. */
export const SHIPPED_CERTIFICATES: Readonly<Record<MpesaEnvironment, string>> = {
  sandbox: join(PROJECT_ROOT, 'certs', 'sandbox.cer'),
  production: join(PROJECT_ROOT, 'certs', 'production.cer'),
  simulator: join(PROJECT_ROOT, 'certs', 'simulator.cer'),
};

// Development-only secrets: constant so that every local process agrees; production refuses to start without real ones.
const DEV_JWT_SECRET = 'dev-only-jwt-secret-change-me-0123456789abcdef';
const DEV_DATA_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const DEV_CALLBACK_SECRET = 'dev-only-callback-secret-0123456789abcdef';
const DEV_WEBHOOK_SECRET = 'dev-only-webhook-secret';

const BASE_URLS: Record<Exclude<MpesaEnvironment, 'simulator'>, string> = {
  sandbox: 'https://sandbox.safaricom.co.ke',
  production: 'https://api.safaricom.co.ke',
};

export interface AppSettings {
  mode: ProcessMode;
  nodeEnv: string;
  port: number;
  host: string;
  publicBaseUrl: string;
  logLevel: string;
  jwtSecret: string;
  trustedProxies: string[];
}

export interface DatabaseSettings {
  url: string;
  poolSize: number;
}

export interface RedisSettings {
  url: string;
  keyPrefix: string;
}

export interface SecuritySettings {
  dataKeyId: string;
  /** keyId -> 32-byte key; the current key is `dataKeys[dataKeyId]`. */
  dataKeys: Record<string, Buffer>;
}

export interface MpesaSettings {
  environment: MpesaEnvironment;
  baseUrl: string;
  consumerKey: string;
  consumerSecret: string;
  shortcode: string;
  partyB: string;
  passkey: string;
  transactionType: (typeof STK_TRANSACTION_TYPES)[number];
  /** Used for B2C, balance, reversal and transaction status; checked only when those APIs are called. */
  initiatorName?: string;
  /** MPESA_SECURITY_CREDENTIAL as given: a ready ciphertext, or (the spec's sandbox example) a plain password. */
  securityCredential?: string;
  /** Plain initiator password; encrypted with `certificatePath` into the SecurityCredential. */
  initiatorPassword?: string;
  /** Absolute path of the certificate that encrypts the initiator password (MPESA_CERTIFICATE_PATH, else the shipped one). */
  certificatePath: string;
  /** True when MPESA_CERTIFICATE_PATH chose the certificate. */
  certificateOverridden: boolean;
  /** The paying party (PartyA) of B2C, Account Balance and Transaction Status; defaults to `shortcode`. */
  b2cShortcode: string;
  b2cApiVersion: B2cApiVersion;
  stkCallbackUrl: string;
  b2cCallbackUrl: string;
  timeoutUrl: string;
  resultUrl: string;
  callbackSecret: string;
  callbackAllowedIps: string[];
  httpTimeoutMs: number;
  tokenRefreshMarginSeconds: number;
}

export interface WorkerSettings {
  sweepIntervalMs: number;
  queryMinAgeMs: number;
  maxPendingMs: number;
  concurrency: number;
  idempotencyTtlHours: number;
}

/** Money-out knobs read by the payout/refund flow. */
export interface PayoutSettings {
  /** A refund check trusts a balance snapshot at most this old (seconds). */
  balanceFreshnessSeconds: number;
  /** How long a refund waits for a new Account Balance result before giving up (ms). */
  balanceWaitMs: number;
  /** A submitted payout with no result after this long becomes `unknown` and is asked about (ms). */
  resultWaitMs: number;
  /** Delay before the first Transaction Status query of an `unknown` payout (ms). */
  firstStatusCheckDelayMs: number;
  /** Time between Transaction Status queries of a payout still `unknown` (ms). */
  statusCheckIntervalMs: number;
  /** After this many queries an unresolved payout goes to a person. */
  maxStatusChecks: number;
}

export interface NotificationSettings {
  webhookUrl?: string;
  webhookSecret: string;
  webhookTimeoutMs: number;
}

export interface SimulatorSettings {
  enabled: boolean;
  callbackDelayMs: number;
  lateCallbackMs: number;
  noAnswerMs: number;
  tokenTtlSeconds: number;
}

export interface Config {
  app: AppSettings;
  database: DatabaseSettings;
  redis: RedisSettings;
  security: SecuritySettings;
  mpesa: MpesaSettings;
  worker: WorkerSettings;
  payouts: PayoutSettings;
  notifications: NotificationSettings;
  simulator: SimulatorSettings;
  /** Things worth telling the operator once at start-up (never values of secrets). */
  warnings: string[];
}

const list = (value?: string) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function parseKey(name: string, value: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  if (key.length !== 32) throw new ConfigValidationError([`${name}: must decode to 32 bytes`]);
  return key;
}

/** Turns validated variables into typed settings, applying defaults and the cross-variable rules. */
export function buildConfig(env: EnvironmentVariables): Config {
  const problems: string[] = [];
  const warnings: string[] = [];
  const nodeEnv = env.NODE_ENV ?? 'development';
  const port = env.PORT ?? 3000;
  const publicBaseUrl = (env.PUBLIC_BASE_URL ?? `http://127.0.0.1:${port}`).replace(/\/+$/, '');
  const environment: MpesaEnvironment = env.MPESA_ENVIRONMENT ?? (env.MPESA_CONSUMER_KEY ? 'sandbox' : 'simulator');
  const isProduction = environment === 'production' || nodeEnv === 'production';
  const isSimulator = environment === 'simulator';

  const secret = (name: keyof EnvironmentVariables, devValue: string): string => {
    const value = env[name] as string | undefined;
    if (value) return value;
    if (isProduction) problems.push(`${name}: is required in production`);
    else warnings.push(`${name} is not set: using an insecure development value`);
    return devValue;
  };
  const required = (name: keyof EnvironmentVariables, fallback?: string): string => {
    const value = (env[name] as string | undefined) ?? fallback;
    if (!value) problems.push(`${name}: is required when MPESA_ENVIRONMENT=${environment}`);
    return value ?? '';
  };

  if (isProduction && environment === 'simulator') {
    problems.push('MPESA_ENVIRONMENT: the simulator cannot be used in production (set sandbox or production)');
  }
  if (environment === 'production' && env.SIMULATOR_ENABLED === 'true') {
    problems.push('SIMULATOR_ENABLED: the embedded simulator cannot run with MPESA_ENVIRONMENT=production');
  }

  const jwtSecret = secret('JWT_SECRET', DEV_JWT_SECRET);
  const dataKeyId = env.DATA_ENCRYPTION_KEY_ID ?? 'k1';
  const dataKeys: Record<string, Buffer> = {};
  try {
    dataKeys[dataKeyId] = parseKey('DATA_ENCRYPTION_KEY', secret('DATA_ENCRYPTION_KEY', DEV_DATA_KEY));
    for (const entry of list(env.DATA_ENCRYPTION_OLD_KEYS)) {
      const [id, key] = entry.split(':');
      if (!id || !key) throw new ConfigValidationError(['DATA_ENCRYPTION_OLD_KEYS: entries must be keyId:key']);
      dataKeys[id] = parseKey('DATA_ENCRYPTION_OLD_KEYS', key);
    }
  } catch (e) {
    if (e instanceof ConfigValidationError) problems.push(...e.problems);
    else throw e;
  }

  const callbackDefault = (path: string) => (isSimulator ? `${publicBaseUrl}/api/payments/mpesa/${path}` : undefined);
  const mpesa: MpesaSettings = {
    environment,
    baseUrl: (env.MPESA_BASE_URL ?? (isSimulator ? `http://127.0.0.1:${port}/simulator/daraja` : BASE_URLS[environment])).replace(/\/+$/, ''),
    consumerKey: isSimulator ? (env.MPESA_CONSUMER_KEY ?? 'simulator-consumer-key') : required('MPESA_CONSUMER_KEY'),
    consumerSecret: isSimulator
      ? (env.MPESA_CONSUMER_SECRET ?? 'simulator-consumer-secret')
      : required('MPESA_CONSUMER_SECRET'),
    shortcode: environment === 'production' ? required('MPESA_SHORTCODE') : (env.MPESA_SHORTCODE ?? SANDBOX_SHORTCODE),
    partyB: '',
    passkey: environment === 'production' ? required('MPESA_PASSKEY') : (env.MPESA_PASSKEY ?? SANDBOX_PASSKEY),
    transactionType: env.MPESA_TRANSACTION_TYPE ?? 'CustomerPayBillOnline',
    initiatorName: env.MPESA_INITIATOR_NAME ?? (isSimulator ? SIMULATOR_INITIATOR_NAME : undefined),
    securityCredential: env.MPESA_SECURITY_CREDENTIAL,
    initiatorPassword: env.MPESA_INITIATOR_PASSWORD ?? (isSimulator ? SIMULATOR_INITIATOR_PASSWORD : undefined),
    certificatePath: env.MPESA_CERTIFICATE_PATH ? resolve(env.MPESA_CERTIFICATE_PATH) : SHIPPED_CERTIFICATES[environment],
    certificateOverridden: Boolean(env.MPESA_CERTIFICATE_PATH),
    b2cShortcode: '',
    b2cApiVersion: env.MPESA_B2C_API_VERSION ?? 'v3',
    stkCallbackUrl: required('MPESA_STK_CALLBACK_URL', callbackDefault('stk-callback')),
    b2cCallbackUrl: env.MPESA_B2C_CALLBACK_URL ?? callbackDefault('b2c-callback') ?? '',
    timeoutUrl: env.MPESA_TIMEOUT_URL ?? callbackDefault('timeout') ?? '',
    resultUrl: env.MPESA_RESULT_URL ?? callbackDefault('result') ?? '',
    callbackSecret: secret('MPESA_CALLBACK_SECRET', DEV_CALLBACK_SECRET),
    callbackAllowedIps: list(env.MPESA_CALLBACK_ALLOWED_IPS),
    httpTimeoutMs: env.MPESA_HTTP_TIMEOUT_MS ?? 30_000,
    tokenRefreshMarginSeconds: env.MPESA_TOKEN_REFRESH_MARGIN_SECONDS ?? 120,
  };
  mpesa.partyB = env.MPESA_PARTY_B ?? mpesa.shortcode;
  mpesa.b2cShortcode = env.MPESA_B2C_SHORTCODE ?? mpesa.shortcode;
  if (environment === 'production' && sameFile(mpesa.certificatePath, SHIPPED_CERTIFICATES.simulator)) {
    problems.push(
      'MPESA_CERTIFICATE_PATH: certs/simulator.cer belongs to the embedded simulator; unset it to use certs/production.cer, or point it at the certificate from the Daraja portal',
    );
  }
  if (mpesa.transactionType === 'CustomerBuyGoodsOnline' && !env.MPESA_PARTY_B && !isSimulator) {
    warnings.push('MPESA_PARTY_B is not set for Buy Goods: the till number usually differs from MPESA_SHORTCODE');
  }

  if (isProduction) {
    for (const name of ['MPESA_STK_CALLBACK_URL', 'MPESA_B2C_CALLBACK_URL', 'MPESA_TIMEOUT_URL', 'MPESA_RESULT_URL'] as const) {
      const value = env[name];
      if (value && !value.startsWith('https://')) problems.push(`${name}: must use https:// in production`);
    }
    if (env.MPESA_BASE_URL && !env.MPESA_BASE_URL.startsWith('https://')) {
      problems.push('MPESA_BASE_URL: must use https:// in production');
    }
    if (env.WEBHOOK_URL && !env.WEBHOOK_SECRET) problems.push('WEBHOOK_SECRET: is required in production when WEBHOOK_URL is set');
  }

  if (problems.length > 0) throw new ConfigValidationError(problems);

  return {
    app: {
      mode: env.MODE ?? 'all',
      nodeEnv,
      port,
      host: env.HOST ?? '0.0.0.0',
      publicBaseUrl,
      logLevel: env.LOG_LEVEL ?? 'info',
      jwtSecret,
      trustedProxies: list(env.TRUSTED_PROXIES),
    },
    database: {
      url: env.DATABASE_URL ?? 'postgres://legalpro:legalpro@127.0.0.1:55432/legalpro',
      poolSize: env.DATABASE_POOL_SIZE ?? 20,
    },
    redis: {
      url: env.REDIS_URL ?? 'redis://127.0.0.1:56379',
      keyPrefix: env.REDIS_KEY_PREFIX ?? 'lp',
    },
    security: { dataKeyId, dataKeys },
    mpesa,
    worker: {
      sweepIntervalMs: env.STATUS_SWEEP_INTERVAL_MS ?? 15_000,
      queryMinAgeMs: env.STATUS_QUERY_MIN_AGE_MS ?? 30_000,
      maxPendingMs: env.PAYMENT_MAX_PENDING_MS ?? 180_000,
      concurrency: env.WORKER_CONCURRENCY ?? 8,
      idempotencyTtlHours: env.IDEMPOTENCY_TTL_HOURS ?? 24,
    },
    payouts: {
      balanceFreshnessSeconds: env.BALANCE_FRESHNESS_SECONDS ?? 300,
      balanceWaitMs: env.BALANCE_WAIT_MS ?? 20_000,
      resultWaitMs: env.PAYOUT_RESULT_WAIT_MS ?? 180_000,
      firstStatusCheckDelayMs: env.PAYOUT_FIRST_STATUS_CHECK_DELAY_MS ?? 30_000,
      statusCheckIntervalMs: env.PAYOUT_STATUS_CHECK_INTERVAL_MS ?? 60_000,
      maxStatusChecks: env.PAYOUT_MAX_STATUS_CHECKS ?? 10,
    },
    notifications: {
      webhookUrl: env.WEBHOOK_URL,
      webhookSecret: env.WEBHOOK_URL ? secret('WEBHOOK_SECRET', DEV_WEBHOOK_SECRET) : (env.WEBHOOK_SECRET ?? DEV_WEBHOOK_SECRET),
      webhookTimeoutMs: env.WEBHOOK_TIMEOUT_MS ?? 10_000,
    },
    simulator: {
      enabled: env.SIMULATOR_ENABLED ? env.SIMULATOR_ENABLED === 'true' : isSimulator,
      callbackDelayMs: env.SIMULATOR_CALLBACK_DELAY_MS ?? 1_500,
      lateCallbackMs: env.SIMULATOR_LATE_CALLBACK_MS ?? 45_000,
      noAnswerMs: env.SIMULATOR_NO_ANSWER_MS ?? 60_000,
      tokenTtlSeconds: env.SIMULATOR_TOKEN_TTL_SECONDS ?? 3599,
    },
    warnings,
  };
}

let cached: Config | undefined;

/** The process-wide configuration, validated once; throws `ConfigValidationError` naming the variables. */
export function loadConfig(): Config {
  cached ??= buildConfig(validateEnv(process.env));
  return cached;
}

export const appConfig = registerAs('app', () => loadConfig().app);
export const databaseConfig = registerAs('database', () => loadConfig().database);
export const redisConfig = registerAs('redis', () => loadConfig().redis);
export const securityConfig = registerAs('security', () => loadConfig().security);
export const mpesaConfig = registerAs('mpesa', () => loadConfig().mpesa);
export const workerConfig = registerAs('worker', () => loadConfig().worker);
export const payoutsConfig = registerAs('payouts', () => loadConfig().payouts);
export const notificationsConfig = registerAs('notifications', () => loadConfig().notifications);
export const simulatorConfig = registerAs('simulator', () => loadConfig().simulator);

export const ALL_CONFIG_NAMESPACES = [
  appConfig,
  databaseConfig,
  redisConfig,
  securityConfig,
  mpesaConfig,
  workerConfig,
  payoutsConfig,
  notificationsConfig,
  simulatorConfig,
];
