import { registerAs } from '@nestjs/config';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  CLIENT_NOTIFICATION_EVENT_NAMES,
  C2bResponseType,
  C2bValidationMode,
  ClientNotificationEventName,
  ConfigValidationError,
  EnvironmentVariables,
  MIN_AUTH_FAILURES_PER_MINUTE,
  MIN_STK_PUSHES_PER_PHONE_PER_MINUTE,
  MpesaEnvironment,
  ProcessMode,
  SimulatorTimestampMode,
  STK_TRANSACTION_TYPES,
  validateEnv,
  WebhookUrlPolicyName,
} from './env.validation';

/** Safaricom's public sandbox passkey for shortcode 174379 (see docs/daraja.md §10.3). */
export const SANDBOX_PASSKEY = 'bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919';
export const SANDBOX_SHORTCODE = '174379';
/** The simulator's initiator (Safaricom's documented sandbox values, docs/daraja.md §10.3); the simulator expects them. */
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
  /**
   * API_PROCESSES: how many HTTP processes MODE=api runs on PORT (Node cluster: one primary forks them and they
   * share the listening socket). 1: the process serves HTTP itself. Only MODE=api reads it (queues run in MODE=worker).
   */
  apiProcesses: number;
  nodeEnv: string;
  port: number;
  host: string;
  publicBaseUrl: string;
  logLevel: string;
  /**
   * LOG_FLUSH_INTERVAL_MS: log lines are gathered and written at least this often (and whenever 2 KB are waiting),
   * instead of one write per line: on a busy API a write per line cost as much CPU as a database round trip. On
   * SIGKILL the lines of the last interval are lost (a normal exit, even by an uncaught error, writes them). 0: each
   * line is written at once.
   */
  logFlushIntervalMs: number;
  jwtSecret: string;
  /**
   * JWT_MAX_AGE_SECONDS: the longest a bearer token may live. A token is refused without `exp`, with `exp` further
   * ahead than this, or with an `iat` longer ago than this (src/auth/jwt-policy.ts).
   */
  jwtMaxAgeSeconds: number;
  /** JWT_ISSUER: when set, a token's `iss` must equal it. */
  jwtIssuer?: string;
  /** JWT_AUDIENCE: when set, a token's `aud` must be (or contain) it. */
  jwtAudience?: string;
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
  /** STK PartyB: the paybill (= shortcode), or the till number for Buy Goods (MPESA_STK_PARTY_B, alias MPESA_PARTY_B). */
  partyB: string;
  passkey: string;
  /** MPESA_STK_TRANSACTION_TYPE (alias MPESA_TRANSACTION_TYPE): Paybill or Buy Goods (till). */
  transactionType: (typeof STK_TRANSACTION_TYPES)[number];
  /** True when MPESA_STK_PARTY_B (or MPESA_PARTY_B) was set, rather than defaulting to the shortcode. */
  partyBConfigured: boolean;
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
  stkCallbackUrl: string;
  b2cCallbackUrl: string;
  timeoutUrl: string;
  resultUrl: string;
  /** Customer-initiated payments (Paybill / till from the phone): src/c2b. */
  c2b: C2bSettings;
  callbackSecret: string;
  callbackAllowedIps: string[];
  /** MPESA_CALLBACK_ALLOW_ANY_IP: production runs without a callback allowlist only when this says so on purpose. */
  callbackAllowAnyIp: boolean;
  httpTimeoutMs: number;
  tokenRefreshMarginSeconds: number;
  /** One budget of Daraja calls shared by every process (src/mpesa/daraja-call-budget.service.ts). */
  callBudget: DarajaCallBudgetSettings;
}

export interface C2bSettings {
  /** MPESA_C2B_SHORTCODE: the paybill or till customers pay; defaults to MPESA_SHORTCODE. */
  shortCode: string;
  /** MPESA_C2B_VALIDATION_URL / MPESA_C2B_CONFIRMATION_URL, without their token (CallbackUrls adds it); '' when unset. */
  validationUrl: string;
  confirmationUrl: string;
  /** MPESA_C2B_RESPONSE_TYPE: what M-Pesa does when validation does not answer in time (default Completed). */
  responseType: C2bResponseType;
  /** C2B_VALIDATION: strict refuses unknown account numbers and amounts below 1; lenient (default) accepts all. */
  validation: C2bValidationMode;
}

