import { buildConfig } from '../../src/config/configuration';
import { validateEnv } from '../../src/config/env.validation';

const load = (env: Record<string, string>) => buildConfig(validateEnv(env));

describe('metrics configuration', () => {
  it('leaves /metrics open and serves the worker on 9464 by default', () => {
    expect(load({}).metrics).toEqual({ token: undefined, workerPort: 9464 });
  });

  it('takes METRICS_TOKEN and METRICS_PORT (0 turns the worker endpoint off)', () => {
    expect(load({ METRICS_TOKEN: 'a-long-enough-token', METRICS_PORT: '0' }).metrics).toEqual({
      token: 'a-long-enough-token',
      workerPort: 0,
    });
  });

  it('names the variable when a value is unusable', () => {
    expect(() => load({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN: must be at least 16 characters/);
    expect(() => load({ METRICS_PORT: '70000' })).toThrow(/METRICS_PORT:/);
  });

  it('refuses to start in production without METRICS_TOKEN', () => {
    const production = {
      NODE_ENV: 'production',
      MPESA_ENVIRONMENT: 'production',
      MPESA_CONSUMER_KEY: 'k',
      MPESA_CONSUMER_SECRET: 's',
      MPESA_SHORTCODE: '123456',
      MPESA_PASSKEY: 'p',
      MPESA_STK_CALLBACK_URL: 'https://pay.example.com/api/payments/daraja/stk-callback',
      JWT_SECRET: 'x'.repeat(32),
      DATA_ENCRYPTION_KEY: 'ab'.repeat(32),
      MPESA_CALLBACK_SECRET: 'y'.repeat(32),
      MPESA_CALLBACK_ALLOWED_IPS: '196.201.214.200',
    };

    expect(() => load(production)).toThrow(
      /METRICS_TOKEN: is required in production \(GET \/metrics would answer anyone who can reach it\)/,
    );
    expect(() => load({ ...production, MPESA_ENVIRONMENT: 'sandbox' })).toThrow(/METRICS_TOKEN: is required in production/);
    expect(load({ ...production, METRICS_TOKEN: 'z'.repeat(16) }).metrics.token).toBe('z'.repeat(16));
  });

  it('leaves METRICS_TOKEN optional outside production', () => {
    expect(load({ NODE_ENV: 'development' }).metrics.token).toBeUndefined();
    expect(load({ NODE_ENV: 'test' }).warnings.join('\n')).not.toMatch(/METRICS_TOKEN/);
  });
});
