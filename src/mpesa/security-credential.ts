import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { constants, createHash, publicEncrypt, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { mpesaConfig } from '../config/configuration';
import { DarajaConfigurationError } from './daraja-errors';

/**
 * The initiator APIs' `SecurityCredential` (docs/daraja.md §10): the plain initiator password, RSA-encrypted with the
 * public key of Safaricom's certificate for the environment, PKCS#1 v1.5 padding (not OAEP), base64.
 */

export type KnownCertificate = 'sandbox' | 'production' | 'simulator';

/**
 * The certificates this project knows, by SHA-256 of their SubjectPublicKeyInfo (only the key matters: the Safaricom
 * ones expired years ago and still work). Checked with openssl against certs/*.cer and docs/daraja.md §10.2.
 */
export const KNOWN_CERTIFICATES: Readonly<Record<string, { environment: KnownCertificate; name: string }>> = {
  bc1aba1eb634213496663c5e5b69dcda742acc8d5c2bd25eccb16e1caf66e8dc: {
    environment: 'sandbox',
    name: "Safaricom's sandbox credential certificate (CN=apicrypt.safaricom.co.ke)",
  },
  '085bf508c873dd7d69361796925d10f87b59d3f0147d148f46103c1df6464c45': {
    environment: 'production',
    name: "Safaricom's production credential certificate (CN=apigee.apicaller.safaricom.co.ke)",
  },
  c88daba53b1a765c51fe00460d337ce745f817701b3c574743ce785e266b48e9: {
    environment: 'simulator',
    name: "the embedded simulator's certificate",
  },
};

/** Hosts whose HTTPS certificates get mistaken for the credential certificate (they are not). */
const SAFARICOM_TLS_HOSTS = /^(\*\.)?([a-z0-9-]+\.)*safaricom\.co\.ke$/i;
const SAFARICOM_ISSUER = /safaricom/i;

export interface CertificateInfo {
  subject: string;
  subjectCn?: string;
  issuer: string;
  issuerCn?: string;
  validFrom: Date;
  validTo: Date;
  /** Expected for Safaricom's certificates: only their public key is used. */
  expired: boolean;
  keyType?: string;
  publicKeyBits?: number;
  fingerprint256: string;
  /** SHA-256 (hex) of the DER SubjectPublicKeyInfo: what identifies the key whatever the wrapper. */
  spkiSha256: string;
  subjectAltNames: string[];
  /** Extended key usage OIDs. Safaricom's credential certificates carry serverAuth too, so this decides nothing. */
  extendedKeyUsage: string[];
  isCa: boolean;
  /** Set when the key is one of KNOWN_CERTIFICATES. */
  known?: KnownCertificate;
  knownAs?: string;
  /**
   * - `credential`: a certificate for encrypting the initiator password (a known key, or issued by Safaricom's
   *   internal CA without host names).
   * - `tls-server`: an HTTPS server certificate (it names hosts in subjectAltName, or its CN is a safaricom.co.ke
   *   host under a public CA), e.g. the one `sandbox.safaricom.co.ke` serves. Daraja answers 2001 with it.
   * - `unknown`: neither: not from Safaricom as far as we can tell.
   */
  kind: 'credential' | 'tls-server' | 'unknown';
  /** Why `kind` was chosen, for messages. */
  why: string;
}

const CN = /(?:^|\n)CN=([^\n]*)/;

/** Reads a certificate (PEM or DER). Throws when it is not an X.509 certificate. */
export function certificateInfo(cert: string | Buffer | X509Certificate): CertificateInfo {
  const x509 = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  const key = x509.publicKey;
  const spkiSha256 = createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
  const subjectAltNames = (x509.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const subjectCn = CN.exec(x509.subject)?.[1];
  const issuerCn = CN.exec(x509.issuer)?.[1];
  const validTo = new Date(x509.validTo);
  const known = KNOWN_CERTIFICATES[spkiSha256];
  const dnsNames = subjectAltNames.filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4));

  let kind: CertificateInfo['kind'];
  let why: string;
  if (known) {
    kind = 'credential';
    why = `its key is ${known.name}`;
  } else if (dnsNames.length > 0) {
    kind = 'tls-server';
    why = `it names hosts (${dnsNames.slice(0, 3).join(', ')}) like an HTTPS server certificate; Safaricom's credential certificates name none`;
  } else if (subjectCn && SAFARICOM_TLS_HOSTS.test(subjectCn) && !SAFARICOM_ISSUER.test(x509.issuer)) {
    kind = 'tls-server';
    why = `it is issued to ${subjectCn} by ${issuerCn ?? 'a public CA'}, like an HTTPS server certificate`;
  } else if (SAFARICOM_ISSUER.test(x509.issuer)) {
    kind = 'credential';
    why = `it is issued by ${issuerCn ?? 'Safaricom'} and names no hosts, like Safaricom's credential certificates`;
  } else {
    kind = 'unknown';
    why = `it is neither a certificate this project knows nor one issued by Safaricom (issuer ${issuerCn ?? x509.issuer.replace(/\n/g, ', ')})`;
  }

  return {
    subject: x509.subject.replace(/\n/g, ', '),
    subjectCn,
    issuer: x509.issuer.replace(/\n/g, ', '),
    issuerCn,
    validFrom: new Date(x509.validFrom),
    validTo,
    expired: validTo.getTime() < Date.now(),
    keyType: key.asymmetricKeyType,
    publicKeyBits: key.asymmetricKeyDetails?.modulusLength,
    fingerprint256: x509.fingerprint256,
    spkiSha256,
    subjectAltNames,
    extendedKeyUsage: x509.keyUsage ?? [],
    isCa: x509.ca,
    known: known?.environment,
    knownAs: known?.name,
    kind,
    why,
  };
}

