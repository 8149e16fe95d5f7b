import { dict, ownOrSet } from '../util/dict.js';
import { isComposeReplica, LABEL_CONFIG_HASH, LABEL_REF, LABEL_REVISION, LABEL_STACK, runsDriftdAgent } from '../util/labels.js';
import type { LiveInventory } from '../live/model.js';
import type { LiveStackSummary } from './model.js';

/**
 * Per Compose project, what the planner needs from one container list: driftd labels and counts of
 * the replicas Compose manages (drift-check still reports the other containers).
 */
export function summarizeLive(inventory: LiveInventory): Record<string, LiveStackSummary> {
  const out = dict<LiveStackSummary>();
  for (const project of Object.values(inventory.projects)) {
    const summary: LiveStackSummary = { services: dict(), managedByDriftd: false };
    for (const c of project.containers) {
      if (runsDriftdAgent(c.labels)) summary.agent = true;
      // Only what Compose itself acts on: see isComposeReplica.
      if (!c.service || !isComposeReplica(c.labels)) continue;
      if (c.labels[LABEL_STACK]) summary.managedByDriftd = true;
      const s = ownOrSet<LiveStackSummary['services'][string]>(summary.services, c.service, () => ({ running: 0, total: 0, unhealthy: 0 }));
      s.total += 1;
      if (c.state === 'running') s.running += 1;
      if (c.health === 'unhealthy') s.unhealthy += 1;
      const hash = c.labels[LABEL_CONFIG_HASH];
      // Replicas with different hashes (a half-finished recreate) count as changed.
      s.configHash = s.total === 1 ? hash : s.configHash === hash ? hash : undefined;
      if (c.labels[LABEL_REVISION]) s.revision = c.labels[LABEL_REVISION];
      if (c.labels[LABEL_REF] !== undefined) s.ref = c.labels[LABEL_REF];
    }
    out[project.name] = summary;
  }
  return out;
}
