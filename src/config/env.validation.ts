import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBooleanString,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';

export const MPESA_ENVIRONMENTS = ['sandbox', 'production', 'simulator'] as const;
export type MpesaEnvironment = (typeof MPESA_ENVIRONMENTS)[number];
export const PROCESS_MODES = ['api', 'worker', 'all', 'simulator'] as const;
export type ProcessMode = (typeof PROCESS_MODES)[number];
export const STK_TRANSACTION_TYPES = ['CustomerPayBillOnline', 'CustomerBuyGoodsOnline'] as const;
/** What M-Pesa does with a C2B payment when our validation URL does not answer in time (docs/daraja.md §9.4). */
export const C2B_RESPONSE_TYPES = ['Completed', 'Cancelled'] as const;
export type C2bResponseType = (typeof C2B_RESPONSE_TYPES)[number];
/** strict: validation refuses unknown account numbers and amounts below 1; lenient: it accepts all (src/c2b). */
export const C2B_VALIDATION_MODES = ['strict', 'lenient'] as const;
/** How the simulator judges an STK Timestamp: Kenya time only, or also UTC and the host's local time. */
export const SIMULATOR_TIMESTAMP_MODES = ['strict', 'lenient'] as const;
export type SimulatorTimestampMode = (typeof SIMULATOR_TIMESTAMP_MODES)[number];
export type C2bValidationMode = (typeof C2B_VALIDATION_MODES)[number];
/** v1 is refused: it carries no OriginatorConversationID, so Daraja cannot refuse a resent payout as a duplicate. */
export const B2C_API_VERSIONS = ['v3'] as const;
export type B2cApiVersion = (typeof B2C_API_VERSIONS)[number];
/** What a client is told about by email and SMS (CLIENT_NOTIFICATION_EVENTS picks among them). */
export const CLIENT_NOTIFICATION_EVENT_NAMES = ['payment.received', 'payment.failed', 'refund.sent'] as const;
export type ClientNotificationEventName = (typeof CLIENT_NOTIFICATION_EVENT_NAMES)[number];

/** How strictly a webhook endpoint's URL is checked (src/notifications/webhooks/webhook-url-policy.ts). */
export const WEBHOOK_URL_POLICIES = ['public_https', 'any'] as const;
export type WebhookUrlPolicyName = (typeof WEBHOOK_URL_POLICIES)[number];

/** The lowest brute-force limits anyone may configure (issue 4). */
export const MIN_AUTH_FAILURES_PER_MINUTE = 30;
export const MIN_STK_PUSHES_PER_PHONE_PER_MINUTE = 5;

const toInt = ({ value }: { value: unknown }) => (value === undefined ? undefined : Number(value));

/**
 * Every variable the service reads. An empty string counts as unset (see `validateEnv`), so a blank line in
 * `.env` falls back to the default instead of failing later with a confusing value.
 */
