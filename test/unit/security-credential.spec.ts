import { Logger } from '@nestjs/common';
import { constants, privateDecrypt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildConfig, MpesaSettings, SHIPPED_CERTIFICATES } from '../../src/config/configuration';
import { validateEnv } from '../../src/config/env.validation';
import { DarajaConfigurationError } from '../../src/mpesa/daraja-errors';
import {
  certificateInfo,
  classifyCredentialValue,
  encryptInitiatorPassword,
  looksLikeRsaCiphertext,
  SecurityCredentialService,
} from '../../src/mpesa/security-credential';

const CERTS = join(__dirname, '..', '..', 'certs');
const simulatorCert = readFileSync(join(CERTS, 'simulator.cer'), 'utf8');
const simulatorKey = readFileSync(join(CERTS, 'simulator.key'), 'utf8');

// The TLS server certificate of sandbox.safaricom.co.ke (DigiCert, 2018), which some SDKs ship as the "sandbox
// certificate" (docs/daraja.md §10.2 (c): martinmogusu/django-daraja certs/sandbox.cer, SHA-256 12:2A:C9:...:18:F7).
const SANDBOX_TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIGKzCCBROgAwIBAgIQDL7NH8cxSdUpl0ihH0A1wTANBgkqhkiG9w0BAQsFADBN
MQswCQYDVQQGEwJVUzEVMBMGA1UEChMMRGlnaUNlcnQgSW5jMScwJQYDVQQDEx5E
aWdpQ2VydCBTSEEyIFNlY3VyZSBTZXJ2ZXIgQ0EwHhcNMTgwODI3MDAwMDAwWhcN
MTkwNDA0MTIwMDAwWjBuMQswCQYDVQQGEwJLRTEQMA4GA1UEBxMHTmFpcm9iaTEW
MBQGA1UEChMNU2FmYXJpY29tIFBMQzETMBEGA1UECxMKRGlnaXRhbCBJVDEgMB4G
A1UEAxMXc2FuZGJveC5zYWZhcmljb20uY28ua2UwggEiMA0GCSqGSIb3DQEBAQUA
A4IBDwAwggEKAoIBAQC78yeC/wLoZY6TJeqc4g/9eAKIpeCwEsjX09pD8ZxAGXqT
Oi7ssdIGJBPmJZNeEVyf8ocFhisCuLngJ9Z5e/AvH52PhrEFmVu2D03zSf4C+rhZ
ndEKP6G79pUAb/bemOliU9zM8xYYkpCRzPWUzk6zSDarg0ZDLw5FrtZj/VJ9YEDL
WGgAfwExEgSN3wjyUlJ2UwI3wqQXLka0VNFWoZxUH5j436gbSWRIL6NJUmrq8V8S
aTEPz3eJHj3NOToDu245c7VKdF/KExyZjRjD2p5I+Aip80TXzKlZj6DjMb3DlfXF
Hsnu0+1uJE701mvKX7BiscxKr8tCRphL63as4dqvAgMBAAGjggLkMIIC4DAfBgNV
HSMEGDAWgBQPgGEcgjFh1S8o541GOLQs4cbZ4jAdBgNVHQ4EFgQUzZmY7ZORLw9w
qRbAQN5m9lJ28qMwIgYDVR0RBBswGYIXc2FuZGJveC5zYWZhcmljb20uY28ua2Uw
DgYDVR0PAQH/BAQDAgWgMB0GA1UdJQQWMBQGCCsGAQUFBwMBBggrBgEFBQcDAjBr
BgNVHR8EZDBiMC+gLaArhilodHRwOi8vY3JsMy5kaWdpY2VydC5jb20vc3NjYS1z
aGEyLWc2LmNybDAvoC2gK4YpaHR0cDovL2NybDQuZGlnaWNlcnQuY29tL3NzY2Et
c2hhMi1nNi5jcmwwTAYDVR0gBEUwQzA3BglghkgBhv1sAQEwKjAoBggrBgEFBQcC
ARYcaHR0cHM6Ly93d3cuZGlnaWNlcnQuY29tL0NQUzAIBgZngQwBAgIwfAYIKwYB
BQUHAQEEcDBuMCQGCCsGAQUFBzABhhhodHRwOi8vb2NzcC5kaWdpY2VydC5jb20w
RgYIKwYBBQUHMAKGOmh0dHA6Ly9jYWNlcnRzLmRpZ2ljZXJ0LmNvbS9EaWdpQ2Vy
dFNIQTJTZWN1cmVTZXJ2ZXJDQS5jcnQwCQYDVR0TBAIwADCCAQUGCisGAQQB1nkC
BAIEgfYEgfMA8QB2AKS5CZC0GFgUh7sTosxncAo8NZgE+RvfuON3zQ7IDdwQAAAB
ZXs1FvEAAAQDAEcwRQIgBzVMkm7SNprjJ1GBqiXIc9rNzY+y7gt6s/O02oMkyFoC
IQDBuThGlpmUKpeZoHhK6HGwB4jDMIecmKaOcMS18R2jxwB3AId1v+dZfPiMQ5lf
vfNu/1aNR1Y2/0q1YMG06v9eoIMPAAABZXs1F8IAAAQDAEgwRgIhAIRq2XFiC+RS
uDCYq8ICJg0QafSV+e9BLpJnElEdaSjiAiEAyiiW4vxwv4cWcAXE6FAipctyUBs6
bE5QyaCnmNpoDiQwDQYJKoZIhvcNAQELBQADggEBAB0YoWve9Sxhb0PBS3Hc46Rf
a7H1jhHuwE+UyscSQsdJdk8uPAgDuKRZMvJPGEaCkNHm36NfcaXXFjPOl7LI1d1a
9zqSP0xeZBI6cF0x96WuQGrI9/WR2tfxjmaUSp8a/aJ6n+tZA28eJZNPrIaMm+6j
gh7AkKnqcf+g8F/MvCCVdNAiVMdz6UpCscf6BRPHNZ5ifvChGh7aUKjrVLLuF4Ls
HE05qm6HNyV5eTa6wvcbc4ewguN1UDZvPWetSyfBk10Wbpor4znQ4TJ3Y9uCvsJH
41ldblDvZZ2z4kB2UYQ7iBkPlJSxSOaFgW/GGDXq49sz/995xzhVITHxh2SdLkI=
-----END CERTIFICATE-----`;

/**
 * Decrypts a PKCS#1 v1.5 ciphertext with the simulator key. Node 20 refuses RSA_PKCS1_PADDING in privateDecrypt
 * (CVE-2023-46809), so the test decrypts raw and checks the type-2 padding itself: 00 02 <non-zero bytes> 00 <message>.
 */
function decryptPkcs1v15(ciphertextBase64: string): string {
  const block = privateDecrypt({ key: simulatorKey, padding: constants.RSA_NO_PADDING }, Buffer.from(ciphertextBase64, 'base64'));
  expect(block[0]).toBe(0x00);
  expect(block[1]).toBe(0x02);
  const separator = block.indexOf(0x00, 2);
  expect(separator).toBeGreaterThanOrEqual(10); // at least 8 bytes of random padding
  return block.subarray(separator + 1).toString('utf8');
}

function settings(overrides: Record<string, string>): MpesaSettings {
  return buildConfig(validateEnv(overrides)).mpesa;
}

describe('encryptInitiatorPassword', () => {
  it('encrypts the plain password with PKCS#1 v1.5 so that the certificate key decrypts it', () => {
    const credential = encryptInitiatorPassword('Safaricom999!*!', simulatorCert);
    expect(Buffer.from(credential, 'base64')).toHaveLength(256);
    expect(decryptPkcs1v15(credential)).toBe('Safaricom999!*!');
  });

  it('gives a different, equally valid value each time (random padding)', () => {
    const a = encryptInitiatorPassword('Safaricom999!*!', simulatorCert);
    const b = encryptInitiatorPassword('Safaricom999!*!', simulatorCert);
    expect(a).not.toBe(b);
    expect(decryptPkcs1v15(b)).toBe('Safaricom999!*!');
  });

  it.each(['sandbox', 'production'])("encrypts with Safaricom's %s certificate to a 2048-bit ciphertext", (env) => {
    const credential = encryptInitiatorPassword('Safaricom999!*!', readFileSync(join(CERTS, `${env}.cer`)));
    expect(looksLikeRsaCiphertext(credential, 256)).toBe(true);
  });
});

describe('looksLikeRsaCiphertext', () => {
  const ciphertext = encryptInitiatorPassword('Safaricom999!*!', simulatorCert);

  it('recognises a real ciphertext for the key size', () => {
    expect(looksLikeRsaCiphertext(ciphertext, 256)).toBe(true);
  });

  it('ignores line breaks inside the base64', () => {
    expect(looksLikeRsaCiphertext(ciphertext.replace(/(.{64})/g, '$1\n'), 256)).toBe(true);
  });

  it.each(['Safaricom999!*!', 'Safaricom123!!', 'abcd', 'encrypted_password', ''])('rejects %p', (value) => {
    expect(looksLikeRsaCiphertext(value, 256)).toBe(false);
  });

  it('rejects a ciphertext of another key size', () => {
    expect(looksLikeRsaCiphertext(ciphertext, 512)).toBe(false);
  });
});

describe('classifyCredentialValue', () => {
  const ciphertext = encryptInitiatorPassword('x', simulatorCert);

  it('tells a ciphertext, a foreign ciphertext and a password apart', () => {
    expect(classifyCredentialValue(ciphertext, 256)).toBe('ciphertext');
    expect(classifyCredentialValue(ciphertext, 512)).toBe('foreign-ciphertext');
    expect(classifyCredentialValue(ciphertext, undefined)).toBe('ciphertext');
    expect(classifyCredentialValue('Safaricom999!*!', 256)).toBe('password');
    // Valid base64, but far too short to be RSA: a password.
    expect(classifyCredentialValue('Passw0rd', 256)).toBe('password');
  });
});

describe('certificateInfo', () => {
  it("identifies Safaricom's sandbox credential certificate", () => {
    const info = certificateInfo(readFileSync(join(CERTS, 'sandbox.cer')));
    expect(info).toMatchObject({
      subjectCn: 'apicrypt.safaricom.co.ke',
      issuerCn: 'Safaricom Internal Issuing CA 02',
      keyType: 'rsa',
      publicKeyBits: 2048,
      spkiSha256: 'bc1aba1eb634213496663c5e5b69dcda742acc8d5c2bd25eccb16e1caf66e8dc',
      known: 'sandbox',
      kind: 'credential',
      expired: true,
      subjectAltNames: [],
    });
    expect(info.fingerprint256).toBe('A5:42:C3:C6:7B:59:8A:33:7A:1C:C7:41:E5:43:4C:70:DE:56:50:81:E5:C8:53:E0:5A:51:C8:43:76:47:66:F0');
    expect(info.validTo.toISOString()).toBe('2016-11-11T07:12:45.000Z');
  });

  it("identifies Safaricom's production credential certificate, though it carries serverAuth like a TLS one", () => {
    const info = certificateInfo(readFileSync(join(CERTS, 'production.cer')));
    expect(info).toMatchObject({
      subjectCn: 'apigee.apicaller.safaricom.co.ke',
      spkiSha256: '085bf508c873dd7d69361796925d10f87b59d3f0147d148f46103c1df6464c45',
      known: 'production',
      kind: 'credential',
    });
    expect(info.extendedKeyUsage).toContain('1.3.6.1.5.5.7.3.1');
    expect(info.fingerprint256).toBe('94:17:91:52:12:AC:70:8D:3A:C8:2B:71:0E:71:D9:76:FA:0E:B7:83:F4:67:B1:59:C1:5A:D7:21:6E:F2:C1:6B');
  });

  it("identifies the simulator's certificate", () => {
    const info = certificateInfo(simulatorCert);
    expect(info).toMatchObject({
      subjectCn: 'simulator.apicrypt.invalid',
      known: 'simulator',
      kind: 'credential',
      publicKeyBits: 2048,
      isCa: true,
    });
  });

  it('calls the HTTPS certificate of sandbox.safaricom.co.ke a TLS server certificate', () => {
    const info = certificateInfo(SANDBOX_TLS_CERT);
    expect(info.kind).toBe('tls-server');
    expect(info.known).toBeUndefined();
    expect(info.subjectAltNames).toEqual(['DNS:sandbox.safaricom.co.ke']);
    expect(info.fingerprint256).toBe('12:2A:C9:04:7C:BC:99:C8:C9:41:69:7E:62:EE:DA:97:04:CF:1A:45:AA:BC:C9:79:BD:03:34:CF:D0:CB:18:F7');
    expect(info.why).toMatch(/sandbox\.safaricom\.co\.ke/);
  });

  it('throws on something that is not a certificate', () => {
    expect(() => certificateInfo('not a certificate')).toThrow();
  });
});

describe('configuration of the certificate', () => {
  it('uses the shipped certificate of each environment, found from the project root', () => {
    expect(settings({}).certificatePath).toBe(SHIPPED_CERTIFICATES.simulator);
    expect(SHIPPED_CERTIFICATES.simulator).toBe(join(CERTS, 'simulator.cer'));
    const sandbox = settings({ MPESA_CONSUMER_KEY: 'k', MPESA_CONSUMER_SECRET: 's', MPESA_STK_CALLBACK_URL: 'https://pay.example.com/cb' });
    expect(sandbox.certificatePath).toBe(join(CERTS, 'sandbox.cer'));
    expect(sandbox.certificateOverridden).toBe(false);
  });

  it('lets MPESA_CERTIFICATE_PATH override it', () => {
    const s = settings({ MPESA_CERTIFICATE_PATH: join(CERTS, 'sandbox.cer') });
    expect(s.certificatePath).toBe(join(CERTS, 'sandbox.cer'));
    expect(s.certificateOverridden).toBe(true);
  });

  it('refuses the simulator certificate in production', () => {
    expect(() =>
      buildConfig(
        validateEnv({
          MPESA_ENVIRONMENT: 'production',
          MPESA_CONSUMER_KEY: 'k',
          MPESA_CONSUMER_SECRET: 's',
          MPESA_SHORTCODE: '600000',
          MPESA_PASSKEY: 'p',
          MPESA_STK_CALLBACK_URL: 'https://pay.example.com/cb',
          JWT_SECRET: 'x'.repeat(32),
          DATA_ENCRYPTION_KEY: 'ab'.repeat(32),
          MPESA_CALLBACK_SECRET: 'y'.repeat(32),
          MPESA_CALLBACK_ALLOWED_IPS: '196.201.214.200',
          MPESA_CERTIFICATE_PATH: join(CERTS, 'simulator.cer'),
        }),
      ),
    ).toThrow(/MPESA_CERTIFICATE_PATH: certs\/simulator.cer belongs to the embedded simulator/);
  });

  it("defaults the simulator's initiator to Safaricom's sandbox test values", () => {
    expect(settings({})).toMatchObject({ initiatorName: 'testapi', initiatorPassword: 'Safaricom999!*!' });
  });
});

describe(SecurityCredentialService.name, () => {
  beforeAll(() => Logger.overrideLogger(false));
  const service = (overrides: Record<string, string>) => new SecurityCredentialService(settings(overrides));
  const sandbox = { MPESA_CONSUMER_KEY: 'k', MPESA_CONSUMER_SECRET: 's', MPESA_STK_CALLBACK_URL: 'https://pay.example.com/cb' };

  it('encrypts MPESA_INITIATOR_PASSWORD with the environment certificate, once', () => {
    const credentials = service({});
    const credential = credentials.credential();
    expect(decryptPkcs1v15(credential)).toBe('Safaricom999!*!');
    expect(credentials.credential()).toBe(credential);
    expect(credentials.source()).toBe('MPESA_INITIATOR_PASSWORD');
  });

  it('uses an encrypted MPESA_SECURITY_CREDENTIAL as it is', () => {
    const ready = encryptInitiatorPassword('other', simulatorCert);
    const credentials = service({ MPESA_SECURITY_CREDENTIAL: ready });
    expect(credentials.credential()).toBe(ready);
    expect(credentials.source()).toBe('MPESA_SECURITY_CREDENTIAL');
  });

  it('encrypts a plain password found in MPESA_SECURITY_CREDENTIAL, and logs that without the value', () => {
    const credentials = service({ MPESA_SECURITY_CREDENTIAL: 'Safaricom123!!', MPESA_INITIATOR_PASSWORD: '' });
    const log = jest
      .spyOn((credentials as unknown as { logger: { log: (m: string) => void } }).logger, 'log')
      .mockImplementation(() => undefined);
    expect(decryptPkcs1v15(credentials.credential())).toBe('Safaricom123!!');
    credentials.credential();
    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0][0]).toMatch(/^MPESA_SECURITY_CREDENTIAL holds a plain password: encrypting it with .*simulator\.cer/);
    expect(log.mock.calls[0][0]).not.toContain('Safaricom123!!');
    expect(credentials.source()).toBe('MPESA_SECURITY_CREDENTIAL (plain password)');
  });

  it('names the variables when no credential is configured', () => {
    const credentials = service({ ...sandbox, MPESA_INITIATOR_NAME: 'apiop' });
    expect(() => credentials.credential()).toThrow(DarajaConfigurationError);
    expect(() => credentials.credential()).toThrow(/MPESA_INITIATOR_PASSWORD .*MPESA_SECURITY_CREDENTIAL/);
    try {
      credentials.credential();
    } catch (error) {
      expect((error as DarajaConfigurationError).variables).toEqual(['MPESA_INITIATOR_PASSWORD', 'MPESA_SECURITY_CREDENTIAL']);
      expect((error as DarajaConfigurationError).resendable).toBe(false);
    }
  });

  it('names MPESA_INITIATOR_NAME when it is missing', () => {
    expect(() => service(sandbox).initiatorName()).toThrow(/MPESA_INITIATOR_NAME is not set/);
  });

  it('names MPESA_CERTIFICATE_PATH when the certificate cannot be read', () => {
    const credentials = service({ ...sandbox, MPESA_INITIATOR_PASSWORD: 'pw', MPESA_CERTIFICATE_PATH: '/nonexistent/cert.cer' });
    expect(() => credentials.credential()).toThrow(
      /Cannot read the SecurityCredential certificate \/nonexistent\/cert.cer \(ENOENT\).*MPESA_CERTIFICATE_PATH/,
    );
  });

  it('does not stop the boot when nothing is configured', () => {
    expect(() => service(sandbox).onModuleInit()).not.toThrow();
  });
});