/** The SecurityCredential for a password: RSA PKCS#1 v1.5 with the certificate's public key, base64. Random each time. */
export function encryptInitiatorPassword(password: string, cert: string | Buffer | X509Certificate): string {
  const x509 = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  return publicEncrypt({ key: x509.publicKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(password, 'utf8')).toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function compact(value: string): string {
  return value.replace(/\s+/g, '');
}

/** Base64 that decodes to exactly the key's modulus length: what an RSA ciphertext made with that key is. */
export function looksLikeRsaCiphertext(value: string, modulusBytes: number): boolean {
  const text = compact(value);
  if (!BASE64.test(text) || text.length % 4 !== 0) return false;
  return Buffer.from(text, 'base64').length === modulusBytes;
}

/**
 * What MPESA_SECURITY_CREDENTIAL holds:
 * - `ciphertext`: made with the configured certificate's key (or, when that key is unknown, any RSA-sized ciphertext);
 * - `foreign-ciphertext`: an RSA ciphertext of another key size: made with another certificate, sent as it is;
 * - `password`: anything else (the spec's sandbox example puts the plain password there).
 */
export function classifyCredentialValue(value: string, modulusBytes?: number): 'ciphertext' | 'foreign-ciphertext' | 'password' {
  if (modulusBytes !== undefined && looksLikeRsaCiphertext(value, modulusBytes)) return 'ciphertext';
  // 1024- to 4096-bit RSA: no password is 172+ characters of base64.
  const rsaSized = [128, 256, 384, 512].some((n) => looksLikeRsaCiphertext(value, n));
  if (!rsaSized) return 'password';
  return modulusBytes === undefined ? 'ciphertext' : 'foreign-ciphertext';
}

export interface LoadedCertificate {
  path: string;
  x509: X509Certificate;
  info: CertificateInfo;
}

/** Reads and parses the certificate file; the error names the path and MPESA_CERTIFICATE_PATH. */
export function loadCertificate(path: string): LoadedCertificate {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new DarajaConfigurationError(
      `Cannot read the SecurityCredential certificate ${path} (${code}): set MPESA_CERTIFICATE_PATH to Safaricom's certificate for this environment`,
      ['MPESA_CERTIFICATE_PATH'],
    );
  }
  try {
    const x509 = new X509Certificate(raw);
    return { path, x509, info: certificateInfo(x509) };
  } catch (error) {
    throw new DarajaConfigurationError(
      `${path} is not an X.509 certificate (${(error as Error).message}): set MPESA_CERTIFICATE_PATH to the .cer file from the Daraja portal`,
      ['MPESA_CERTIFICATE_PATH'],
    );
  }
}

/** Where the SecurityCredential comes from, for logs and the preflight (never the value). */
export type CredentialSource =
  'MPESA_SECURITY_CREDENTIAL' | 'MPESA_SECURITY_CREDENTIAL (plain password)' | 'MPESA_INITIATOR_PASSWORD' | 'none';

/**
 * The initiator name and SecurityCredential for B2C, Account Balance, Reversal and Transaction Status. Missing
 * settings do not stop the boot (only those APIs need them): the APIs throw a DarajaConfigurationError naming the
 * variable. The credential is derived from config once and kept in memory; every process derives an equivalent one.
 */
@Injectable()
export class SecurityCredentialService implements OnModuleInit {
  private readonly logger = new Logger(SecurityCredentialService.name);
  private cached?: string;

  constructor(@Inject(mpesaConfig.KEY) private readonly settings: ConfigType<typeof mpesaConfig>) {}

  /** Computes the credential at boot when one is configured, so the log says at once what was done with it. */
  onModuleInit(): void {
    if (this.source() === 'none') return;
    try {
      this.credential();
    } catch (error) {
      // Not fatal here: the initiator APIs fail with this message, and the preflight reports it.
      this.logger.warn(error instanceof Error ? error.message : String(error));
    }
  }

  source(): CredentialSource {
    if (this.settings.securityCredential) {
      return this.kindOfConfiguredCredential() === 'password' ? 'MPESA_SECURITY_CREDENTIAL (plain password)' : 'MPESA_SECURITY_CREDENTIAL';
    }
    return this.settings.initiatorPassword ? 'MPESA_INITIATOR_PASSWORD' : 'none';
  }

  initiatorName(): string {
    const name = this.settings.initiatorName;
    if (!name) {
      throw new DarajaConfigurationError(
        'MPESA_INITIATOR_NAME is not set: B2C, account balance, reversal and transaction status need the API operator (initiator) username',
        ['MPESA_INITIATOR_NAME'],
      );
    }
    return name;
  }

  credential(): string {
    this.cached ??= this.compute();
    return this.cached;
  }

  private compute(): string {
    const { securityCredential, initiatorPassword } = this.settings;
    if (securityCredential) {
      const kind = this.kindOfConfiguredCredential();
      if (kind === 'ciphertext') return compact(securityCredential);
      if (kind === 'foreign-ciphertext') {
        this.logger.warn(
          `MPESA_SECURITY_CREDENTIAL is an RSA ciphertext of another key size than ${basename(this.settings.certificatePath)}: sending it as it is; Daraja answers 2001 if it was made with the wrong certificate`,
        );
        return compact(securityCredential);
      }
      const cert = loadCertificate(this.settings.certificatePath);
      this.logger.log(`MPESA_SECURITY_CREDENTIAL holds a plain password: encrypting it with ${describe(cert)}`);
      return encryptInitiatorPassword(securityCredential, cert.x509);
    }
    if (initiatorPassword) {
      const cert = loadCertificate(this.settings.certificatePath);
      this.logger.log(`Encrypting MPESA_INITIATOR_PASSWORD with ${describe(cert)}`);
      return encryptInitiatorPassword(initiatorPassword, cert.x509);
    }
    throw new DarajaConfigurationError(
      'No initiator credential: set MPESA_INITIATOR_PASSWORD (the plain password, encrypted at start) or MPESA_SECURITY_CREDENTIAL (already encrypted)',
      ['MPESA_INITIATOR_PASSWORD', 'MPESA_SECURITY_CREDENTIAL'],
    );
  }

  private kindOfConfiguredCredential(): ReturnType<typeof classifyCredentialValue> {
    let modulusBytes: number | undefined;
    try {
      const bits = loadCertificate(this.settings.certificatePath).info.publicKeyBits;
      modulusBytes = bits ? Math.ceil(bits / 8) : undefined;
    } catch {
      modulusBytes = undefined; // unreadable certificate: judge by shape alone
    }
    return classifyCredentialValue(this.settings.securityCredential ?? '', modulusBytes);
  }
}

function describe(cert: LoadedCertificate): string {
  return `${cert.path}${cert.info.knownAs ? ` (${cert.info.knownAs})` : cert.info.subjectCn ? ` (CN=${cert.info.subjectCn})` : ''}`;
}
