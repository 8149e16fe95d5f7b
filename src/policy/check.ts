import { effectivePolicy, type EffectivePolicy } from './effective.js';
import { policyViolations, type PolicyStack, type Violation } from './rules.js';
import type { SecurityPolicyInput } from './schema.js';

export interface PolicyCheck {
  policy: EffectivePolicy;
  violations: Violation[];
  /** True when the stack must not be applied: `enforce` and at least one violation. */
  refused: boolean;
}

/** The host's policy combined with the stack's fleet.yaml `policy:`, and what the stack breaks. */
export function checkStackPolicy(host: SecurityPolicyInput | undefined, stack: PolicyStack & { policy: { security?: SecurityPolicyInput } }): PolicyCheck {
  const policy = effectivePolicy(host, stack.policy.security);
  const violations = policyViolations(stack, policy);
  return { policy, violations, refused: policy.mode === 'enforce' && violations.length > 0 };
}

/** "service a: privileged; service b: dockerSocket (/var/run/docker.sock)" — for history rows and plan reasons. */
export function describeViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `service ${v.service}: ${v.rule}${v.mount ? ` (${v.mount.source})` : ''}`).join('; ');
}
