import type { DesiredStack } from '../compose/model.js';
import { checkStackPolicy } from '../policy/check.js';
import type { SecurityPolicyInput } from '../policy/schema.js';
import type { Finding } from './model.js';

/**
 * policy-violation findings (error) for the stacks `sync` would refuse: the host's or the
 * stack's policy is `enforce` and a service breaks a rule. Under `warn` the rules are
 * `driftd validate`'s business and drift-check stays quiet.
 */
export function policyFindings(hostPolicy: SecurityPolicyInput | undefined, stacks: readonly DesiredStack[]): Map<string, Finding[]> {
  const out = new Map<string, Finding[]>();
  for (const stack of stacks) {
    const check = checkStackPolicy(hostPolicy, stack);
    if (!check.refused) continue;
    out.set(
      stack.name,
      check.violations.map((v) => ({
        kind: 'policy-violation',
        stack: stack.name,
        service: v.service,
        severity: 'error',
        message: `${v.message}; the policy is enforce, so sync does not apply ${stack.name}`,
        field: v.rule,
        ...(v.mount ? { desired: v.mount } : {}),
      })),
    );
  }
  return out;
}