export interface DarajaCallBudgetSettings {
  /** DARAJA_MAX_CALLS_PER_SECOND: the whole fleet's calls per second, spaced evenly (one every 1000/N ms). */
  callsPerSecond: number;
  /** DARAJA_BUDGET_MAX_WAIT_MS: how long a call may wait for its turn before it fails as not sent. */
  maxWaitMs: number;
  /** DARAJA_COOLDOWN_MS: how long a spike-arrest / quota answer slows the fleet down. */
  cooldownMs: number;
  /** DARAJA_COOLDOWN_RATE_PERCENT: the share of the budget money-moving calls keep during a cool-down. */
  cooldownRatePercent: number;
}

export interface WorkerSettings {
  sweepIntervalMs: number;
  queryMinAgeMs: number;
  maxPendingMs: number;
  /** After a payment expired, M-Pesa is asked again this long after the expiry, once each (ascending). */
  lateQueryDelaysMs: number[];
  /** STATUS_SWEEP_PAGE_SIZE: pending payments read and enqueued per round trip of a sweep. */
  sweepPageSize: number;
  /** STATUS_SWEEP_MAX_PER_RUN: at most this many pending payments per sweep; the rest wait for the next one. */
  sweepMaxPerRun: number;
  /** WORKER_CONCURRENCY: payment jobs (status queries, resends, expiries) run at once per worker process. */
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
  /**
   * Transaction Status `2033` ("not found") right after a send may only mean M-Pesa has not indexed it yet: it counts
   * as "not paid" only for a payout older than this (ms), and only on its second such answer.
   */
  notFoundMinAgeMs: number;
  /** An Account Balance, Transaction Status or reversal request whose result never came ends `expired` after this (ms). */
  resultWaitMaxMs: number;
  /** A payout waiting for a balance answer asks again this often (ms). */
  balanceRetryIntervalMs: number;
}

/** nodemailer's SMTP transport: SMTP_URL as it is, or the SMTP_HOST/SMTP_PORT/SMTP_USER/SMTP_PASSWORD parts. */
export type SmtpTransportSettings = string | { host: string; port: number; secure: boolean; auth?: { user: string; pass: string } };

export interface NotificationSettings {
  webhookUrl?: string;
  /**
   * What signs the default endpoint's webhooks: WEBHOOK_SECRET, then WEBHOOK_SECRET_PREVIOUS while it is set (a
   * rotation's overlap, so the receiver may switch secrets at its own pace).
   */
  webhookSecrets: string[];
  webhookTimeoutMs: number;
  /** How often an idle worker looks for due webhook rows in the outbox (WEBHOOK_POLL_INTERVAL_MS). */
  webhookPollIntervalMs: number;
  /** Delays between a webhook's attempts; the last repeats until `webhookMaxAttempts` (WEBHOOK_RETRY_SCHEDULE_MS). */
  webhookRetryScheduleMs: number[];
  webhookMaxAttempts: number;
  /** After a rotation the old secret signs beside the new one this long (WEBHOOK_ROTATION_OVERLAP_HOURS). */
  webhookRotationOverlapMs: number;
  /** An endpoint whose deliveries have all failed for this long is disabled (WEBHOOK_DISABLE_AFTER_HOURS). */
  webhookDisableAfterMs: number;
  /** public_https: https only, public addresses only (checked at creation and at every send); any: development. */
  webhookUrlPolicy: WebhookUrlPolicyName;
  /** Client emails; undefined when neither SMTP_URL nor SMTP_HOST is set (email notifications are then skipped). */
  email?: { transport: SmtpTransportSettings; from: string; timeoutMs: number };
  /** Client SMS through an HTTP gateway; undefined when SMS_GATEWAY_URL is not set (SMS notifications are then skipped). */
  sms?: { url: string; apiKey: string; senderId: string; timeoutMs: number };
  /** The events clients are told about by email and SMS (CLIENT_NOTIFICATION_EVENTS). */
  clientEvents: ClientNotificationEventName[];
}

/** The spec's alerting thresholds, evaluated from the database by the alerts job (src/alerts). */
export interface AlertSettings {
  enabled: boolean;
  evaluationIntervalMs: number;
  /** Every threshold is counted over this trailing window (the spec's thresholds are per hour). */
  windowSeconds: number;
  failureRatePercent: number;
  /** Fewer settled payments than this in the window never raise the failure-rate alert (one failure of three is noise). */
  failureRateMinPayments: number;
  avgResponseMs: number;
  authFailures: number;
  systemErrors: number;
  /** Accepted pushes older than this with no STK callback at all arriving in as long: callbacks have stopped. */
  callbackSilenceSeconds: number;
  callbackSilenceMinPushes: number;
  /** Operators' addresses for alert emails (comma-separated); the webhook to LegalPro always gets them. */
  emailTo: string[];
  /** A review left open longer than this raises `reviews_waiting`. */
  reviewOpenMinutes: number;
}

