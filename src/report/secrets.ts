import { dict, own, ownOrSet, setOwn } from '../util/dict.js';
import type { DesiredStack } from '../compose/model.js';
import { isSecretKey, redactValue } from '../util/redact.js';
import { secretScrubber } from '../util/scrub.js';

/**
 * What the report layer knows about secrets (docs/design.md §3): per `stack/service`, the env keys whose
 * values are secret (secret-looking keys and every env_file key), and the secret values
 * themselves, so free text (messages, diffs, commands) can be scrubbed as a last line of defence.
 */
export interface SecretIndex {
  /** `"<stack>/<service>"` → env keys to redact in addition to the docs/design.md §3 key pattern. */
  keysByService: Record<string, string[]>;
  /** Secret values, longest first (a longer secret must be replaced before a shorter one inside it). */
  values: string[];
}

export const EMPTY_SECRETS: SecretIndex = { keysByService: {}, values: [] };

const REDACTED = /^sha256:[0-9a-f]{12}$/;

/** True for a value already in `sha256:<12 hex>` form: redacting it again would hide equal values. */
export function isRedacted(value: string): boolean {
  return REDACTED.test(value);
}

export function serviceKey(stack: string, service: string): string {
  return `${stack}/${service}`;
}

/** Builds the index from the desired stacks: each service's `secretEnvKeys` plus keys matching the pattern. */
export function secretIndexFromStacks(stacks: readonly DesiredStack[], extraKeys: Record<string, string[]> = {}): SecretIndex {
  const keysByService = dict<Set<string>>();
  const values = new Set<string>();
  const keysFor = (key: string): Set<string> => ownOrSet(keysByService, key, () => new Set());
  for (const [key, keys] of Object.entries(extraKeys)) for (const k of keys) keysFor(key).add(k);
  for (const stack of stacks) {
    for (const svc of stack.services) {
      const keys = keysFor(serviceKey(stack.name, svc.name));
      for (const k of svc.secretEnvKeys) keys.add(k);
      for (const [k, v] of Object.entries(svc.environment)) {
        if (isSecretKey(k)) keys.add(k);
        if (keys.has(k) && v !== '') values.add(v);
      }
    }
  }
  return {
    keysByService: dict(Object.entries(keysByService).map(([k, set]) => [k, [...set].sort()])),
    values: [...values].sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0)),
  };
}

/**
 * A predicate "is this env key secret here?": the docs/design.md §3 pattern, or listed for the service
 * (for a stack-level finding, listed for any service of the stack).
 */
export function secretKeyPredicate(index: SecretIndex, stack: string, service: string | undefined): (key: string) => boolean {
  const listed = new Set<string>();
  if (service !== undefined) {
    for (const k of own(index.keysByService, serviceKey(stack, service)) ?? []) listed.add(k);
  } else {
    const prefix = `${stack}/`;
    for (const [svc, keys] of Object.entries(index.keysByService)) if (svc.startsWith(prefix)) for (const k of keys) listed.add(k);
  }
  return (key) => listed.has(key) || isSecretKey(key);
}

// `KEY=value`, `KEY: value`, `- KEY=value`, `"KEY": "value"` after a diff marker or at line start.
const ASSIGNMENT = /^([+\- ]?\s*(?:-\s+)?["']?)([A-Za-z_][A-Za-z0-9_.-]*)(["']?\s*[=:][ \t]*)(.*)$/;
const INTERPOLATION = /^["']?\$\{?[A-Za-z_][A-Za-z0-9_]*[^}]*\}?["']?$/;

/**
 * Redacts the values of secret keys in env-file or YAML lines of a text (a unified diff of
 * `.env`/compose files): the old revision's values are not in the index, so they are found by key.
 * An interpolation reference (`${DB_PASSWORD}`) is not a value and stays.
 */
export function redactAssignments(text: string, isSecret: (key: string) => boolean): string {
  return text
    .split('\n')
    .map((line) => {
      if (line.startsWith('+++') || line.startsWith('---')) return line;
      const m = ASSIGNMENT.exec(line);
      if (!m) return line;
      const [, lead = '', key = '', sep = '', value = ''] = m;
      if (!isSecret(key) || value.trim() === '' || isRedacted(value) || INTERPOLATION.test(value.trim())) return line;
      return `${lead}${key}${sep}${redactOnce(value)}`;
    })
    .join('\n');
}

/** Redacts one env value unless it already is redacted. */
export function redactOnce(value: string): string {
  return isRedacted(value) ? value : redactValue(value);
}

/** Redacts the secret entries of an env map (`{KEY: value}`) or an env list (`["KEY=value"]`); other shapes pass through. */
export function redactEnvLike(value: unknown, isSecret: (key: string) => boolean): unknown {
  if (Array.isArray(value)) {
    return value.map((entry: unknown) => {
      if (typeof entry !== 'string') return entry;
      const eq = entry.indexOf('=');
      if (eq <= 0) return entry;
      const k = entry.slice(0, eq);
      return isSecret(k) ? `${k}=${redactOnce(entry.slice(eq + 1))}` : entry;
    });
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) setOwn(out, k, typeof v === 'string' && isSecret(k) ? redactOnce(v) : v);
    return out;
  }
  return value;
}

/** Replaces known secret values in every string inside `value` (free text: commands, messages, diffs). */
export function scrubDeep(value: unknown, secrets: readonly string[]): unknown {
  return secrets.length === 0 ? value : secretScrubber(secrets).deep(value);
}
