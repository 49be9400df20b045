import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildConfig, MpesaSettings, SANDBOX_PASSKEY } from '../../src/config/configuration';
import { validateEnv } from '../../src/config/env.validation';
import { certificateInfo, encryptInitiatorPassword } from '../../src/mpesa/security-credential';
import {
  CertificateState,
  checkCallbackUrls,
  checkCertificate,
  checkClockSkew,
  checkEnvironment,
  checkInitiator,
  checkStkSettings,
  forbiddenCallbackWords,
  neutralCallbackUrl,
  preflightReport,
  RatedFinding,
} from '../../src/preflight/preflight-checks';

const CERTS = join(__dirname, '..', '..', 'certs');
const cert = (name: string): CertificateState => ({ ok: true, info: certificateInfo(readFileSync(join(CERTS, name))) });

const HOST = 'https://pay.legalpro.example';
const SECRETS = {
  JWT_SECRET: 'j'.repeat(32),
  DATA_ENCRYPTION_KEY: 'ab'.repeat(32),
  MPESA_CALLBACK_SECRET: 'c'.repeat(32),
  MPESA_CALLBACK_ALLOWED_IPS: '196.201.214.200',
  METRICS_TOKEN: 'm'.repeat(16),
};
const CALLBACKS = {
  MPESA_STK_CALLBACK_URL: `${HOST}/api/payments/daraja/stk-callback`,
  MPESA_B2C_CALLBACK_URL: `${HOST}/api/payments/daraja/b2c-callback`,
  MPESA_RESULT_URL: `${HOST}/api/payments/daraja/result`,
  MPESA_TIMEOUT_URL: `${HOST}/api/payments/daraja/timeout`,
};
const INITIATOR = { MPESA_INITIATOR_NAME: 'apiop', MPESA_INITIATOR_PASSWORD: 'Secret#1' };

const production = (env: Record<string, string> = {}): MpesaSettings =>
  buildConfig(
    validateEnv({
      MPESA_ENVIRONMENT: 'production',
      MPESA_CONSUMER_KEY: 'k',
      MPESA_CONSUMER_SECRET: 's',
      MPESA_SHORTCODE: '600123',
      MPESA_PASSKEY: 'live-passkey',
      ...SECRETS,
      ...CALLBACKS,
      ...INITIATOR,
      ...env,
    }),
  ).mpesa;

const sandbox = (env: Record<string, string> = {}): MpesaSettings =>
  buildConfig(validateEnv({ MPESA_ENVIRONMENT: 'sandbox', MPESA_CONSUMER_KEY: 'k', MPESA_CONSUMER_SECRET: 's', ...CALLBACKS, ...env }))
    .mpesa;

const simulator = (env: Record<string, string> = {}): MpesaSettings => buildConfig(validateEnv(env)).mpesa;

const severities = (findings: RatedFinding[]) => findings.map((f) => f.severity);

describe('preflight: a correct production setup', () => {
  it('has nothing to report', () => {
    const report = preflightReport(production(), cert('production.cer'), { ok: true, skewMs: 800 });
    expect(report).toEqual({ errors: [], warnings: [], info: [] });
  });
});

