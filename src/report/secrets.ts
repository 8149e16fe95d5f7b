import { dict, own, ownOrSet } from '../util/dict.js';
import type { DesiredStack } from '../compose/model.js';
import { isSecretKey, secretKeyTest } from '../util/scrub.js';

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
  return secretKeyTest(listed);
}
