import { MpesaSettings, SANDBOX_PASSKEY, SANDBOX_SHORTCODE } from '../config/configuration';
import { CertificateInfo, classifyCredentialValue } from '../mpesa/security-credential';

/**
 * The Daraja settings integrations most often get wrong, as pure functions of the settings (and of what the service
 * read: the certificate, the clock skew). Each finding says what is wrong and what to do.
 */

export interface PreflightFinding {
  /** `certificate`, `callback-url`, `stk`, `c2b`, `environment`, `initiator`, `clock`. */
  check: string;
  message: string;
}

export type Severity = 'error' | 'warning' | 'info';

export interface RatedFinding extends PreflightFinding {
  severity: Severity;
}

export interface PreflightReport {
  /** Stop a production start. */
  errors: PreflightFinding[];
  /** Logged once at start. */
  warnings: PreflightFinding[];
  /** Worth knowing, nothing to fix. */
  info: PreflightFinding[];
}

/** What the service could read of the certificate file. */
export type CertificateState = { ok: true; info: CertificateInfo } | { ok: false; error: string };

/** What the service could read of the clock skew DarajaAuthService recorded. */
export type ClockSkewState = { ok: true; skewMs: number | undefined } | { ok: false; error: string };

export const CLOCK_SKEW_WARN_MS = 60_000;
export const CLOCK_SKEW_ERROR_MS = 5 * 60_000;

/** Words Safaricom rejects anywhere in a callback URL (docs/daraja.md §13.4; D-STK FAQ 1, D-C2BREG). */
export const FORBIDDEN_CALLBACK_WORDS = ['m-pesa', 'mpesa', 'safaricom', 'exec', 'exe', 'cmd', 'sql', 'query'] as const;

/** Tunnel services, fine for sandbox testing, refused for production callbacks. */
export const TUNNEL_HOST_SUFFIXES = [
  'ngrok.io',
  'ngrok-free.app',
  'ngrok.app',
  'ngrok-free.dev',
  'ngrok.dev',
  'loca.lt',
  'localtunnel.me',
  'serveo.net',
  'serveousercontent.com',
  'trycloudflare.com',
  'localhost.run',
  'lhr.life',
  'pagekite.me',
  'localto.net',
  'telebit.io',
] as const;

/** The routes the callback controller also serves without the word "mpesa" (Safaricom rejects it in URLs). */
export const NEUTRAL_CALLBACK_PREFIX = '/api/payments/daraja/';

const rate = (severity: Severity, check: string, message: string): RatedFinding => ({ severity, check, message });

export function toReport(findings: RatedFinding[]): PreflightReport {
  const pick = (severity: Severity) => findings.filter((f) => f.severity === severity).map(({ check, message }) => ({ check, message }));
  return { errors: pick('error'), warnings: pick('warning'), info: pick('info') };
}

/** Both an initiator and a way to get its credential are set: B2C, balance, reversal and status can be called. */
export function initiatorConfigured(s: MpesaSettings): boolean {
  return Boolean(s.initiatorName && (s.securityCredential || s.initiatorPassword));
}

/** The forbidden words found in a URL, case-insensitively (a word inside a longer matched word is not repeated). */
export function forbiddenCallbackWords(url: string): string[] {
  const text = url.toLowerCase();
  const found: string[] = FORBIDDEN_CALLBACK_WORDS.filter((w) => text.includes(w));
  return found.filter((w) => !found.some((other) => other !== w && other.includes(w)));
}

export function tunnelHost(url: URL): string | undefined {
  const host = url.hostname.toLowerCase();
  return TUNNEL_HOST_SUFFIXES.find((suffix) => host === suffix || host.endsWith(`.${suffix}`));
}

