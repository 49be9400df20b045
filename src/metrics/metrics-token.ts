import { createHash, timingSafeEqual } from 'node:crypto';

/** Whether an Authorization header carries `Bearer <token>`; compared in constant time (hashes have equal length). */
export function bearerTokenMatches(authorization: string | undefined, token: string): boolean {
  const match = typeof authorization === 'string' ? /^Bearer\s+(\S+)$/i.exec(authorization) : null;
  if (!match) return false;
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(match[1]), digest(token));
}
