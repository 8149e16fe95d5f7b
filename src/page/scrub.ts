/**
 * The page's last line of defence, in one place: every model the page renders goes through
 * `scrubModel` before any HTML is made. Findings were already redacted by report/prepare.ts (the
 * same redaction as `drift-check`); this pass removes the agent's own secrets (read, write and
 * webhook tokens), the stacks' known secret values and the password of any `scheme://user:pw@host`
 * URL from every string, whatever field it is in (history messages, deploy logs, reasons).
 */
import { scrubDeep } from '../report/secrets.js';
import { redactValue } from '../util/redact.js';

const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)([^\s@/]+)(@)/gi;

export function scrubUrlPasswords(text: string): string {
  return text.replace(URL_PASSWORD, (_m, head: string, pw: string, at: string) => `${head}${redactValue(pw)}${at}`);
}

function scrubUrlsDeep(value: unknown): unknown {
  if (typeof value === 'string') return scrubUrlPasswords(value);
  if (Array.isArray(value)) return value.map(scrubUrlsDeep);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubUrlsDeep(v)]));
  return value;
}

/** Known secret values (longest first, so a secret containing another goes first), then URL passwords. */
export function scrubModel<T>(model: T, secrets: Iterable<string>): T {
  const values = [...new Set(secrets)].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  return scrubUrlsDeep(scrubDeep(model, values)) as T;
}