/** Loopback, private (RFC 1918), link-local and `.local`/`.internal` hosts: Daraja cannot reach them. */
export function privateHost(url: URL): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.internal')) return true;
  if (host === '::1' || host === '0.0.0.0') return true;
  if (host.includes(':')) return /^(fc|fd|fe80:)/.test(host); // IPv6 unique-local and link-local
  const m = /^(\d+)\.(\d+)\.\d+\.\d+$/.exec(host);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || a === 0;
}

/** The same URL with its `/mpesa/` path segment replaced by `/daraja/`, when it has one. */
export function neutralCallbackUrl(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    const path = parsed.pathname.replace(/\/m-?pesa(?=\/|$)/gi, '/daraja');
    if (path === parsed.pathname) return undefined;
    parsed.pathname = path;
    return parsed.toString();
  } catch {
    return undefined;
  }
}

function certificateName(s: MpesaSettings): string {
  return s.certificateOverridden ? `MPESA_CERTIFICATE_PATH (${s.certificatePath})` : `${s.certificatePath} (the shipped default)`;
}

const FIX_CERTIFICATE = (env: string) =>
  env === 'simulator'
    ? 'unset MPESA_CERTIFICATE_PATH to use certs/simulator.cer'
    : `unset MPESA_CERTIFICATE_PATH to use certs/${env}.cer, or point it at the ${env} certificate downloaded from the Daraja portal`;

/** The certificate that turns the initiator password into the SecurityCredential, against the environment. */
export function checkCertificate(s: MpesaSettings, cert: CertificateState): RatedFinding[] {
  const env = s.environment;
  const production = env === 'production';
  const inUse = initiatorConfigured(s);
  const name = certificateName(s);
  const fix = FIX_CERTIFICATE(env);
  if (!cert.ok) {
    const message = `${name} cannot be read (${cert.error}): B2C, balance, reversal and transaction status cannot build a SecurityCredential; ${fix}`;
    return [rate(inUse ? 'error' : 'warning', 'certificate', message)];
  }
  const info = cert.info;
  const findings: RatedFinding[] = [];
  if (info.keyType !== 'rsa') {
    findings.push(
      rate(
        inUse ? 'error' : 'warning',
        'certificate',
        `${name} holds a ${info.keyType ?? 'non-RSA'} key; the SecurityCredential needs Safaricom's RSA certificate: ${fix}`,
      ),
    );
  }
  if (info.kind === 'tls-server') {
    findings.push(
      rate(
        'error',
        'certificate',
        `${name} is an HTTPS server certificate (CN=${info.subjectCn ?? '?'}: ${info.why}), not the SecurityCredential certificate; Daraja answers 2001 "The initiator information is invalid" to credentials made with it: ${fix}`,
      ),
    );
    return findings;
  }
  if (info.known === 'simulator' && env !== 'simulator') {
    findings.push(
      rate(
        production ? 'error' : 'warning',
        'certificate',
        `${name} is the embedded simulator's certificate, whose private key is public in this repository; Daraja ${env} cannot decrypt credentials made with it: ${fix}`,
      ),
    );
  } else if (info.known === 'sandbox' && production) {
    findings.push(
      rate(
        'error',
        'certificate',
        `${name} is Safaricom's sandbox certificate but MPESA_ENVIRONMENT=production; production Daraja answers 2001 to credentials made with it: ${fix}`,
      ),
    );
  } else if (info.known === 'production' && env === 'sandbox') {
    findings.push(
      rate(
        'warning',
        'certificate',
        `${name} is Safaricom's production certificate but MPESA_ENVIRONMENT=sandbox; the sandbox answers 2001 to credentials made with it: ${fix}`,
      ),
    );
  } else if ((info.known === 'sandbox' || info.known === 'production') && env === 'simulator') {
    findings.push(
      rate(
        'warning',
        'certificate',
        `${name} is ${info.knownAs}, but the embedded simulator decrypts only credentials made with certs/simulator.cer: ${fix}`,
      ),
    );
  } else if (info.kind === 'unknown') {
    findings.push(
      rate(
        'warning',
        'certificate',
        `${name} is not a Safaricom certificate as far as this service can tell (${info.why}); if Daraja answers 2001, download the ${env} certificate from the Daraja portal. SHA-256 ${info.fingerprint256}`,
      ),
    );
  } else if (!info.known) {
    findings.push(
      rate(
        'info',
        'certificate',
        `${name} (CN=${info.subjectCn ?? '?'}) is not one this project ships; ${info.why}. Compare its fingerprint with the Daraja portal's: SHA-256 ${info.fingerprint256}`,
      ),
    );
  }
  return findings;
}

