/**
 * fleet.yaml as validate sees it: parsed by the loader's own parser, every stack it names must
 * exist, and the host groups whose stacks run side by side (for the conflict checks).
 */
import { FLEET_FILE, parseFleet, stacksForHost, type Fleet } from '../compose/fleet.js';
import { readRepoFile } from '../compose/safe-fs.js';
import { parseYamlFile } from '../compose/yaml-file.js';
import { finding } from './finding.js';
import { findingFromError } from './load-errors.js';
import type { ValidateFinding } from './model.js';
import { lineOfKey } from './yaml-location.js';

export interface FleetCheck {
  /** undefined without fleet.yaml, or when it is invalid (see `valid`). */
  fleet?: Fleet;
  valid: boolean;
  /** The file's text, for the secret scan. */
  text?: string;
  findings: ValidateFinding[];
}

export function checkFleet(root: string, maxBytes: number, stacks: ReadonlySet<string>): FleetCheck {
  let text: string | undefined;
  let fleet: Fleet;
  try {
    text = readRepoFile(root, FLEET_FILE, maxBytes)?.toString('utf8');
    if (text === undefined) return { valid: true, findings: [] };
    fleet = parseFleet(text);
  } catch (e) {
    return { valid: false, ...(text !== undefined ? { text } : {}), findings: [findingFromError(e, FLEET_FILE)] };
  }
  const y = parseYamlFile(text, FLEET_FILE);
  const findings: ValidateFinding[] = [];
  for (const [host, list] of Object.entries(fleet.hosts ?? {})) {
    list.forEach((name, i) => {
      if (stacks.has(name)) return;
      findings.push(
        finding('fleet-unknown-stack', 'error', FLEET_FILE, lineOfKey(y, ['hosts', host, i]), `host ${JSON.stringify(host)} lists stack ${JSON.stringify(name)}, but there is no stacks/${name}/ folder`),
      );
    });
  }
  for (const name of Object.keys(fleet.policies)) {
    if (stacks.has(name)) continue;
    findings.push(finding('fleet-unknown-stack', 'warning', FLEET_FILE, lineOfKey(y, ['stacks', name]), `a policy for stack ${JSON.stringify(name)}, but there is no stacks/${name}/ folder`));
  }
  return { fleet, valid: true, text, findings };
}

/** Stacks that run side by side on some hosts. `hosts` undefined means every host. */
export interface HostGroup {
  hosts?: string[];
  stacks: string[];
}

/**
 * One group per host named in fleet.yaml (its own stacks plus "*"), and one for every other
 * host ("*" alone); without `hosts:` every stack runs on every host. `host` limits the answer to
 * that host's group.
 */
export function hostGroups(fleet: Fleet | undefined, allStacks: readonly string[], host?: string): HostGroup[] {
  if (host !== undefined) return [{ hosts: [host], stacks: stacksForHost(fleet, host) ?? [...allStacks] }];
  if (!fleet?.hosts) return [{ stacks: [...allStacks] }];
  const groups: HostGroup[] = Object.keys(fleet.hosts)
    .filter((h) => h !== '*')
    .sort()
    .map((h) => ({ hosts: [h], stacks: stacksForHost(fleet, h) ?? [] }));
  const everywhere = fleet.hosts['*'] ?? [];
  if (everywhere.length > 0) groups.push({ stacks: [...everywhere] });
  return groups;
}
