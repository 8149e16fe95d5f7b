/**
 * Policy findings on a loaded stack: floating image tags (validate.latest) and the security
 * policy rules of src/policy. An image reference Docker would refuse is an error whatever the
 * config says.
 */
import { parseVolume } from '../compose/volumes.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { isFloatingRef, parseImageRef, type ImageRef } from '../image/reference.js';
import { finding } from './finding.js';
import { findingFromError } from './load-errors.js';
import type { ValidateFinding, ValidateKind } from './model.js';
import { checkStackPolicy } from '../policy/check.js';
import type { Violation } from '../policy/rules.js';
import type { PolicyRule, SecurityPolicyInput } from '../policy/schema.js';
import type { LoadedStack } from './stack-check.js';
import { locate, locateItem, type Location } from './yaml-location.js';

export type ValidateConfig = ResolvedConfig['validate'];

function at(loc: Location | undefined, fallback: string): { file: string; line: number | undefined } {
  return { file: loc?.file ?? fallback, line: loc?.line };
}

function imageFinding(loaded: LoadedStack, service: string, image: string, config: ValidateConfig): ValidateFinding | undefined {
  const { file, line } = at(locate(loaded.files, ['services', service, 'image']), loaded.stack.composeFiles[0] ?? `stacks/${loaded.stack.name}`);
  let ref: ImageRef;
  try {
    ref = parseImageRef(image);
  } catch (e) {
    return { ...findingFromError(e, file), file, ...(line !== undefined ? { line } : {}) };
  }
  if (!config.latest || !isFloatingRef(ref)) return undefined;
  const why = ref.tag === undefined ? `${JSON.stringify(image)} has no tag, which means :latest` : `${JSON.stringify(image)} uses the :latest tag`;
  return finding('image-latest', 'warning', file, line, `services.${service}.image: ${why}; pin a version tag (and lock it with driftd lock) so every host runs the same image`);
}

/** validate's finding kind for each policy rule (docs/validate.md). */
const RULE_KIND: Record<PolicyRule, ValidateKind> = {
  privileged: 'privileged',
  capAdd: 'cap-add',
  hostNetwork: 'host-network',
  hostPid: 'host-pid',
  hostIpc: 'host-ipc',
  devices: 'devices',
  dockerSocket: 'docker-socket',
  hostBindMounts: 'host-bind-mount',
};

const ADVICE: Record<PolicyRule, string> = {
  privileged: 'grant only the capabilities it needs (cap_add)',
  capAdd: 'drop what it does not need, or allow capAdd in the host policy',
  hostNetwork: 'publish ports instead',
  hostPid: 'remove pid: host unless it must see host processes',
  hostIpc: 'remove ipc: host',
  devices: 'allow devices in the host policy if this host must give them',
  dockerSocket: 'whoever controls the container controls the host; use a socket proxy that allows only what it needs',
  hostBindMounts: 'keep the files in the stack folder, use a named volume, or list the folder in policy.allowedHostPaths',
};

/** The old validate.* switches still turn their warning off in warn mode. */
function switchedOff(rule: PolicyRule, config: ValidateConfig): boolean {
  return (rule === 'privileged' && !config.privileged) || (rule === 'hostNetwork' && !config.hostNetwork) || (rule === 'hostBindMounts' && !config.hostBindMounts);
}

function violationFinding(loaded: LoadedStack, v: Violation, severity: ValidateFinding['severity'], fallback: string): ValidateFinding {
  const base = ['services', v.service];
  const mount = v.mount;
  const loc = mount
    ? locateItem(loaded.files, [...base, 'volumes'], (item: unknown) => {
        const m = parseVolume(item, []);
        return m.target === mount.target;
      })
    : locate(loaded.files, [...base, v.field]);
  const { file, line } = at(loc, fallback);
  return finding(RULE_KIND[v.rule], severity, file, line, `services.${v.message.slice('service '.length)}: ${ADVICE[v.rule]}`);
}

/**
 * Image hygiene plus the security policy rules (src/policy, the same code sync enforces): a
 * warning in `warn` mode, an error in `enforce` mode (sync would refuse the stack).
 */
export function policyFindings(loaded: LoadedStack, config: ValidateConfig, hostPolicy?: SecurityPolicyInput, fleetPolicy?: SecurityPolicyInput): ValidateFinding[] {
  const out: ValidateFinding[] = [];
  const fallback = loaded.stack.composeFiles[0] ?? `stacks/${loaded.stack.name}`;
  for (const svc of loaded.stack.services) {
    const image = imageFinding(loaded, svc.name, svc.image, config);
    if (image) out.push(image);
  }
  const check = checkStackPolicy(hostPolicy, { ...loaded.stack, policy: fleetPolicy ? { security: fleetPolicy } : {} });
  const enforce = check.policy.mode === 'enforce';
  for (const v of check.violations) {
    if (!enforce && switchedOff(v.rule, config)) continue;
    out.push(violationFinding(loaded, v, enforce ? 'error' : 'warning', fallback));
  }
  return out;
}