type CallbackField = 'stkCallbackUrl' | 'b2cCallbackUrl' | 'resultUrl' | 'timeoutUrl' | 'c2bValidationUrl' | 'c2bConfirmationUrl';

const CALLBACK_VARIABLES: ReadonlyArray<readonly [string, CallbackField, string, string]> = [
  ['MPESA_STK_CALLBACK_URL', 'stkCallbackUrl', 'stk-callback', 'STK results'],
  ['MPESA_B2C_CALLBACK_URL', 'b2cCallbackUrl', 'b2c-callback', 'B2C payout results'],
  ['MPESA_RESULT_URL', 'resultUrl', 'result', 'balance, reversal and transaction status results'],
  ['MPESA_TIMEOUT_URL', 'timeoutUrl', 'timeout', 'queue timeouts of the initiator APIs'],
  ['MPESA_C2B_VALIDATION_URL', 'c2bValidationUrl', 'c2b/validation', 'C2B validation requests'],
  ['MPESA_C2B_CONFIRMATION_URL', 'c2bConfirmationUrl', 'c2b/confirmation', 'C2B confirmations (Paybill and till payments)'],
];

function callbackUrlOf(s: MpesaSettings, field: CallbackField): string {
  if (field === 'c2bValidationUrl') return s.c2b.validationUrl;
  if (field === 'c2bConfirmationUrl') return s.c2b.confirmationUrl;
  return s[field];
}

/** Callback URLs Daraja will refuse, silently never call, or that cannot be reached. The simulator's own are fine. */
export function checkCallbackUrls(s: MpesaSettings): RatedFinding[] {
  if (s.environment === 'simulator') return [];
  const production = s.environment === 'production';
  const findings: RatedFinding[] = [];
  for (const [variable, field, route, what] of CALLBACK_VARIABLES) {
    const value = callbackUrlOf(s, field);
    if (!value) {
      // C2B is optional: checkC2bSettings says when one URL is set without the other.
      if ((field === 'b2cCallbackUrl' || field === 'resultUrl' || field === 'timeoutUrl') && initiatorConfigured(s)) {
        findings.push(
          rate(
            'warning',
            'callback-url',
            `${variable} is not set: ${what} have nowhere to go, so those calls fail; set it to e.g. https://<your host>${NEUTRAL_CALLBACK_PREFIX}${route}`,
          ),
        );
      }
      continue;
    }
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      findings.push(
        rate('error', 'callback-url', `${variable} is not a valid URL: give the full https:// address Daraja should POST ${what} to`),
      );
      continue;
    }
    if (production && url.protocol !== 'https:') {
      findings.push(
        rate(
          'error',
          'callback-url',
          `${variable} uses ${url.protocol.replace(':', '')}: production Daraja calls only https:// callbacks; serve it over HTTPS with a publicly trusted certificate`,
        ),
      );
    }
    if (privateHost(url)) {
      findings.push(
        rate(
          production ? 'error' : 'warning',
          'callback-url',
          `${variable} points at ${url.hostname}, which Daraja cannot reach from the internet; use this service's public address`,
        ),
      );
    }
    const tunnel = tunnelHost(url);
    if (tunnel && production) {
      findings.push(
        rate(
          'error',
          'callback-url',
          `${variable} points at a tunnel service (${tunnel}); Safaricom does not call tunnel URLs in production: use your own domain`,
        ),
      );
    }
    const words = forbiddenCallbackWords(value);
    if (words.length > 0) {
      const neutral = neutralCallbackUrl(value);
      const fix = neutral
        ? `route a path without the word, e.g. ${neutral} (the service also serves ${NEUTRAL_CALLBACK_PREFIX}...)`
        : 'choose a host and path without these words';
      findings.push(
        rate(
          production ? 'error' : 'warning',
          'callback-url',
          `${variable} contains ${words.map((w) => `"${w}"`).join(', ')}, which Safaricom rejects in callback URLs (the request fails with "Invalid CallBackURL" or the callback never comes): ${fix}`,
        ),
      );
    }
  }
  return findings;
}

