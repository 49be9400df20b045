import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { readFileSync } from 'node:fs';
import { mpesaConfig } from '../config/configuration';
import { DarajaAuthService } from '../mpesa/daraja-auth.service';
import { certificateInfo } from '../mpesa/security-credential';
import { CertificateState, ClockSkewState, PreflightReport, preflightReport } from './preflight-checks';

const REDIS_READ_TIMEOUT_MS = 3_000;

/** A production start refused by the preflight; the message lists what to fix. */
export class PreflightFailedError extends Error {
  constructor(readonly report: PreflightReport) {
    super(`Daraja preflight failed:\n${report.errors.map((e) => `  - [${e.check}] ${e.message}`).join('\n')}`);
    this.name = 'PreflightFailedError';
  }
}

/**
 * Checks the Daraja settings integrations most often get wrong (see preflight-checks.ts). Reads the certificate file
 * and the clock skew DarajaAuthService recorded in Redis; never fetches a token of its own.
 */
@Injectable()
export class PreflightService {
  private readonly logger = new Logger('Preflight');
  private reported = false;

  constructor(
    @Inject(mpesaConfig.KEY) private readonly settings: ConfigType<typeof mpesaConfig>,
    private readonly auth: DarajaAuthService,
  ) {}

  async run(): Promise<PreflightReport> {
    return preflightReport(this.settings, this.readCertificate(), await this.readClockSkew());
  }

  /** Errors stop a production start. */
  get blocksOnErrors(): boolean {
    return this.settings.environment === 'production';
  }

  /**
   * The start-up check: logs each finding once per process, then throws PreflightFailedError when there are errors
   * and MPESA_ENVIRONMENT=production. Elsewhere errors are logged and the start goes on.
   */
  async assertReady(): Promise<PreflightReport> {
    const report = await this.run();
    if (!this.reported) {
      this.reported = true;
      for (const f of report.info) this.logger.log(`[${f.check}] ${f.message}`);
      for (const f of report.warnings) this.logger.warn(`[${f.check}] ${f.message}`);
      if (!this.blocksOnErrors) for (const f of report.errors) this.logger.error(`[${f.check}] ${f.message}`);
    }
    if (report.errors.length > 0 && this.blocksOnErrors) throw new PreflightFailedError(report);
    return report;
  }

  private readCertificate(): CertificateState {
    try {
      return { ok: true, info: certificateInfo(readFileSync(this.settings.certificatePath)) };
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      return { ok: false, error: e.code ?? e.message ?? String(error) };
    }
  }

  private async readClockSkew(): Promise<ClockSkewState> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${REDIS_READ_TIMEOUT_MS} ms`)), REDIS_READ_TIMEOUT_MS);
      });
      return { ok: true, skewMs: await Promise.race([this.auth.lastClockSkewMs(), timeout]) };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}
