import { Logger } from '@nestjs/common';
import { join } from 'node:path';
import { buildConfig } from '../../src/config/configuration';
import { validateEnv } from '../../src/config/env.validation';
import { DarajaAuthService } from '../../src/mpesa/daraja-auth.service';
import { PreflightFailedError, PreflightService } from '../../src/preflight/preflight.service';

const CERTS = join(__dirname, '..', '..', 'certs');
const PRODUCTION = {
  MPESA_ENVIRONMENT: 'production',
  MPESA_CONSUMER_KEY: 'k',
  MPESA_CONSUMER_SECRET: 's',
  MPESA_SHORTCODE: '600123',
  MPESA_PASSKEY: 'live-passkey',
  MPESA_STK_CALLBACK_URL: 'https://pay.legalpro.example/api/payments/daraja/stk-callback',
  JWT_SECRET: 'j'.repeat(32),
  DATA_ENCRYPTION_KEY: 'ab'.repeat(32),
  MPESA_CALLBACK_SECRET: 'c'.repeat(32),
  MPESA_CALLBACK_ALLOWED_IPS: '196.201.214.200',
  METRICS_TOKEN: 'm'.repeat(16),
};

function service(env: Record<string, string>, skew: () => Promise<number | undefined> = async () => 1_000) {
  const auth = { lastClockSkewMs: jest.fn(skew) };
  return { preflight: new PreflightService(buildConfig(validateEnv(env)).mpesa, auth as unknown as DarajaAuthService), auth };
}

beforeAll(() => Logger.overrideLogger(false));

describe(PreflightService.name, () => {
  it('lets a sound production configuration start, without an initiator', async () => {
    const { preflight } = service(PRODUCTION);
    const report = await preflight.assertReady();
    expect(report.errors).toEqual([]);
    expect(report.warnings.map((w) => w.check)).toEqual(['initiator']);
  });

  it('stops a production start on errors, listing them', async () => {
    const { preflight } = service({ ...PRODUCTION, MPESA_CERTIFICATE_PATH: join(CERTS, 'sandbox.cer') });
    const error = await preflight.assertReady().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreflightFailedError);
    expect((error as Error).message).toMatch(
      /\[certificate\] MPESA_CERTIFICATE_PATH .*sandbox certificate but MPESA_ENVIRONMENT=production/,
    );
  });

  it('logs errors outside production and goes on', async () => {
    const { preflight } = service({
      MPESA_ENVIRONMENT: 'sandbox',
      MPESA_CONSUMER_KEY: 'k',
      MPESA_CONSUMER_SECRET: 's',
      MPESA_STK_CALLBACK_URL: 'https://pay.legalpro.example/cb',
      MPESA_INITIATOR_NAME: 'testapi',
      MPESA_INITIATOR_PASSWORD: 'pw',
      MPESA_CERTIFICATE_PATH: '/nonexistent.cer',
    });
    const report = await preflight.assertReady();
    expect(report.errors.map((e) => e.check)).toEqual(['certificate']);
  });

  it('reads the clock skew that the token fetch recorded, and survives a Redis failure', async () => {
    const { preflight, auth } = service(PRODUCTION, async () => {
      throw new Error('Connection is closed.');
    });
    const report = await preflight.run();
    expect(auth.lastClockSkewMs).toHaveBeenCalledTimes(1);
    expect(report.warnings).toContainEqual({
      check: 'clock',
      message: expect.stringMatching(/Could not read the recorded clock skew from Redis \(Connection is closed.\)/),
    });
  });
});
