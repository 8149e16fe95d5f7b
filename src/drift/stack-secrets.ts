/**
 * Everything a stack's findings must not reveal (docs/design.md §3): values of secret-looking env keys,
 * every value that came from an env_file, and those same values wherever else they show up
 * (a command line, a health check, a label).
 */
import type { DesiredService, DesiredStack } from '../compose/model.js';
import { isSecretKey, redactValue, Scrubber } from '../util/scrub.js';

export interface StackSecrets {
  /** Is this env key secret for this service (without a service: for any service of the stack)? */
  isSecretEnv(key: string, service?: DesiredService): boolean;
  /** An env value as it may appear in a finding. */
  envValue(key: string, value: string | undefined, service?: DesiredService): string | null;
  /** Deep copy with every known secret value replaced by its short hash. */
  scrub<T>(value: T): T;
  /** Known secret values, longest first. */
  values: string[];
  /** The one scrubber (util/scrub.ts) over these values, for callers that redact through it. */
  scrubber: Scrubber;
}

export function stackSecrets(stack: DesiredStack | undefined): StackSecrets {
  const values = new Set<string>();
  const anyServiceKeys = new Set<string>();
  for (const service of stack?.services ?? []) {
    const forced = new Set(service.secretEnvKeys);
    for (const k of forced) anyServiceKeys.add(k);
    for (const [k, v] of Object.entries(service.environment)) {
      if ((forced.has(k) || isSecretKey(k)) && v !== '') values.add(v);
    }
  }
  // Longest first, so that a secret containing a shorter one is replaced whole.
  const sorted = [...values].sort((a, b) => b.length - a.length);

  const isSecretEnv = (key: string, service?: DesiredService): boolean =>
    isSecretKey(key) || (service ? service.secretEnvKeys.includes(key) : anyServiceKeys.has(key));

  // The one scrubber's rules (util/scrub.ts), over this stack's own secret values.
  const scrubber = new Scrubber().add(sorted);
  const scrubDeep = (value: unknown): unknown => scrubber.deep(value);

  return {
    isSecretEnv,
    envValue: (key, value, service) => {
      if (value === undefined) return null;
      return isSecretEnv(key, service) ? redactValue(value) : (scrubDeep(value) as string);
    },
    scrub: <T>(value: T) => scrubDeep(value) as T,
    values: sorted,
    scrubber,
  };
}