/** The Prometheus endpoint (src/metrics). */
export interface MetricsSettings {
  /** When set, GET /metrics requires `Authorization: Bearer <token>`. */
  token?: string;
  /** MODE=worker serves no HTTP: it answers GET /metrics on this port instead (0: not at all). */
  workerPort: number;
}

/** Data retention (src/privacy): when phone numbers, names and emails on settled payments and payouts are masked. */
export interface RetentionSettings {
  enabled: boolean;
  /** Settled payments and payouts older than this many days get their personal data masked. */
  maskPhoneAfterDays: number;
  /** When the daily sweep runs (Africa/Nairobi time), unless `sweepIntervalMs` is set. */
  sweepCron: string;
  /** A fixed interval instead of the cron (tests, small deployments). */
  sweepIntervalMs?: number;
  /** Rows masked per statement. */
  batchSize: number;
}

/** Inbound request limits (src/rate-limit), counted in Redis so they hold across replicas; every window is one minute. */
export interface RateLimitSettings {
  /** Requests a minute per authenticated client (JWT `sub`). */
  perClient: number;
  /** Requests a minute per source IP, whoever the client. */
  perIp: number;
  /** Failed authentications a minute per IP before that IP is refused altogether (never below 30). */
  authFailuresPerIp: number;
  /** STK pushes a minute per phone number (never below 5). */
  stkPushesPerPhone: number;
  /** Rejected callbacks (bad token or source IP) recorded a minute per IP and process; beyond, 429 unrecorded. */
  rejectedCallbacksPerIp: number;
}

export interface SimulatorSettings {
  enabled: boolean;
  callbackDelayMs: number;
  lateCallbackMs: number;
  noAnswerMs: number;
  tokenTtlSeconds: number;
  /**
   * Where "Daraja" keeps its state: never the service's key space, so a FLUSHDB of the service's Redis is not a flush
   * of Daraja. `url` undefined (stand-alone only): a private in-memory redis-server of the simulator's own.
   */
  redis: { url?: string; keyPrefix: string };
  /** `strict`: Kenya time ±10 min, as the service's tests expect. `lenient`: also UTC and the host's local time. */
  timestamp: SimulatorTimestampMode;
  /** The stand-alone simulator (MODE=simulator): where it listens. */
  port: number;
  host: string;
  /** When set, the scenario recorder also writes each recording there as a JSON file. */
  recordDir?: string;
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
  alerts: AlertSettings;
  metrics: MetricsSettings;
  retention: RetentionSettings;
  rateLimits: RateLimitSettings;
  simulator: SimulatorSettings;
  /** Things worth telling the operator once at start-up (never values of secrets). */
  warnings: string[];
}

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:56379';

/**
 * The service's Redis URL moved to the next logical database (0 -> 1, 15 -> 0): the embedded simulator's default, so
 * `FLUSHDB` on the service's database leaves "Daraja" alone. Only a separate server (SIMULATOR_REDIS_URL) survives
 * `FLUSHALL`.
 */