/** STK is always in use: its shortcode and passkey, paybill or till, and sandbox values leaking into production. */
export function checkStkSettings(s: MpesaSettings): RatedFinding[] {
  const findings: RatedFinding[] = [];
  const production = s.environment === 'production';
  if (s.transactionType === 'CustomerPayBillOnline' && s.partyBConfigured && s.partyB !== s.shortcode) {
    findings.push(
      rate(
        production ? 'error' : 'warning',
        'stk',
        `MPESA_STK_TRANSACTION_TYPE is CustomerPayBillOnline but MPESA_STK_PARTY_B (${s.partyB}) differs from MPESA_SHORTCODE (${s.shortcode}): a Paybill push pays the paybill itself, so PartyB must be the shortcode; unset MPESA_STK_PARTY_B, or set CustomerBuyGoodsOnline if ${s.partyB} is a till`,
      ),
    );
  }
  if (s.transactionType === 'CustomerBuyGoodsOnline' && !s.partyBConfigured && s.environment !== 'simulator') {
    findings.push(
      rate(
        'warning',
        'stk',
        'MPESA_STK_TRANSACTION_TYPE is CustomerBuyGoodsOnline but MPESA_STK_PARTY_B is not set, so pushes pay MPESA_SHORTCODE: for a till, MPESA_SHORTCODE is the store (head-office) number and MPESA_STK_PARTY_B the till number; set it unless they are the same',
      ),
    );
  }
  if (!s.shortcode)
    findings.push(rate('error', 'stk', 'MPESA_SHORTCODE is not set: STK Push needs the paybill (or head-office) shortcode'));
  if (!s.passkey)
    findings.push(
      rate('error', 'stk', 'MPESA_PASSKEY is not set: STK Push needs the Lipa na M-Pesa Online passkey Safaricom sent at go-live'),
    );
  if (s.environment === 'production') {
    if (s.shortcode === SANDBOX_SHORTCODE) {
      findings.push(
        rate(
          'error',
          'stk',
          `MPESA_SHORTCODE is ${SANDBOX_SHORTCODE}, Safaricom's sandbox shortcode, with MPESA_ENVIRONMENT=production: set your production shortcode`,
        ),
      );
    }
    if (s.passkey === SANDBOX_PASSKEY) {
      findings.push(
        rate(
          'error',
          'stk',
          "MPESA_PASSKEY is Safaricom's public sandbox passkey with MPESA_ENVIRONMENT=production: set the production passkey",
        ),
      );
    }
  }
  return findings;
}

