import { registerAs } from '@nestjs/config';
import { plainToInstance, Transform } from 'class-transformer';
import { IsBooleanString, IsNumber, IsOptional, IsString, Matches, Max, Min, validateSync } from 'class-validator';
import { normalizeKenyanPhone } from '../common/phone-number';
import { Config, loadConfig } from '../config/configuration';
import { ConfigValidationError } from '../config/env.validation';

/** Daraja keeps 48 hours of Pull Transactions (docs/daraja.md §17.3): no window may reach further back. */
export const PULL_HISTORY_MINUTES = 48 * 60;

const toNumber = ({ value }: { value: unknown }) => (value === undefined ? undefined : Number(value));

/**
 * The variables this module reads. They live here, beside the module, in their own `reconciliation` namespace; like
 * src/config's, an empty value counts as unset and a bad one stops the start with the variable's name.
 */
export class ReconciliationEnvironment {
  @IsOptional() @IsBooleanString() PULL_ENABLED?: string;
  @IsOptional() @Matches(/^\d{5,7}$/, { message: 'must be a 5-7 digit shortcode' }) PULL_SHORTCODE?: string;
  @IsOptional() @IsString() PULL_NOMINATED_NUMBER?: string;
  @IsOptional() @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL without spaces' }) PULL_CALLBACK_URL?: string;
  // Minutes, decimals allowed (a test runs every few seconds); a day at most.
  @IsOptional() @Transform(toNumber) @IsNumber() @Min(0.01) @Max(1440) PULL_INTERVAL_MINUTES?: number;
  @IsOptional() @Transform(toNumber) @IsNumber() @Min(0.01) @Max(PULL_HISTORY_MINUTES) PULL_WINDOW_MINUTES?: number;
  @IsOptional() @Transform(toNumber) @IsNumber() @Min(1) @Max(500) PULL_MAX_PAGES?: number;
  @IsOptional()
  @Matches(/^\s*\S+(\s+\S+){4,5}\s*$/, { message: 'must be a cron expression of 5 (or 6, with seconds) fields, e.g. "15 1 * * *"' })
  RECONCILIATION_DAILY_CRON?: string;
}

export interface ReconciliationSettings {
  /** PULL_ENABLED: the scheduled Pull run and the daily reconciliation (default on). */
  pullEnabled: boolean;
  /** The shortcode Pull registers and queries (PULL_SHORTCODE, else MPESA_SHORTCODE). */
  shortCode: string;
  /** The MSISDN on the shortcode's KYC record (PULL_NOMINATED_NUMBER), as 2547XXXXXXXX. */
  nominatedNumber?: string;
  /** PULL_CALLBACK_URL: Daraja requires one at registration, though nothing is known to be posted to it. */
  callbackUrl?: string;
  intervalMs: number;
  windowMs: number;
  maxPages: number;
  /** When the previous Kenya day is reconciled through Pull (Africa/Nairobi). */
  dailyCron: string;
  /** The C2B and STK shortcode, and the B2C one: which of our records a statement of a given shortcode must show. */
  paymentsShortCode: string;
  payoutsShortCode: string;
  /** Said once at start-up. */
  warnings: string[];
}

/** Turns the variables into settings; throws ConfigValidationError naming every bad variable. */
export function buildReconciliationSettings(
  raw: Record<string, string | undefined>,
  config: Pick<Config, 'mpesa' | 'app'>,
): ReconciliationSettings {
  const present: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) if (value !== undefined && value.trim() !== '') present[key] = value.trim();
  const env = plainToInstance(ReconciliationEnvironment, present);
  const errors = validateSync(env, { whitelist: false });
  const problems = errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`);
  const warnings: string[] = [];
  const isSimulator = config.mpesa.environment === 'simulator';

  let nominatedNumber: string | undefined;
  if (env.PULL_NOMINATED_NUMBER) {
    nominatedNumber = normalizeKenyanPhone(env.PULL_NOMINATED_NUMBER);
    if (!nominatedNumber) problems.push('PULL_NOMINATED_NUMBER: must be a Safaricom number (2547XXXXXXXX), not the shortcode');
  } else if (isSimulator) nominatedNumber = '254722000000';

  const intervalMinutes = env.PULL_INTERVAL_MINUTES ?? 60;
  const windowMinutes = env.PULL_WINDOW_MINUTES ?? 120;
  if (windowMinutes < intervalMinutes) {
    problems.push(
      `PULL_WINDOW_MINUTES: must be at least PULL_INTERVAL_MINUTES (${intervalMinutes}), or transactions between two windows are never pulled`,
    );
  } else if (windowMinutes < 2 * intervalMinutes) {
    warnings.push('PULL_WINDOW_MINUTES is less than twice PULL_INTERVAL_MINUTES: a run that starts late may miss the edge of a window');
  }
  if (problems.length) throw new ConfigValidationError(problems);

  return {
    pullEnabled: env.PULL_ENABLED ? env.PULL_ENABLED === 'true' : true,
    shortCode: env.PULL_SHORTCODE ?? config.mpesa.shortcode,
    nominatedNumber,
    callbackUrl: env.PULL_CALLBACK_URL ?? (isSimulator ? `${config.app.publicBaseUrl}/api/mpesa/pull/callback` : undefined),
    intervalMs: Math.round(intervalMinutes * 60_000),
    windowMs: Math.round(windowMinutes * 60_000),
    maxPages: Math.floor(env.PULL_MAX_PAGES ?? 50),
    dailyCron: env.RECONCILIATION_DAILY_CRON ?? '15 1 * * *',
    paymentsShortCode: config.mpesa.shortcode,
    payoutsShortCode: config.mpesa.b2cShortcode,
    warnings,
  };
}

export const reconciliationConfig = registerAs('reconciliation', () => buildReconciliationSettings(process.env, loadConfig()));
