import path from 'node:path';
import { POLICY_RULES, type PolicyRule, type SecurityPolicyInput } from './schema.js';

/** The policy one stack is held to: the host's config and the stack's fleet.yaml entry combined. */
export interface EffectivePolicy {
  mode: 'warn' | 'enforce';
  rules: ReadonlySet<PolicyRule>;
  /** Each list a host bind mount must satisfy (the host's, then the repo's when it gives one). */
  allowedHostPaths: readonly (readonly string[])[];
}

/**
 * The host's config wins (docs/security.md): a repo may tighten but never loosen. The mode is
 * `enforce` when either says so; a rule is checked when either turns it on (rules default to on,
 * so only both saying `false` turns one off); a bind mount must be allowed by the host's list and,
 * when the repo gives one too, by the repo's.
 */
export function effectivePolicy(host: SecurityPolicyInput | undefined, stack: SecurityPolicyInput | undefined): EffectivePolicy {
  const mode = host?.mode === 'enforce' || stack?.mode === 'enforce' ? 'enforce' : 'warn';
  const rules = new Set<PolicyRule>(POLICY_RULES.filter((r) => host?.[r] !== false || (stack?.[r] ?? false)));
  const lists = [host?.allowedHostPaths ?? [], ...(stack?.allowedHostPaths ? [stack.allowedHostPaths] : [])];
  return { mode, rules, allowedHostPaths: lists };
}

/** True when `source` is one of `allowed` or inside one (compared as normalized absolute paths). */
export function underAllowedPath(source: string, allowed: readonly string[]): boolean {
  const s = path.posix.normalize(source);
  return allowed.some((a) => {
    const base = path.posix.normalize(a).replace(/\/+$/, '') || '/';
    return s === base || s.startsWith(base === '/' ? '/' : `${base}/`);
  });
}