/** C2B (Paybill / till payments from the phone): optional; when set up, both URLs, served by this service's routes. */
export function checkC2bSettings(s: MpesaSettings): RatedFinding[] {
  const { validationUrl, confirmationUrl, shortCode } = s.c2b;
  if (!validationUrl && !confirmationUrl) return [];
  const findings: RatedFinding[] = [];
  if (!validationUrl || !confirmationUrl) {
    const missing = validationUrl ? 'MPESA_C2B_CONFIRMATION_URL' : 'MPESA_C2B_VALIDATION_URL';
    findings.push(
      rate(
        'warning',
        'c2b',
        `${missing} is not set: Daraja registers both C2B URLs together, so npm run c2b:register will refuse to run; set it to https://<your host>${NEUTRAL_CALLBACK_PREFIX}${missing.includes('CONFIRMATION') ? 'c2b/confirmation' : 'c2b/validation'}`,
      ),
    );
  }
  for (const [variable, value, route] of [
    ['MPESA_C2B_VALIDATION_URL', validationUrl, 'c2b/validation'],
    ['MPESA_C2B_CONFIRMATION_URL', confirmationUrl, 'c2b/confirmation'],
  ] as const) {
    if (!value) continue;
    let path: string;
    try {
      path = new URL(value).pathname.replace(/\/+$/, '');
    } catch {
      continue; // checkCallbackUrls reports it
    }
    if (!path.endsWith(`/${route}`)) {
      findings.push(
        rate(
          'warning',
          'c2b',
          `${variable} (${path}) does not end in /${route}: this service answers C2B at ${NEUTRAL_CALLBACK_PREFIX}${route}; unless a proxy rewrites the path, M-Pesa's requests will get 404`,
        ),
      );
    }
  }
  if (s.environment === 'sandbox' && shortCode === SANDBOX_SHORTCODE) {
    findings.push(
      rate(
        'warning',
        'c2b',
        `MPESA_C2B_SHORTCODE is ${SANDBOX_SHORTCODE}, the sandbox's STK-only shortcode: registering C2B URLs for it fails (docs/daraja.md §9.2); set the C2B shortcode from your app's test-credentials page (e.g. 600xxx)`,
      ),
    );
  }
  if (s.environment === 'production' && shortCode === SANDBOX_SHORTCODE) {
    findings.push(
      rate('error', 'c2b', `MPESA_C2B_SHORTCODE is ${SANDBOX_SHORTCODE}, Safaricom's sandbox shortcode, with MPESA_ENVIRONMENT=production`),
    );
  }
  return findings;
}

/** Sandbox credentials against the production host and vice versa give "Invalid Access Token" (docs/daraja.md §13.1). */
export function checkEnvironment(s: MpesaSettings): RatedFinding[] {
  let host: string;
  try {
    host = new URL(s.baseUrl).hostname;
  } catch {
    return [rate('error', 'environment', `MPESA_BASE_URL (${s.baseUrl}) is not a valid URL`)];
  }
  if (s.environment === 'production' && /(^|\.)sandbox\.safaricom\.co\.ke$/.test(host)) {
    return [
      rate(
        'error',
        'environment',
        'MPESA_BASE_URL is the sandbox host with MPESA_ENVIRONMENT=production: unset MPESA_BASE_URL (https://api.safaricom.co.ke)',
      ),
    ];
  }
  if (s.environment === 'sandbox' && /(^|\.)api\.safaricom\.co\.ke$/.test(host)) {
    return [
      rate(
        'warning',
        'environment',
        'MPESA_BASE_URL is the production host with MPESA_ENVIRONMENT=sandbox: unset MPESA_BASE_URL (https://sandbox.safaricom.co.ke) or set MPESA_ENVIRONMENT=production',
      ),
    ];
  }
  return [];
}

