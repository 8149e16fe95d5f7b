/**
 * Findings for `engine: swarm` stacks: what docker stack deploy refuses or ignores (src/swarm),
 * located at the key's line in the compose file that writes it.
 */
import { yamlToJs } from '../compose/yaml-file.js';
import { swarmIssues } from '../swarm/compat.js';
import { finding } from './finding.js';
import type { ValidateFinding } from './model.js';
import type { LoadedStack } from './stack-check.js';
import { lineOfKey } from './yaml-location.js';

export function swarmFindings(loaded: LoadedStack): ValidateFinding[] {
  const out: ValidateFinding[] = [];
  for (const y of loaded.files) {
    for (const issue of swarmIssues(yamlToJs(y))) {
      const kind = issue.severity === 'error' ? 'swarm-unsupported' : 'swarm-ignored';
      out.push(finding(kind, issue.severity, y.file, lineOfKey(y, issue.path), issue.message));
    }
  }
  return out;
}
