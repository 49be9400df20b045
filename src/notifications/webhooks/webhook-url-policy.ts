import { lookup as lookupCallback, LookupAddress, LookupAllOptions, LookupOptions } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { WebhookUrlPolicyName } from '../../config/env.validation';

/**
 * Addresses a webhook must never reach when URLs are checked (production): loopback, private networks, link-local
 * (cloud metadata at 169.254.169.254), carrier-grade NAT, unspecified, multicast and reserved ranges, in IPv4 and
 * IPv6 (IPv4-mapped IPv6 addresses are checked as the IPv4 address they carry).
 */
const NOT_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv6');
}

/** Whether `address` (an IP literal) is a public unicast address. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return isPublicAddress(mapped[1]);
    return !NOT_PUBLIC.check(address, 'ipv6');
  }
  return !NOT_PUBLIC.check(address, 'ipv4');
}

export type Resolve = (host: string) => Promise<string[]>;

const resolveAll: Resolve = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Why `url` may not receive webhooks under `policy`, or null when it may. `public_https` (always in production):
 * https only, and the host must resolve, every address of it, to public addresses: checked when an endpoint is saved
 * and again before every send, since a name can be pointed elsewhere later. `any` (development, tests): any http(s).
 */
export async function webhookUrlRefusal(url: string, policy: WebhookUrlPolicyName, resolve: Resolve = resolveAll): Promise<string | null> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'must be an http(s) URL';
  // Credentials in a URL end up in logs and in the list answer.
  if (parsed.username || parsed.password) return 'must not carry a user name or password';
  if (policy === 'any') return null;
  if (parsed.protocol !== 'https:') return 'must use https:// in production';
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = await resolve(host);
    } catch (e) {
      return `host ${host} does not resolve (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
    }
  }
  if (addresses.length === 0) return `host ${host} does not resolve`;
  const inside = addresses.find((a) => !isPublicAddress(a));
  return inside ? `host ${host} resolves to ${inside}, a private, loopback or reserved address` : null;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for the sockets that carry checked webhooks: it resolves like `dns.lookup` and refuses, as a connection
 * error, a name that now resolves to any address that is not public. The check before a send resolves the name once
 * and the connection a second time; a name re-pointed in between (DNS rebinding) is caught here, on the address the
 * socket actually uses.
 */
export function publicOnlyLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  lookupCallback(hostname, { ...options, all: true } as LookupAllOptions, (error, addresses) => {
    if (error) return callback(error, []);
    const inside = addresses.find((a) => !isPublicAddress(a.address));
    if (inside || addresses.length === 0) {
      const refused: NodeJS.ErrnoException = new Error(
        `host ${hostname} resolves to ${inside?.address ?? 'nothing'}, a private, loopback or reserved address`,
      );
      refused.code = 'EADDRNOTPUBLIC';
      return callback(refused, []);
    }
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
}