/** Initiator settings: only B2C, balance, reversal and status need them, so a gap is a warning, not a stop. */
export function checkInitiator(s: MpesaSettings, cert: CertificateState): RatedFinding[] {
  const findings: RatedFinding[] = [];
  const missing = [
    ...(s.initiatorName ? [] : ['MPESA_INITIATOR_NAME']),
    ...(s.securityCredential || s.initiatorPassword ? [] : ['MPESA_INITIATOR_PASSWORD (or MPESA_SECURITY_CREDENTIAL)']),
  ];
  if (missing.length > 0) {
    findings.push(
      rate(
        'warning',
        'initiator',
        `B2C, balance, reversal and transaction status will fail until MPESA_INITIATOR_NAME and MPESA_INITIATOR_PASSWORD (or MPESA_SECURITY_CREDENTIAL) are set (missing: ${missing.join(', ')})`,
      ),
    );
    return findings;
  }
  if (s.securityCredential && s.initiatorPassword && s.environment !== 'simulator') {
    findings.push(
      rate(
        'warning',
        'initiator',
        'Both MPESA_SECURITY_CREDENTIAL and MPESA_INITIATOR_PASSWORD are set: MPESA_SECURITY_CREDENTIAL is used and MPESA_INITIATOR_PASSWORD ignored; unset one',
      ),
    );
  }
  if (s.securityCredential) {
    const bits = cert.ok ? cert.info.publicKeyBits : undefined;
    const kind = classifyCredentialValue(s.securityCredential, bits ? Math.ceil(bits / 8) : undefined);
    if (kind === 'password') {
      findings.push(
        rate(
          'info',
          'initiator',
          `MPESA_SECURITY_CREDENTIAL holds a plain password: it is encrypted at start with ${s.certificatePath}; MPESA_INITIATOR_PASSWORD is the clearer place for it`,
        ),
      );
    } else if (kind === 'foreign-ciphertext') {
      findings.push(
        rate(
          'warning',
          'initiator',
          `MPESA_SECURITY_CREDENTIAL is an RSA ciphertext for a ${Buffer.from(s.securityCredential.replace(/\s+/g, ''), 'base64').length * 8}-bit key, but ${s.certificatePath} has a ${bits}-bit key: it was made with another certificate. Regenerate it on the Daraja portal for this environment, or set MPESA_INITIATOR_PASSWORD instead`,
        ),
      );
    }
  }
  if (s.environment === 'sandbox' && s.b2cShortcode === SANDBOX_SHORTCODE) {
    findings.push(
      rate(
        'warning',
        'initiator',
        `MPESA_B2C_SHORTCODE is ${SANDBOX_SHORTCODE}, the sandbox's STK-only shortcode: B2C, balance and status need the initiator shortcode from your app's test-credentials page (e.g. 600xxx); set MPESA_B2C_SHORTCODE`,
      ),
    );
  }
  return findings;
}

function duration(ms: number): string {
  const seconds = Math.round(Math.abs(ms) / 1000);
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes} min ${seconds % 60} s` : `${seconds} s`;
}

/** Our clock against Daraja's, from the `Date` header of the last OAuth answer (positive: ours is ahead). */
export function checkClockSkew(s: MpesaSettings, skew: ClockSkewState): RatedFinding[] {
  if (!skew.ok)
    return [rate('warning', 'clock', `Could not read the recorded clock skew from Redis (${skew.error}); the clock was not checked`)];
  if (skew.skewMs === undefined) {
    return [
      rate(
        'info',
        'clock',
        "No Daraja OAuth answer seen in the past day, so the clock was not compared with Daraja's; it is measured at the next token fetch",
      ),
    ];
  }
  const abs = Math.abs(skew.skewMs);
  if (abs <= CLOCK_SKEW_WARN_MS) return [];
  const severity: Severity = abs > CLOCK_SKEW_ERROR_MS && s.environment === 'production' ? 'error' : 'warning';
  return [
    rate(
      severity,
      'clock',
      `This server's clock is ${duration(skew.skewMs)} ${skew.skewMs > 0 ? 'ahead of' : 'behind'} Daraja's (from the Date header of the last OAuth answer): STK timestamps and token lifetimes are computed from it. Synchronise the clock with NTP (chrony or systemd-timesyncd)`,
    ),
  ];
}

/** Every check, in the order they are printed. */
export function preflightReport(s: MpesaSettings, cert: CertificateState, skew: ClockSkewState): PreflightReport {
  return toReport([
    ...checkEnvironment(s),
    ...checkStkSettings(s),
    ...checkCallbackUrls(s),
    ...checkC2bSettings(s),
    ...checkCertificate(s, cert),
    ...checkInitiator(s, cert),
    ...checkClockSkew(s, skew),
  ]);
}