describe('checkCertificate', () => {
  it.each([
    ['production', 'production.cer', []],
    ['sandbox', 'sandbox.cer', []],
    ['simulator', 'simulator.cer', []],
    ['production', 'sandbox.cer', ['error']],
    ['sandbox', 'production.cer', ['warning']],
    ['sandbox', 'simulator.cer', ['warning']],
    ['simulator', 'sandbox.cer', ['warning']],
  ])('MPESA_ENVIRONMENT=%s with %s: %j', (env, file, expected) => {
    const s = env === 'production' ? production() : env === 'sandbox' ? sandbox(INITIATOR) : simulator();
    expect(severities(checkCertificate(s, cert(file)))).toEqual(expected);
  });

  it('refuses the simulator certificate in production, whatever its path', () => {
    // Config refuses certs/simulator.cer by path; a copy elsewhere is caught by its key.
    const s = { ...production(), certificatePath: '/etc/daraja/prod.cer', certificateOverridden: true };
    const [finding] = checkCertificate(s, cert('simulator.cer'));
    expect(finding.severity).toBe('error');
    expect(finding.message).toMatch(/MPESA_CERTIFICATE_PATH \(\/etc\/daraja\/prod.cer\) is the embedded simulator's certificate/);
  });

  it('says what to do about a sandbox certificate in production', () => {
    const s = { ...production(), certificatePath: '/etc/daraja/sandbox.cer', certificateOverridden: true };
    expect(checkCertificate(s, cert('sandbox.cer'))[0].message).toMatch(
      /sandbox certificate but MPESA_ENVIRONMENT=production.*unset MPESA_CERTIFICATE_PATH to use certs\/production.cer/,
    );
  });

  it('refuses an HTTPS server certificate in place of the credential certificate', () => {
    const tls: CertificateState = {
      ok: true,
      info: {
        ...certificateInfo(readFileSync(join(CERTS, 'sandbox.cer'))),
        known: undefined,
        kind: 'tls-server',
        why: 'it names hosts (sandbox.safaricom.co.ke)',
      },
    };
    const [finding] = checkCertificate(sandbox(INITIATOR), tls);
    expect(finding.severity).toBe('error');
    expect(finding.message).toMatch(/HTTPS server certificate.*2001/);
  });

  it('an unreadable certificate is an error only when an initiator API is configured', () => {
    const unreadable: CertificateState = { ok: false, error: 'ENOENT' };
    expect(severities(checkCertificate(production(), unreadable))).toEqual(['error']);
    expect(severities(checkCertificate(production({ MPESA_INITIATOR_NAME: '', MPESA_INITIATOR_PASSWORD: '' }), unreadable))).toEqual([
      'warning',
    ]);
  });
});

describe('checkCallbackUrls', () => {
  it('refuses http in production', () => {
    const s = { ...production(), resultUrl: 'http://pay.legalpro.example/api/payments/daraja/result' };
    const findings = checkCallbackUrls(s);
    expect(severities(findings)).toEqual(['error']);
    expect(findings[0].message).toMatch(/^MPESA_RESULT_URL uses http: production Daraja calls only https/);
  });

  it("flags the spec's own /mpesa/ paths, with the route to use instead", () => {
    const s = production({ MPESA_STK_CALLBACK_URL: `${HOST}/api/payments/mpesa/stk-callback` });
    const [finding] = checkCallbackUrls(s);
    expect(finding.severity).toBe('error');
    expect(finding.message).toContain('MPESA_STK_CALLBACK_URL contains "mpesa"');
    expect(finding.message).toContain(`e.g. ${HOST}/api/payments/daraja/stk-callback (the service also serves /api/payments/daraja/...)`);
    expect(severities(checkCallbackUrls(sandbox({ MPESA_STK_CALLBACK_URL: `${HOST}/api/payments/mpesa/stk-callback` })))).toEqual([
      'warning',
    ]);
  });

  it.each([
    ['https://api.example.com/M-Pesa/cb', ['m-pesa']],
    ['https://safaricom-callbacks.example.com/cb', ['safaricom']],
    ['https://example.com/hooks/execute', ['exec']],
    ['https://example.com/cb.exe', ['exe']],
    ['https://example.com/cmd/cb', ['cmd']],
    ['https://example.com/mysql/cb', ['sql']],
    ['https://example.com/cb?query=1', ['query']],
    ['https://example.com/api/payments/daraja/result?kind=payout&id=1', []],
  ])('%s holds %j', (url, words) => {
    expect(forbiddenCallbackWords(url)).toEqual(words);
  });

  it('refuses tunnel hosts in production only', () => {
    const url = 'https://abc123.ngrok-free.app/api/payments/daraja/stk-callback';
    const inProduction = checkCallbackUrls(production({ MPESA_STK_CALLBACK_URL: url }));
    expect(severities(inProduction)).toEqual(['error']);
    expect(inProduction[0].message).toMatch(/^MPESA_STK_CALLBACK_URL points at a tunnel service \(ngrok-free.app\).*use your own domain/);
    expect(checkCallbackUrls(sandbox({ MPESA_STK_CALLBACK_URL: url }))).toEqual([]);
    expect(severities(checkCallbackUrls(production({ MPESA_RESULT_URL: 'https://x.trycloudflare.com/r' })))).toEqual(['error']);
  });

  it('flags addresses Daraja cannot reach', () => {
    expect(
      severities(checkCallbackUrls(sandbox({ MPESA_STK_CALLBACK_URL: 'http://192.168.1.20:3000/api/payments/daraja/stk-callback' }))),
    ).toEqual(['warning']);
  });

  it("leaves the simulator's own URLs alone", () => {
    expect(checkCallbackUrls(simulator())).toEqual([]);
  });

  it('asks for the result URLs when an initiator is configured', () => {
    const s = sandbox({ ...INITIATOR, MPESA_RESULT_URL: '', MPESA_TIMEOUT_URL: '' });
    expect(checkCallbackUrls(s).map((f) => f.message.split(' ')[0])).toEqual(['MPESA_RESULT_URL', 'MPESA_TIMEOUT_URL']);
  });

  it('suggests the neutral route', () => {
    expect(neutralCallbackUrl('https://h.example/api/payments/mpesa/b2c-callback?x=1')).toBe(
      'https://h.example/api/payments/daraja/b2c-callback?x=1',
    );
    expect(neutralCallbackUrl('https://h.example/api/payments/daraja/result')).toBeUndefined();
  });
});

describe('checkStkSettings', () => {
  it('refuses sandbox values in production', () => {
    const s = { ...production(), shortcode: '174379', passkey: SANDBOX_PASSKEY };
    expect(checkStkSettings(s).map((f) => f.message.split(' ')[0])).toEqual(['MPESA_SHORTCODE', 'MPESA_PASSKEY']);
    expect(severities(checkStkSettings(s))).toEqual(['error', 'error']);
  });

  it('needs a shortcode and a passkey', () => {
    expect(severities(checkStkSettings({ ...production(), shortcode: '', passkey: '' }))).toEqual(['error', 'error']);
  });

  it("accepts the sandbox's public values in the sandbox", () => {
    expect(checkStkSettings(sandbox())).toEqual([]);
  });
});

describe('checkEnvironment', () => {
  it('refuses the sandbox host in production', () => {
    expect(severities(checkEnvironment(production({ MPESA_BASE_URL: 'https://sandbox.safaricom.co.ke' })))).toEqual(['error']);
  });
});

describe('checkInitiator', () => {
  it('warns, without stopping, when the initiator is missing', () => {
    const [finding] = checkInitiator(sandbox(), cert('sandbox.cer'));
    expect(finding.severity).toBe('warning');
    expect(finding.message).toMatch(
      /^B2C, balance, reversal and transaction status will fail until MPESA_INITIATOR_NAME and MPESA_INITIATOR_PASSWORD \(or MPESA_SECURITY_CREDENTIAL\) are set/,
    );
    expect(
      preflightReport(production({ MPESA_INITIATOR_NAME: '', MPESA_INITIATOR_PASSWORD: '' }), cert('production.cer'), {
        ok: true,
        skewMs: 0,
      }).errors,
    ).toEqual([]);
  });

  it('notes a plain password in MPESA_SECURITY_CREDENTIAL, without its value', () => {
    const s = sandbox({ MPESA_INITIATOR_NAME: 'testapi', MPESA_SECURITY_CREDENTIAL: 'Safaricom999!*!', MPESA_B2C_SHORTCODE: '600996' });
    const findings = checkInitiator(s, cert('sandbox.cer'));
    expect(findings).toEqual([
      { severity: 'info', check: 'initiator', message: expect.stringMatching(/^MPESA_SECURITY_CREDENTIAL holds a plain password/) },
    ]);
    expect(findings[0].message).not.toContain('Safaricom999');
  });

  it('accepts a ready credential for the certificate', () => {
    const credential = encryptInitiatorPassword('x', readFileSync(join(CERTS, 'sandbox.cer')));
    expect(
      checkInitiator(
        sandbox({ MPESA_INITIATOR_NAME: 'testapi', MPESA_SECURITY_CREDENTIAL: credential, MPESA_B2C_SHORTCODE: '600996' }),
        cert('sandbox.cer'),
      ),
    ).toEqual([]);
  });

  it("warns about the sandbox's STK-only shortcode for B2C", () => {
    expect(checkInitiator(sandbox(INITIATOR), cert('sandbox.cer'))[0].message).toMatch(/^MPESA_B2C_SHORTCODE is 174379/);
  });
});

describe('checkClockSkew', () => {
  it('is only a note before any OAuth answer was seen', () => {
    expect(severities(checkClockSkew(production(), { ok: true, skewMs: undefined }))).toEqual(['info']);
  });

  it.each([
    [59_000, []],
    [-61_000, ['warning']],
    [301_000, ['error']],
  ])('production, %p ms: %j', (skewMs, expected) => {
    expect(severities(checkClockSkew(production(), { ok: true, skewMs }))).toEqual(expected);
  });

  it('is at most a warning outside production', () => {
    expect(severities(checkClockSkew(sandbox(), { ok: true, skewMs: 3_600_000 }))).toEqual(['warning']);
  });

  it('says which way and how far', () => {
    expect(checkClockSkew(production(), { ok: true, skewMs: -432_000 })[0].message).toMatch(
      /^This server's clock is 7 min 12 s behind Daraja's/,
    );
  });

  it('reports an unreadable Redis as a warning', () => {
    expect(severities(checkClockSkew(production(), { ok: false, error: 'timeout' }))).toEqual(['warning']);
  });
});
