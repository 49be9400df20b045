import { constants, createPrivateKey, KeyObject, privateDecrypt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The simulator's side of the SecurityCredential (docs/daraja.md §10): the app encrypts the initiator password
 * with `certs/simulator.cer` (RSA, PKCS#1 v1.5, base64); the simulator decrypts with `certs/simulator.key`.
 */

/** The nearest folder holding package.json: the project root from `src/…` (ts-node, jest) and from `dist/src/…`. */
export function projectRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`No package.json above ${from}: cannot locate certs/simulator.key`);
  }
}

export const simulatorKeyPath = () => join(projectRoot(), 'certs', 'simulator.key');

/** Reads the key once at start-up; a missing or unreadable key stops the boot with the path in the message. */
export function loadSimulatorKey(path: string = simulatorKeyPath()): KeyObject {
  try {
    return createPrivateKey(readFileSync(path));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Daraja simulator: cannot load its private key ${path} (${reason}); see certs/README.md`);
  }
}

/** An initiator password is short printable text; anything else is not a password we could have been sent. */
const PLAUSIBLE_PASSWORD = /^[\x20-\x7e]{1,128}$/;
/** PKCS#1 v1.5 encryption padding has at least 8 non-zero random bytes (RFC 8017 §7.2.1). */
const MIN_PADDING_STRING = 8;

/**
 * The plain initiator password, or undefined when the value does not decrypt with the simulator key (wrong
 * certificate, OAEP padding, not base64, truncated...). Daraja answers those with "Invalid SecurityCredential".
 *
 * Node (since the CVE-2023-46809 fix, without OpenSSL's implicit rejection) refuses `RSA_PKCS1_PADDING` for
 * private decryption, so the RSA step runs unpadded and the v1.5 padding is removed here. The timing side channel
 * that fix closes does not matter for a simulator whose private key is committed to the repository.
 */
export function decryptSecurityCredential(key: KeyObject, credential: unknown): string | undefined {
  if (typeof credential !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(credential)) return undefined;
  const ciphertext = Buffer.from(credential, 'base64');
  const size = (key.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
  if (ciphertext.length !== size) return undefined;

  let block: Buffer;
  try {
    block = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, ciphertext);
  } catch {
    return undefined; // e.g. a ciphertext not below the modulus
  }
  // 0x00 0x02 <non-zero padding> 0x00 <message>
  if (block[0] !== 0x00 || block[1] !== 0x02) return undefined;
  const separator = block.indexOf(0x00, 2);
  if (separator < 2 + MIN_PADDING_STRING) return undefined;
  const plain = block.subarray(separator + 1).toString('utf8');
  return PLAUSIBLE_PASSWORD.test(plain) ? plain : undefined;
}
