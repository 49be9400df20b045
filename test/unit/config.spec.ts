import { buildConfig } from '../../src/config/configuration';
import { ConfigValidationError, validateEnv } from '../../src/config/env.validation';

const load = (env: Record<string, string>) => buildConfig(validateEnv(env));

describe('configuration', () => {
  it('defaults to the simulator with working local values when there is no consumer key', () => {
    const config = load({});
    expect(config.mpesa.environment).toBe('simulator');
    expect(config.mpesa.baseUrl).toBe('http://127.0.0.1:3000/simulator/daraja');
    expect(config.mpesa.stkCallbackUrl).toBe('http://127.0.0.1:3000/api/payments/mpesa/stk-callback');
    expect(config.simulator.enabled).toBe(true);
    expect(config.warnings).toContain('JWT_SECRET is not set: using an insecure development value');
  });

  it('names the variable that is wrong', () => {
    expect(() => load({ MPESA_ENVIRONMENT: 'staging' })).toThrow(/MPESA_ENVIRONMENT: .*sandbox, production, simulator/);
    expect(() => load({ PORT: 'eighty' })).toThrow(/PORT:/);
  });

  it("signs the default endpoint's webhooks with WEBHOOK_SECRET, then WEBHOOK_SECRET_PREVIOUS while it is set", () => {
    const current = 'current-webhook-secret-0123';
    const previous = 'previous-webhook-secret-012';
    expect(load({ WEBHOOK_SECRET: current }).notifications.webhookSecrets).toEqual([current]);
    expect(load({ WEBHOOK_SECRET: current, WEBHOOK_SECRET_PREVIOUS: previous }).notifications.webhookSecrets).toEqual([current, previous]);
    expect(load({ WEBHOOK_SECRET: current, WEBHOOK_SECRET_PREVIOUS: current }).notifications.webhookSecrets).toEqual([current]);
    expect(() => load({ WEBHOOK_SECRET: current, WEBHOOK_SECRET_PREVIOUS: 'short' })).toThrow(
      /WEBHOOK_SECRET_PREVIOUS: must be at least 16/,
    );
  });

  it('treats an empty variable as unset', () => {
    expect(load({ MPESA_ENVIRONMENT: '', PORT: ' ' }).mpesa.environment).toBe('simulator');
  });

  it('uses the sandbox when a consumer key is given, and asks for its callback URL', () => {
    expect(() => load({ MPESA_CONSUMER_KEY: 'k', MPESA_CONSUMER_SECRET: 's' })).toThrow(
      /MPESA_STK_CALLBACK_URL: is required when MPESA_ENVIRONMENT=sandbox/,
    );
    const config = load({
      MPESA_CONSUMER_KEY: 'k',
      MPESA_CONSUMER_SECRET: 's',
      MPESA_STK_CALLBACK_URL: 'https://pay.example.com/api/payments/mpesa/stk-callback',
    });
    expect(config.mpesa.baseUrl).toBe('https://sandbox.safaricom.co.ke');
    expect(config.simulator.enabled).toBe(false);
  });

  it('refuses production with http callbacks, missing secrets, or the simulator', () => {
    let error: ConfigValidationError | undefined;
    try {
      load({
        MPESA_ENVIRONMENT: 'production',
        MPESA_CONSUMER_KEY: 'k',
        MPESA_CONSUMER_SECRET: 's',
        MPESA_SHORTCODE: '600000',
        MPESA_PASSKEY: 'p',
        MPESA_STK_CALLBACK_URL: 'http://pay.example.com/cb',
        SIMULATOR_ENABLED: 'true',
      });
    } catch (e) {
      error = e as ConfigValidationError;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect(error?.problems).toEqual(
      expect.arrayContaining([
        'MPESA_STK_CALLBACK_URL: must use https:// in production',
        'JWT_SECRET: is required in production',
        'DATA_ENCRYPTION_KEY: is required in production',
        'MPESA_CALLBACK_SECRET: is required in production',
        'SIMULATOR_ENABLED: the embedded simulator cannot run in production (MPESA_ENVIRONMENT=production)',
      ]),
    );
  });

  it('refuses production without a callback allowlist, unless MPESA_CALLBACK_ALLOW_ANY_IP says so', () => {
    const production = {
      MPESA_ENVIRONMENT: 'production',
      MPESA_CONSUMER_KEY: 'k',
      MPESA_CONSUMER_SECRET: 's',
      MPESA_SHORTCODE: '600000',
      MPESA_PASSKEY: 'p',
      MPESA_STK_CALLBACK_URL: 'https://pay.example.com/cb',
      JWT_SECRET: 'j'.repeat(32),
      DATA_ENCRYPTION_KEY: 'ab'.repeat(32),
      MPESA_CALLBACK_SECRET: 'c'.repeat(32),
      METRICS_TOKEN: 'm'.repeat(16),
    };
    expect(() => load(production)).toThrow(/MPESA_CALLBACK_ALLOWED_IPS: is required in production/);
    expect(load({ ...production, MPESA_CALLBACK_ALLOWED_IPS: '196.201.214.200' }).mpesa.callbackAllowedIps).toEqual(['196.201.214.200']);
    expect(load({ ...production, MPESA_CALLBACK_ALLOW_ANY_IP: 'true' }).mpesa.callbackAllowAnyIp).toBe(true);
  });

  it('refuses the simulator when NODE_ENV is production', () => {
    expect(() => load({ NODE_ENV: 'production' })).toThrow(/MPESA_ENVIRONMENT: the simulator cannot be used in production/);
  });

  describe('in production', () => {
    /** A start NODE_ENV=production accepts: the sandbox, every secret and allowlist set. */
    const sandboxInProduction = {
      NODE_ENV: 'production',
      MPESA_ENVIRONMENT: 'sandbox',
      MPESA_CONSUMER_KEY: 'k',
      MPESA_CONSUMER_SECRET: 's',
      MPESA_STK_CALLBACK_URL: 'https://pay.example.com/api/payments/daraja/stk-callback',
      JWT_SECRET: 'j'.repeat(32),
      DATA_ENCRYPTION_KEY: 'ab'.repeat(32),
      MPESA_CALLBACK_SECRET: 'c'.repeat(32),
      MPESA_CALLBACK_ALLOWED_IPS: '196.201.214.200',
      METRICS_TOKEN: 'm'.repeat(16),
    };

    it('starts with a complete sandbox configuration and the simulator off', () => {
      expect(load(sandboxInProduction).simulator.enabled).toBe(false);
    });

    it('refuses SIMULATOR_ENABLED=true when NODE_ENV=production, whatever MPESA_ENVIRONMENT says', () => {
      expect(() => load({ ...sandboxInProduction, SIMULATOR_ENABLED: 'true' })).toThrow(
        /SIMULATOR_ENABLED: the embedded simulator cannot run in production \(NODE_ENV=production\)/,
      );
      expect(() => load({ ...sandboxInProduction, MPESA_ENVIRONMENT: 'simulator' })).toThrow(
        /MPESA_ENVIRONMENT: the simulator cannot be used in production/,
      );
    });

    it('lets SIMULATOR_ENABLED=true run beside the sandbox outside production', () => {
      expect(load({ ...sandboxInProduction, NODE_ENV: 'development', SIMULATOR_ENABLED: 'true' }).simulator.enabled).toBe(true);
    });
  });

  describe('MPESA_B2C_API_VERSION', () => {
    it('is v3 by default and when set to v3', () => {
      expect(() => load({})).not.toThrow();
      expect(() => load({ MPESA_B2C_API_VERSION: 'v3' })).not.toThrow();
    });

    it('refuses v1, naming the variable and why: without an OriginatorConversationID a resent payout could pay twice', () => {
      expect(() => load({ MPESA_B2C_API_VERSION: 'v1' })).toThrow(
        /MPESA_B2C_API_VERSION: must be v3: v1 sends no OriginatorConversationID, so Daraja cannot refuse a resent payout as a duplicate/,
      );
    });
  });

  describe('JWT settings', () => {
    it('allows tokens a day old at most, and checks no issuer or audience, by default', () => {
      expect(load({}).app).toMatchObject({ jwtMaxAgeSeconds: 86_400, jwtIssuer: undefined, jwtAudience: undefined });
    });

    it('takes JWT_MAX_AGE_SECONDS, JWT_ISSUER and JWT_AUDIENCE', () => {
      const app = load({ JWT_MAX_AGE_SECONDS: '3600', JWT_ISSUER: 'https://legalpro.example', JWT_AUDIENCE: 'legalpro-payments' }).app;
      expect(app).toMatchObject({ jwtMaxAgeSeconds: 3600, jwtIssuer: 'https://legalpro.example', jwtAudience: 'legalpro-payments' });
    });

    it('refuses a maximum age below a minute or above 30 days, naming the variable', () => {
      expect(() => load({ JWT_MAX_AGE_SECONDS: '59' })).toThrow(/JWT_MAX_AGE_SECONDS:/);
      expect(() => load({ JWT_MAX_AGE_SECONDS: '2592001' })).toThrow(/JWT_MAX_AGE_SECONDS:/);
      expect(() => load({ JWT_MAX_AGE_SECONDS: 'a day' })).toThrow(/JWT_MAX_AGE_SECONDS:/);
    });
  });
});