export function simulatorDatabaseOf(serviceUrl: string): string {
  const url = new URL(serviceUrl);
  const db = Number(url.pathname.replace(/^\//, '') || '0');
  url.pathname = `/${(Number.isInteger(db) ? db + 1 : 1) % 16}`;
  return url.toString();
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
  const standaloneSimulator = env.MODE === 'simulator';
  // The stand-alone simulator is Daraja itself: the MPESA_* values it reads are the credentials it hands out.
  const environment: MpesaEnvironment = standaloneSimulator
    ? 'simulator'
    : (env.MPESA_ENVIRONMENT ?? (env.MPESA_CONSUMER_KEY ? 'sandbox' : 'simulator'));
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
  // Whatever MPESA_ENVIRONMENT says: the simulator's control routes would let anyone script payment outcomes.
  if (isProduction && env.SIMULATOR_ENABLED === 'true') {
    const why = nodeEnv === 'production' ? 'NODE_ENV=production' : 'MPESA_ENVIRONMENT=production';
    problems.push(`SIMULATOR_ENABLED: the embedded simulator cannot run in production (${why})`);
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
    baseUrl: (env.MPESA_BASE_URL ?? (isSimulator ? `http://127.0.0.1:${port}/simulator/daraja` : BASE_URLS[environment])).replace(
      /\/+$/,
      '',
    ),
    consumerKey: isSimulator ? (env.MPESA_CONSUMER_KEY ?? 'simulator-consumer-key') : required('MPESA_CONSUMER_KEY'),
    consumerSecret: isSimulator ? (env.MPESA_CONSUMER_SECRET ?? 'simulator-consumer-secret') : required('MPESA_CONSUMER_SECRET'),
    shortcode: environment === 'production' ? required('MPESA_SHORTCODE') : (env.MPESA_SHORTCODE ?? SANDBOX_SHORTCODE),
    partyB: '',
    passkey: environment === 'production' ? required('MPESA_PASSKEY') : (env.MPESA_PASSKEY ?? SANDBOX_PASSKEY),
    transactionType: 'CustomerPayBillOnline',
    partyBConfigured: false,
    initiatorName: env.MPESA_INITIATOR_NAME ?? (isSimulator ? SIMULATOR_INITIATOR_NAME : undefined),
    securityCredential: env.MPESA_SECURITY_CREDENTIAL,
    initiatorPassword: env.MPESA_INITIATOR_PASSWORD ?? (isSimulator ? SIMULATOR_INITIATOR_PASSWORD : undefined),
    certificatePath: env.MPESA_CERTIFICATE_PATH ? resolve(env.MPESA_CERTIFICATE_PATH) : SHIPPED_CERTIFICATES[environment],
    certificateOverridden: Boolean(env.MPESA_CERTIFICATE_PATH),
    b2cShortcode: '',
    stkCallbackUrl: required('MPESA_STK_CALLBACK_URL', callbackDefault('stk-callback')),
    b2cCallbackUrl: env.MPESA_B2C_CALLBACK_URL ?? callbackDefault('b2c-callback') ?? '',
    timeoutUrl: env.MPESA_TIMEOUT_URL ?? callbackDefault('timeout') ?? '',
    resultUrl: env.MPESA_RESULT_URL ?? callbackDefault('result') ?? '',
    c2b: {
      shortCode: '',
      // Served only under /daraja/: Safaricom refuses C2B URLs containing "mpesa" (docs/daraja.md §9.3).
      validationUrl: env.MPESA_C2B_VALIDATION_URL ?? (isSimulator ? `${publicBaseUrl}/api/payments/daraja/c2b/validation` : ''),
      confirmationUrl: env.MPESA_C2B_CONFIRMATION_URL ?? (isSimulator ? `${publicBaseUrl}/api/payments/daraja/c2b/confirmation` : ''),
      responseType: env.MPESA_C2B_RESPONSE_TYPE ?? 'Completed',
      validation: env.C2B_VALIDATION ?? 'lenient',
    },
    callbackSecret: secret('MPESA_CALLBACK_SECRET', DEV_CALLBACK_SECRET),
    callbackAllowedIps: list(env.MPESA_CALLBACK_ALLOWED_IPS),
    callbackAllowAnyIp: env.MPESA_CALLBACK_ALLOW_ANY_IP === 'true',
    httpTimeoutMs: env.MPESA_HTTP_TIMEOUT_MS ?? 30_000,
    tokenRefreshMarginSeconds: env.MPESA_TOKEN_REFRESH_MARGIN_SECONDS ?? 120,
    callBudget: {
      // Safaricom publishes no TPS (docs/daraja.md §12): 20/s is a conservative production figure. The simulator's default
      // is far above what the tests and the bench send, so it never slows them.
      callsPerSecond: env.DARAJA_MAX_CALLS_PER_SECOND ?? (isSimulator ? 5_000 : 20),
      maxWaitMs: env.DARAJA_BUDGET_MAX_WAIT_MS ?? 5_000,
      // The simulator is only ever "busy" when a test or a developer queues the fault: a second's pause shows the
      // behaviour without holding up whatever runs next.
      cooldownMs: env.DARAJA_COOLDOWN_MS ?? (isSimulator ? 1_000 : 30_000),
      cooldownRatePercent: env.DARAJA_COOLDOWN_RATE_PERCENT ?? 50,
    },
  };
  // The STK names came later; the older names stay accepted, but two different values are a mistake to fix, not guess.
  const aliased = <T extends string>(name: string, alias: string, value: T | undefined, old: T | undefined): T | undefined => {
    if (value && old && value !== old) problems.push(`${name}: is ${value} but its older name ${alias} says ${old}; keep one of them`);
    return value ?? old;
  };
  mpesa.transactionType =
    aliased('MPESA_STK_TRANSACTION_TYPE', 'MPESA_TRANSACTION_TYPE', env.MPESA_STK_TRANSACTION_TYPE, env.MPESA_TRANSACTION_TYPE) ??
    'CustomerPayBillOnline';
  const partyB = aliased('MPESA_STK_PARTY_B', 'MPESA_PARTY_B', env.MPESA_STK_PARTY_B, env.MPESA_PARTY_B);
  mpesa.partyB = partyB ?? mpesa.shortcode;
  mpesa.partyBConfigured = Boolean(partyB);
  mpesa.b2cShortcode = env.MPESA_B2C_SHORTCODE ?? mpesa.shortcode;
  mpesa.c2b.shortCode = env.MPESA_C2B_SHORTCODE ?? mpesa.shortcode;
  if (environment === 'production' && sameFile(mpesa.certificatePath, SHIPPED_CERTIFICATES.simulator)) {
    problems.push(
      'MPESA_CERTIFICATE_PATH: certs/simulator.cer belongs to the embedded simulator; unset it to use certs/production.cer, or point it at the certificate from the Daraja portal',
    );
  }
  if (mpesa.transactionType === 'CustomerBuyGoodsOnline' && !partyB && !isSimulator) {
    warnings.push('MPESA_STK_PARTY_B is not set for Buy Goods: the till number usually differs from MPESA_SHORTCODE');
  }

  if (isProduction) {
    for (const name of [
      'MPESA_STK_CALLBACK_URL',
      'MPESA_B2C_CALLBACK_URL',
      'MPESA_TIMEOUT_URL',
      'MPESA_RESULT_URL',
      'MPESA_C2B_VALIDATION_URL',
      'MPESA_C2B_CONFIRMATION_URL',
    ] as const) {
      const value = env[name];
      if (value && !value.startsWith('https://')) problems.push(`${name}: must use https:// in production`);
    }
    if (env.MPESA_BASE_URL && !env.MPESA_BASE_URL.startsWith('https://')) {
      problems.push('MPESA_BASE_URL: must use https:// in production');
    }
    if (env.WEBHOOK_URL && !env.WEBHOOK_SECRET) problems.push('WEBHOOK_SECRET: is required in production when WEBHOOK_URL is set');
    // LegalPro's admins name webhook URLs at run time: in production none may point inside our network.
    if (env.WEBHOOK_URL_POLICY === 'any') problems.push('WEBHOOK_URL_POLICY: must be public_https in production');
    // Daraja's callbacks are unsigned: in production only Safaricom's published addresses may post them.
    if (!env.MPESA_CALLBACK_ALLOWED_IPS && env.MPESA_CALLBACK_ALLOW_ANY_IP !== 'true') {
      problems.push(
        "MPESA_CALLBACK_ALLOWED_IPS: is required in production (Safaricom's callback addresses, docs/daraja.md §11.1); set MPESA_CALLBACK_ALLOW_ANY_IP=true to accept callbacks from anywhere on purpose",
      );
    }
    // The scrape names queues, amounts and failure rates: not for whoever can reach the port.
    if (!env.METRICS_TOKEN) problems.push('METRICS_TOKEN: is required in production (GET /metrics would answer anyone who can reach it)');
    if (!env.TRUSTED_PROXIES) {
      warnings.push(
        "TRUSTED_PROXIES is not set: behind a load balancer every caller shares its IP, so one client's failed logins rate-limit all of them",
      );
    }
    // The gateway's API key and the client's phone number travel in that request.
    if (env.SMS_GATEWAY_URL && !env.SMS_GATEWAY_URL.startsWith('https://'))
      problems.push('SMS_GATEWAY_URL: must use https:// in production');
    if ((env.SMTP_URL || env.SMTP_HOST) && !env.SMTP_FROM)
      problems.push('SMTP_FROM: is required in production when SMTP_URL or SMTP_HOST is set');
  }

  const clients = clientChannels(env, problems);

  // Read by MODE=api only: a cluster of MODE=all processes would also run every queue worker and scheduler N times.
  // Other modes (and the CLIs, which share the same .env) ignore it, saying so once.
  const apiProcesses = env.MODE === 'api' ? (env.API_PROCESSES ?? 1) : 1;
  if ((env.API_PROCESSES ?? 1) > 1 && env.MODE !== 'api') {
    warnings.push(
      `API_PROCESSES=${env.API_PROCESSES} is ignored: only MODE=api runs several HTTP processes (MODE=${env.MODE ?? 'all'} runs one)`,
    );
  }

  if (problems.length > 0) throw new ConfigValidationError(problems);

  return {
    app: {
      mode: env.MODE ?? 'all',
      apiProcesses,
      nodeEnv,
      port,
      host: env.HOST ?? '0.0.0.0',
      publicBaseUrl,
      logLevel: env.LOG_LEVEL ?? 'info',
      logFlushIntervalMs: env.LOG_FLUSH_INTERVAL_MS ?? 100,
      jwtSecret,
      // A day: LegalPro's backend signs short-lived tokens; anything older is a token that leaked or was never meant to end.
      jwtMaxAgeSeconds: env.JWT_MAX_AGE_SECONDS ?? 86_400,
      jwtIssuer: env.JWT_ISSUER,
      jwtAudience: env.JWT_AUDIENCE,
      trustedProxies: list(env.TRUSTED_PROXIES),
    },
    database: {
      url: env.DATABASE_URL ?? 'postgres://legalpro:legalpro@127.0.0.1:55432/legalpro',
      poolSize: env.DATABASE_POOL_SIZE ?? 20,
    },
    redis: {
      url: env.REDIS_URL ?? DEFAULT_REDIS_URL,
      keyPrefix: env.REDIS_KEY_PREFIX ?? 'lp',
    },
    security: { dataKeyId, dataKeys },
    mpesa,
    worker: {
      sweepIntervalMs: env.STATUS_SWEEP_INTERVAL_MS ?? 15_000,
      queryMinAgeMs: env.STATUS_QUERY_MIN_AGE_MS ?? 30_000,
      maxPendingMs: env.PAYMENT_MAX_PENDING_MS ?? 180_000,
      // A customer who entered the PIN late has paid: 5, 15 and 60 minutes after the expiry, the payment is asked about.
      lateQueryDelaysMs: (env.PAYMENT_LATE_QUERY_DELAYS_MS?.split(',').map(Number) ?? [300_000, 900_000, 3_600_000]).sort((a, b) => a - b),
      sweepPageSize: env.STATUS_SWEEP_PAGE_SIZE ?? 1_000,
      sweepMaxPerRun: env.STATUS_SWEEP_MAX_PER_RUN ?? 50_000,
      // Payment jobs mostly wait on Daraja (a status query is one HTTPS round trip), so a process runs many at once;
      // DARAJA_MAX_CALLS_PER_SECOND, not this, is what bounds the calls.
      concurrency: env.WORKER_CONCURRENCY ?? 32,
      idempotencyTtlHours: env.IDEMPOTENCY_TTL_HOURS ?? 24,
    },
    payouts: {
      balanceFreshnessSeconds: env.BALANCE_FRESHNESS_SECONDS ?? 300,
      balanceWaitMs: env.BALANCE_WAIT_MS ?? 20_000,
      resultWaitMs: env.PAYOUT_RESULT_WAIT_MS ?? 180_000,
      firstStatusCheckDelayMs: env.PAYOUT_FIRST_STATUS_CHECK_DELAY_MS ?? 30_000,
      statusCheckIntervalMs: env.PAYOUT_STATUS_CHECK_INTERVAL_MS ?? 60_000,
      maxStatusChecks: env.PAYOUT_MAX_STATUS_CHECKS ?? 10,
      notFoundMinAgeMs: env.PAYOUT_NOT_FOUND_MIN_AGE_MS ?? 600_000,
      resultWaitMaxMs: env.RESULT_WAIT_MAX_MS ?? 900_000,
      balanceRetryIntervalMs: env.BALANCE_RETRY_INTERVAL_MS ?? 30_000,
    },
    notifications: {
      webhookUrl: env.WEBHOOK_URL,
      webhookSecrets: [
        ...new Set([
          env.WEBHOOK_URL ? secret('WEBHOOK_SECRET', DEV_WEBHOOK_SECRET) : (env.WEBHOOK_SECRET ?? DEV_WEBHOOK_SECRET),
          ...(env.WEBHOOK_SECRET_PREVIOUS ? [env.WEBHOOK_SECRET_PREVIOUS] : []),
        ]),
      ],
      webhookTimeoutMs: env.WEBHOOK_TIMEOUT_MS ?? 10_000,
      webhookPollIntervalMs: env.WEBHOOK_POLL_INTERVAL_MS ?? 200,
      // 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, then every 10 h: 13 attempts span about three days (77.6 h), past the
      // 72 h after which an endpoint that never answers is disabled.
      webhookRetryScheduleMs: env.WEBHOOK_RETRY_SCHEDULE_MS?.split(',').map(Number) ?? [
        60_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000,
      ],
      webhookMaxAttempts: env.WEBHOOK_MAX_ATTEMPTS ?? 13,
      webhookRotationOverlapMs: Math.round((env.WEBHOOK_ROTATION_OVERLAP_HOURS ?? 24) * 3_600_000),
      webhookDisableAfterMs: Math.round((env.WEBHOOK_DISABLE_AFTER_HOURS ?? 72) * 3_600_000),
      webhookUrlPolicy: env.WEBHOOK_URL_POLICY ?? (isProduction ? 'public_https' : 'any'),
      ...clients,
    },
    alerts: {
      enabled: env.ALERTS_ENABLED ? env.ALERTS_ENABLED === 'true' : true,
      evaluationIntervalMs: env.ALERT_EVALUATION_INTERVAL_MS ?? 60_000,
      windowSeconds: env.ALERT_WINDOW_SECONDS ?? 3_600,
      failureRatePercent: env.ALERT_FAILURE_RATE_PERCENT ?? 5,
      failureRateMinPayments: env.ALERT_FAILURE_RATE_MIN_PAYMENTS ?? 20,
      avgResponseMs: env.ALERT_AVG_RESPONSE_MS ?? 10_000,
      authFailures: env.ALERT_AUTH_FAILURES ?? 10,
      systemErrors: env.ALERT_SYSTEM_ERRORS ?? 3,
      callbackSilenceSeconds: env.ALERT_CALLBACK_SILENCE_SECONDS ?? 900,
      callbackSilenceMinPushes: env.ALERT_CALLBACK_SILENCE_MIN_PUSHES ?? 3,
      emailTo: list(env.ALERT_EMAIL_TO),
      reviewOpenMinutes: env.ALERT_REVIEW_OPEN_MINUTES ?? 30,
    },
    metrics: {
      token: env.METRICS_TOKEN,
      workerPort: env.METRICS_PORT ?? 9464,
    },
    retention: {
      enabled: env.RETENTION_ENABLED ? env.RETENTION_ENABLED === 'true' : true,
      // A year: past every refund and dispute window; the financial record itself is kept (see docs/deployment.md).
      maskPhoneAfterDays: env.RETENTION_MASK_PHONE_AFTER_DAYS ?? 365,
      sweepCron: env.RETENTION_SWEEP_CRON?.trim() ?? '30 2 * * *',
      sweepIntervalMs: env.RETENTION_SWEEP_INTERVAL_MS,
      batchSize: env.RETENTION_BATCH_SIZE ?? 500,
    },
    rateLimits: {
      // A LegalPro backend bursting 100 requests for one client, or calling for many clients from one IP, stays
      // far below these; they stop floods, not traffic.
      perClient: env.RATE_LIMIT_CLIENT_PER_MINUTE ?? 3_000,
      perIp: env.RATE_LIMIT_IP_PER_MINUTE ?? 30_000,
      authFailuresPerIp: env.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE ?? MIN_AUTH_FAILURES_PER_MINUTE,
      stkPushesPerPhone: env.RATE_LIMIT_STK_PUSHES_PER_PHONE_PER_MINUTE ?? MIN_STK_PUSHES_PER_PHONE_PER_MINUTE,
      // Counted per process (no Redis on the callback path): with N API processes an IP gets up to N times this.
      rejectedCallbacksPerIp: env.RATE_LIMIT_REJECTED_CALLBACKS_PER_MINUTE ?? 30,
    },
    simulator: {
      enabled: env.SIMULATOR_ENABLED ? env.SIMULATOR_ENABLED === 'true' : isSimulator,
      callbackDelayMs: env.SIMULATOR_CALLBACK_DELAY_MS ?? 1_500,
      lateCallbackMs: env.SIMULATOR_LATE_CALLBACK_MS ?? 45_000,
      noAnswerMs: env.SIMULATOR_NO_ANSWER_MS ?? 60_000,
      tokenTtlSeconds: env.SIMULATOR_TOKEN_TTL_SECONDS ?? 3599,
      redis: {
        url: env.SIMULATOR_REDIS_URL ?? (standaloneSimulator ? undefined : simulatorDatabaseOf(env.REDIS_URL ?? DEFAULT_REDIS_URL)),
        keyPrefix: env.SIMULATOR_REDIS_KEY_PREFIX ?? `${env.REDIS_KEY_PREFIX ?? 'lp'}-daraja`,
      },
      // Public clients send UTC or host-local time (docs/simulator.md); the service's own tests must keep catching a
      // wrong zone, so only the stand-alone simulator is lenient unless told otherwise.
      timestamp: env.SIMULATOR_TIMESTAMP ?? (standaloneSimulator ? 'lenient' : 'strict'),
      port: env.SIMULATOR_PORT ?? 4000,
      host: env.SIMULATOR_HOST ?? '127.0.0.1',
      recordDir: env.SIMULATOR_RECORD_DIR,
    },
    warnings,
  };
}

/** The email and SMS channels (each on only when configured) and the client events they carry. */
function clientChannels(env: EnvironmentVariables, problems: string[]): Pick<NotificationSettings, 'email' | 'sms' | 'clientEvents'> {
  let transport: SmtpTransportSettings | undefined;
  if (env.SMTP_URL && env.SMTP_HOST) problems.push('SMTP_HOST: set either SMTP_URL or SMTP_HOST, not both');
  if (env.SMTP_URL) transport = env.SMTP_URL;
  else if (env.SMTP_HOST) {
    const port = env.SMTP_PORT ?? 587;
    if (Boolean(env.SMTP_USER) !== Boolean(env.SMTP_PASSWORD)) problems.push('SMTP_PASSWORD: SMTP_USER and SMTP_PASSWORD go together');
    // 465 is implicit TLS; other ports upgrade with STARTTLS when the server offers it.
    transport = {
      host: env.SMTP_HOST,
      port,
      secure: port === 465,
      ...(env.SMTP_USER && env.SMTP_PASSWORD ? { auth: { user: env.SMTP_USER, pass: env.SMTP_PASSWORD } } : {}),
    };
  } else if (env.SMTP_PORT || env.SMTP_USER) problems.push('SMTP_HOST: is required when SMTP_PORT or SMTP_USER is set');

  if (env.SMS_GATEWAY_URL && !env.SMS_GATEWAY_API_KEY) problems.push('SMS_GATEWAY_API_KEY: is required when SMS_GATEWAY_URL is set');

  const named = list(env.CLIENT_NOTIFICATION_EVENTS);
  const unknown = named.filter((e) => e !== 'none' && !(CLIENT_NOTIFICATION_EVENT_NAMES as readonly string[]).includes(e));
  if (unknown.length) {
    problems.push(
      `CLIENT_NOTIFICATION_EVENTS: unknown event(s) ${unknown.join(', ')}; use ${CLIENT_NOTIFICATION_EVENT_NAMES.join(', ')} or none`,
    );
  }
  const clientEvents = env.CLIENT_NOTIFICATION_EVENTS
    ? (named.filter((e) => (CLIENT_NOTIFICATION_EVENT_NAMES as readonly string[]).includes(e)) as ClientNotificationEventName[])
    : [...CLIENT_NOTIFICATION_EVENT_NAMES];

  return {
    email: transport
      ? { transport, from: env.SMTP_FROM ?? 'LegalPro <no-reply@legalpro.local>', timeoutMs: env.SMTP_TIMEOUT_MS ?? 15_000 }
      : undefined,
    sms: env.SMS_GATEWAY_URL
      ? {
          url: env.SMS_GATEWAY_URL,
          apiKey: env.SMS_GATEWAY_API_KEY ?? '',
          senderId: env.SMS_SENDER_ID ?? 'LegalPro',
          timeoutMs: env.SMS_GATEWAY_TIMEOUT_MS ?? 10_000,
        }
      : undefined,
    clientEvents,
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
export const alertsConfig = registerAs('alerts', () => loadConfig().alerts);
export const metricsConfig = registerAs('metrics', () => loadConfig().metrics);
export const retentionConfig = registerAs('retention', () => loadConfig().retention);
export const rateLimitConfig = registerAs('rateLimits', () => loadConfig().rateLimits);
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
  alertsConfig,
  metricsConfig,
  retentionConfig,
  rateLimitConfig,
  simulatorConfig,
];
