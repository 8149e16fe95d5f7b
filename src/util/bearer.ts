/** Token checks shared by every HTTP surface (the agent's API and page, the hub). */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const digest = (s: string | Buffer): Buffer => createHash('sha256').update(s).digest();

/** Compares digests of equal length, so the time taken says nothing about the secret. */
export function secretEquals(given: string, secret: string): boolean {
  return timingSafeEqual(digest(given), digest(secret));
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), if any. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(headers.authorization ?? '');
  return m?.[1];
}
