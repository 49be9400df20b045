import { createHash } from 'node:crypto';

/** Every limit counts over one minute, so that "30 a minute" in the settings means what it says. */
export const RATE_LIMIT_WINDOW_MS = 60_000;

/** The named limits and what each one counts: IP and CLIENT are throttlers (ThrottlerModule), STK_PHONE is PhoneRateLimiter. */
export enum RateLimit {
  /** Requests from one source IP, whoever sends them. */
  IP = 'ip',
  /** Requests from one authenticated client (JWT `sub`); unauthenticated requests count by IP. */
  CLIENT = 'client',
  /** STK pushes to one phone number, keyed by the number's look-up hash. */
  STK_PHONE = 'stk-phone',
}

/** What a client reads in a 429's message. */
export const RATE_LIMIT_MESSAGES: Readonly<Record<RateLimit | 'auth-failures', string>> = {
  [RateLimit.IP]: 'Too many requests from this IP address',
  [RateLimit.CLIENT]: 'Too many requests from this client',
  [RateLimit.STK_PHONE]: 'Too many payment requests to this phone number',
  'auth-failures': 'Too many failed authentications from this IP address',
};

/**
 * Trackers are `<limit>:<identity>`: the limit's name tells the 429 which message to give, and the identity is
 * hashed before it becomes a Redis key (no IPs, client ids or phone hashes in clear in Redis key names).
 */
export function tracker(limit: RateLimit, identity: string): string {
  return `${limit}:${identity}`;
}

export function limitOfTracker(value: string): RateLimit {
  const name = value.slice(0, value.indexOf(':'));
  return (Object.values(RateLimit) as string[]).includes(name) ? (name as RateLimit) : RateLimit.CLIENT;
}

export function hashed(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 32);
}
