import { setOwn } from './dict.js';
import { sha256 } from './hash.js';

/** docs/design.md §3: env keys that look like secrets. */
export const SECRET_KEY_PATTERN = /(pass|secret|token|key|credential|private)/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY_PATTERN.test(key);
}

/** A secret becomes `sha256:<first 12 hex>`, so a change is still visible but the value is not. */
export function redactValue(value: string): string {
  return `sha256:${sha256(value).slice(0, 12)}`;
}

/**
 * Redacts an environment map: keys matching the secret pattern and keys listed in
 * `alwaysSecret` (values that came from an env_file) are replaced by their short hash.
 */
export function redactEnv(env: Record<string, string>, alwaysSecret: Iterable<string> = []): Record<string, string> {
  const forced = new Set(alwaysSecret);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) setOwn(out, k, forced.has(k) || isSecretKey(k) ? redactValue(v) : v);
  return out;
}
