/**
 * Page sessions and CSRF tokens (docs/status-page.md). The login form exchanges the read token
 * for a cookie that is NOT the token: `s1.<expiry>.<nonce>.<mac>`, an HMAC under a key derived
 * from the read token and a secret drawn when the agent starts. A stolen cookie therefore never
 * reveals the token, expires on its own, and every cookie dies when the token changes or the
 * agent restarts. CSRF tokens are HMACs of the session they belong to, so a page from another
 * site can neither read nor forge one.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'driftd_session';
export const SESSION_TTL_MS = 12 * 3600_000;

export interface Sessions {
  /** A new cookie value, valid for SESSION_TTL_MS from `now`. */
  issue(now?: number): string;
  /** True when `value` is a cookie this agent issued under the current read token and it has not expired. */
  valid(value: string | undefined, now?: number): boolean;
  /** The CSRF token bound to one session identity (a cookie value, or "bearer" for a Bearer client). */
  csrf(identity: string): string;
  csrfValid(identity: string, token: string | undefined): boolean;
}

const b64 = (b: Buffer): string => b.toString('base64url');

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function createSessions(readToken: string, processSecret: Buffer = randomBytes(32)): Sessions {
  const key = createHmac('sha256', processSecret).update(`driftd page session\0${readToken}`).digest();
  const mac = (s: string): string => b64(createHmac('sha256', key).update(s).digest());
  return {
    issue(now = Date.now()) {
      const body = `s1.${(now + SESSION_TTL_MS).toString(36)}.${b64(randomBytes(16))}`;
      return `${body}.${mac(body)}`;
    },
    valid(value, now = Date.now()) {
      if (value === undefined || value.length > 200) return false;
      const m = /^(s1\.([0-9a-z]{1,12})\.[A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(value);
      if (!m?.[1] || !m[2] || !m[3]) return false;
      return equal(mac(m[1]), m[3]) && parseInt(m[2], 36) > now;
    },
    csrf: (identity) => mac(`csrf\0${identity}`),
    csrfValid(identity, token) {
      return token !== undefined && equal(mac(`csrf\0${identity}`), token);
    },
  };
}

/** One cookie's value from a Cookie header (the first one of that name). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(value: string): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_MS / 1000}`;
}

export const CLEAR_SESSION_COOKIE = `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
