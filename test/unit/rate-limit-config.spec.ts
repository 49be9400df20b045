import { buildConfig } from '../../src/config/configuration';
import { validateEnv } from '../../src/config/env.validation';

const load = (env: Record<string, string>) => buildConfig(validateEnv(env));

describe('rate limit settings', () => {
  it('defaults to limits a LegalPro backend never meets, and to the brute-force floors', () => {
    expect(load({}).rateLimits).toEqual({
      perClient: 3000,
      perIp: 30000,
      authFailuresPerIp: 30,
      stkPushesPerPhone: 5,
      rejectedCallbacksPerIp: 30,
    });
  });

  it('takes each limit from its variable', () => {
    const limits = load({
      RATE_LIMIT_CLIENT_PER_MINUTE: '5',
      RATE_LIMIT_IP_PER_MINUTE: '12',
      RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '30',
      RATE_LIMIT_STK_PUSHES_PER_PHONE_PER_MINUTE: '5',
      RATE_LIMIT_REJECTED_CALLBACKS_PER_MINUTE: '7',
    }).rateLimits;
    expect(limits).toEqual({ perClient: 5, perIp: 12, authFailuresPerIp: 30, stkPushesPerPhone: 5, rejectedCallbacksPerIp: 7 });
  });

  it('refuses fewer than 30 failed authentications a minute per IP, naming the variable', () => {
    expect(() => load({ RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '29' })).toThrow(
      /RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: must be at least 30 \(failed authentications a minute per IP\)/,
    );
  });

  it('refuses fewer than 5 STK pushes a minute per phone, naming the variable', () => {
    expect(() => load({ RATE_LIMIT_STK_PUSHES_PER_PHONE_PER_MINUTE: '4' })).toThrow(
      /RATE_LIMIT_STK_PUSHES_PER_PHONE_PER_MINUTE: must be at least 5 \(STK pushes a minute per phone number\)/,
    );
  });

  it('refuses a limit that is not a whole number', () => {
    expect(() => load({ RATE_LIMIT_CLIENT_PER_MINUTE: 'lots' })).toThrow(/RATE_LIMIT_CLIENT_PER_MINUTE:/);
    expect(() => load({ RATE_LIMIT_IP_PER_MINUTE: '0' })).toThrow(/RATE_LIMIT_IP_PER_MINUTE:/);
  });
});