export class EnvironmentVariables {
  @IsOptional() @IsIn(PROCESS_MODES) MODE?: ProcessMode;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(64) API_PROCESSES?: number;
  @IsOptional() @IsIn(['development', 'test', 'production']) NODE_ENV?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535) PORT?: number;
  @IsOptional() @IsString() HOST?: string;
  @IsOptional() @Matches(/^https?:\/\/[^\s]+$/, { message: 'must be an http(s) URL' }) PUBLIC_BASE_URL?: string;
  @IsOptional() @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) LOG_LEVEL?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(10_000) LOG_FLUSH_INTERVAL_MS?: number;

  @IsOptional() @Matches(/^postgres(ql)?:\/\/.+/, { message: 'must be a postgres:// URL' }) DATABASE_URL?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(200) DATABASE_POOL_SIZE?: number;
  @IsOptional() @Matches(/^rediss?:\/\/.+/, { message: 'must be a redis:// URL' }) REDIS_URL?: string;
  @IsOptional() @Matches(/^[A-Za-z0-9_-]+$/, { message: 'may hold only letters, digits, _ and -' }) REDIS_KEY_PREFIX?: string;

  @IsOptional() @IsString() @MinLength(32, { message: 'must be at least 32 characters' }) JWT_SECRET?: string;
  // A minute to 30 days: a longer-lived bearer token is a leaked password that never changes.
  @IsOptional() @Transform(toInt) @IsInt() @Min(60) @Max(2_592_000) JWT_MAX_AGE_SECONDS?: number;
  @IsOptional() @IsString() @MaxLength(256) JWT_ISSUER?: string;
  @IsOptional() @IsString() @MaxLength(256) JWT_AUDIENCE?: string;
  @IsOptional()
  @Matches(/^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$/, { message: 'must be 32 bytes as 64 hex characters or base64' })
  DATA_ENCRYPTION_KEY?: string;
  @IsOptional() @Matches(/^[A-Za-z0-9_-]{1,16}$/, { message: 'must be 1-16 letters, digits, _ or -' }) DATA_ENCRYPTION_KEY_ID?: string;
  @IsOptional() @IsString() DATA_ENCRYPTION_OLD_KEYS?: string;

  @IsOptional() @Matches(/^https?:\/\/[^\s]+$/, { message: 'must be an http(s) URL' }) WEBHOOK_URL?: string;
  @IsOptional() @IsString() @MinLength(16, { message: 'must be at least 16 characters' }) WEBHOOK_SECRET?: string;
  @IsOptional() @IsString() @MinLength(16, { message: 'must be at least 16 characters' }) WEBHOOK_SECRET_PREVIOUS?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(100) WEBHOOK_TIMEOUT_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(10) @Max(60_000) WEBHOOK_POLL_INTERVAL_MS?: number;
  /** Delays between a webhook's attempts (ms); the last one repeats until WEBHOOK_MAX_ATTEMPTS. */
  @IsOptional()
  @Matches(/^\s*\d+(\s*,\s*\d+){0,19}\s*$/, {
    message: 'must be a comma-separated list of 1 to 20 delays in ms, e.g. "60000,300000,1800000"',
  })
  WEBHOOK_RETRY_SCHEDULE_MS?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100) WEBHOOK_MAX_ATTEMPTS?: number;
  // Hours, fractions allowed (tests use seconds' worth).
  @IsOptional() @Transform(toInt) @IsNumber() @Min(0) @Max(720) WEBHOOK_ROTATION_OVERLAP_HOURS?: number;
  @IsOptional() @Transform(toInt) @IsNumber() @Min(0) @Max(720) WEBHOOK_DISABLE_AFTER_HOURS?: number;
  /** public_https: endpoints must be https and resolve to public addresses (always so in production); any: no check. */
  @IsOptional() @IsIn(WEBHOOK_URL_POLICIES) WEBHOOK_URL_POLICY?: WebhookUrlPolicyName;

  @IsOptional()
  @Matches(/^smtps?:\/\/\S+$/, { message: 'must be an smtp:// or smtps:// URL, e.g. smtp://user:pass@host:587' })
  SMTP_URL?: string;
  @IsOptional() @IsString() SMTP_HOST?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(65535) SMTP_PORT?: number;
  @IsOptional() @IsString() SMTP_USER?: string;
  @IsOptional() @IsString() SMTP_PASSWORD?: string;
  @IsOptional() @IsString() @MaxLength(320) SMTP_FROM?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(120000) SMTP_TIMEOUT_MS?: number;
  @IsOptional() @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL without spaces' }) SMS_GATEWAY_URL?: string;
  @IsOptional() @IsString() SMS_GATEWAY_API_KEY?: string;
  @IsOptional()
  @Matches(/^[A-Za-z0-9 ]{1,11}$/, { message: 'must be 1-11 letters, digits or spaces (an alphanumeric sender id)' })
  SMS_SENDER_ID?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(120000) SMS_GATEWAY_TIMEOUT_MS?: number;
  @IsOptional() @IsString() CLIENT_NOTIFICATION_EVENTS?: string;

  @IsOptional() @IsIn(MPESA_ENVIRONMENTS) MPESA_ENVIRONMENT?: MpesaEnvironment;
  @IsOptional() @IsString() MPESA_CONSUMER_KEY?: string;
  @IsOptional() @IsString() MPESA_CONSUMER_SECRET?: string;
  @IsOptional() @Matches(/^\d{5,7}$/, { message: 'must be a 5-7 digit shortcode' }) MPESA_SHORTCODE?: string;
  /** Kept as an alias of MPESA_STK_PARTY_B. */
  @IsOptional() @Matches(/^\d{5,7}$/, { message: 'must be a 5-7 digit till or paybill number' }) MPESA_PARTY_B?: string;
  @IsOptional() @Matches(/^\d{5,7}$/, { message: 'must be a 5-7 digit till or paybill number' }) MPESA_STK_PARTY_B?: string;
  @IsOptional() @IsString() MPESA_PASSKEY?: string;
  /** Kept as an alias of MPESA_STK_TRANSACTION_TYPE. */
  @IsOptional() @IsIn(STK_TRANSACTION_TYPES) MPESA_TRANSACTION_TYPE?: (typeof STK_TRANSACTION_TYPES)[number];
  @IsOptional() @IsIn(STK_TRANSACTION_TYPES) MPESA_STK_TRANSACTION_TYPE?: (typeof STK_TRANSACTION_TYPES)[number];
  // C2B (src/c2b): the shortcode customers pay by Paybill or till, and the URLs registered for it.
  @IsOptional() @Matches(/^\d{5,7}$/, { message: 'must be a 5-7 digit paybill or till number' }) MPESA_C2B_SHORTCODE?: string;
  @IsOptional() @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL without spaces' }) MPESA_C2B_VALIDATION_URL?: string;
  @IsOptional() @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL without spaces' }) MPESA_C2B_CONFIRMATION_URL?: string;
  @IsOptional() @IsIn(C2B_RESPONSE_TYPES, { message: 'must be Completed or Cancelled' }) MPESA_C2B_RESPONSE_TYPE?: C2bResponseType;
  @IsOptional() @IsIn(C2B_VALIDATION_MODES, { message: 'must be strict or lenient' }) C2B_VALIDATION?: C2bValidationMode;
  @IsOptional() @IsString() MPESA_INITIATOR_NAME?: string;
  @IsOptional() @IsString() MPESA_SECURITY_CREDENTIAL?: string;
  @IsOptional() @IsString() MPESA_INITIATOR_PASSWORD?: string;
  @IsOptional() @IsString() MPESA_CERTIFICATE_PATH?: string;
  @IsOptional() @Matches(/^\d{5,7}$/, { message: 'must be a 5-7 digit shortcode' }) MPESA_B2C_SHORTCODE?: string;
  @IsOptional()
  @IsIn(B2C_API_VERSIONS, {
    message:
      'must be v3: v1 sends no OriginatorConversationID, so Daraja cannot refuse a resent payout as a duplicate and a retry could pay twice',
  })
  MPESA_B2C_API_VERSION?: B2cApiVersion;
  @IsOptional() @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL without spaces' }) MPESA_STK_CALLBACK_URL?: string;
  @IsOptional() @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL without spaces' }) MPESA_B2C_CALLBACK_URL?: string;
  @IsOptional() @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL without spaces' }) MPESA_TIMEOUT_URL?: string;
  @IsOptional() @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL without spaces' }) MPESA_RESULT_URL?: string;
  @IsOptional() @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL without spaces' }) MPESA_BASE_URL?: string;
  @IsOptional() @IsString() MPESA_CALLBACK_ALLOWED_IPS?: string;
  @IsOptional() @IsBooleanString() MPESA_CALLBACK_ALLOW_ANY_IP?: string;
  @IsOptional() @IsString() @MinLength(32, { message: 'must be at least 32 characters' }) MPESA_CALLBACK_SECRET?: string;
  @IsOptional() @IsString() TRUSTED_PROXIES?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(120000) MPESA_HTTP_TIMEOUT_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(600) MPESA_TOKEN_REFRESH_MARGIN_SECONDS?: number;
  // The fleet-wide Daraja call budget (src/mpesa/daraja-call-budget.service.ts).
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100000) DARAJA_MAX_CALLS_PER_SECOND?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(120000) DARAJA_BUDGET_MAX_WAIT_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(3600000) DARAJA_COOLDOWN_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100) DARAJA_COOLDOWN_RATE_PERCENT?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(200) STATUS_SWEEP_INTERVAL_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) STATUS_QUERY_MIN_AGE_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1000) PAYMENT_MAX_PENDING_MS?: number;
  @IsOptional()
  @Matches(/^\s*\d+(\s*,\s*\d+){0,9}\s*$/, {
    message: 'must be a comma-separated list of 1 to 10 delays in ms, e.g. "300000,900000,3600000"',
  })
  PAYMENT_LATE_QUERY_DELAYS_MS?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) IDEMPOTENCY_TTL_HOURS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(256) WORKER_CONCURRENCY?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(10) @Max(10000) STATUS_SWEEP_PAGE_SIZE?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(10) @Max(1000000) STATUS_SWEEP_MAX_PER_RUN?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(86400) BALANCE_FRESHNESS_SECONDS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(120000) BALANCE_WAIT_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1000) PAYOUT_RESULT_WAIT_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) PAYOUT_FIRST_STATUS_CHECK_DELAY_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(200) PAYOUT_STATUS_CHECK_INTERVAL_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100) PAYOUT_MAX_STATUS_CHECKS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) PAYOUT_NOT_FOUND_MIN_AGE_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1000) RESULT_WAIT_MAX_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1000) BALANCE_RETRY_INTERVAL_MS?: number;

  @IsOptional() @IsBooleanString() ALERTS_ENABLED?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1000) ALERT_EVALUATION_INTERVAL_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(10) @Max(86400) ALERT_WINDOW_SECONDS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100) ALERT_FAILURE_RATE_PERCENT?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) ALERT_FAILURE_RATE_MIN_PAYMENTS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) ALERT_AVG_RESPONSE_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) ALERT_AUTH_FAILURES?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) ALERT_SYSTEM_ERRORS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(10) @Max(86400) ALERT_CALLBACK_SILENCE_SECONDS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) ALERT_CALLBACK_SILENCE_MIN_PUSHES?: number;
  @IsOptional() @IsString() ALERT_EMAIL_TO?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) ALERT_REVIEW_OPEN_MINUTES?: number;

  @IsOptional() @IsString() @MinLength(16, { message: 'must be at least 16 characters' }) METRICS_TOKEN?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535) METRICS_PORT?: number;

  @IsOptional() @IsBooleanString() RETENTION_ENABLED?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(36500) RETENTION_MASK_PHONE_AFTER_DAYS?: number;
  @IsOptional()
  @Matches(/^\s*\S+(\s+\S+){4,5}\s*$/, { message: 'must be a cron expression of 5 (or 6, with seconds) fields, e.g. "30 2 * * *"' })
  RETENTION_SWEEP_CRON?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1000) RETENTION_SWEEP_INTERVAL_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(10000) RETENTION_BATCH_SIZE?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000) RATE_LIMIT_CLIENT_PER_MINUTE?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000) RATE_LIMIT_IP_PER_MINUTE?: number;
  // Floors from issue 4: brute-force limits may be tightened down to these, never below.
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(MIN_AUTH_FAILURES_PER_MINUTE, {
    message: `must be at least ${MIN_AUTH_FAILURES_PER_MINUTE} (failed authentications a minute per IP)`,
  })
  @Max(1_000_000)
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE?: number;
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(MIN_STK_PUSHES_PER_PHONE_PER_MINUTE, {
    message: `must be at least ${MIN_STK_PUSHES_PER_PHONE_PER_MINUTE} (STK pushes a minute per phone number)`,
  })
  @Max(1_000_000)
  RATE_LIMIT_STK_PUSHES_PER_PHONE_PER_MINUTE?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000) RATE_LIMIT_REJECTED_CALLBACKS_PER_MINUTE?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0) SIMULATOR_CALLBACK_DELAY_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) SIMULATOR_LATE_CALLBACK_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) SIMULATOR_NO_ANSWER_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(5) SIMULATOR_TOKEN_TTL_SECONDS?: number;
  @IsOptional() @IsBooleanString() SIMULATOR_ENABLED?: string;
  @IsOptional() @Matches(/^rediss?:\/\/.+/, { message: 'must be a redis:// URL' }) SIMULATOR_REDIS_URL?: string;
  @IsOptional() @Matches(/^[A-Za-z0-9_-]+$/, { message: 'may hold only letters, digits, _ and -' }) SIMULATOR_REDIS_KEY_PREFIX?: string;
  @IsOptional() @IsIn(SIMULATOR_TIMESTAMP_MODES, { message: 'must be strict or lenient' }) SIMULATOR_TIMESTAMP?: SimulatorTimestampMode;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(65_535) SIMULATOR_PORT?: number;
  @IsOptional() @IsString() @IsNotEmpty() SIMULATOR_HOST?: string;
  @IsOptional() @IsString() @IsNotEmpty() SIMULATOR_RECORD_DIR?: string;
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

/** Validates the raw environment; the error message names every offending variable. */
export function validateEnv(raw: Record<string, string | undefined>): EnvironmentVariables {
  const present: Record<string, string> = {};
  for (const key of Object.keys(raw)) {
    const value = raw[key];
    if (value !== undefined && value.trim() !== '') present[key] = value.trim();
  }
  const env = plainToInstance(EnvironmentVariables, present, { excludeExtraneousValues: false });
  const errors = validateSync(env, { skipMissingProperties: false, whitelist: false });
  if (errors.length > 0) {
    throw new ConfigValidationError(errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`));
  }
  return env;
}
