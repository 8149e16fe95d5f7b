import { dict, ownOrSet } from '../util/dict.js';
import { isComposeReplica, LABEL_CONFIG_HASH, LABEL_REF, LABEL_REVISION, LABEL_STACK, runsDriftdAgent } from '../util/labels.js';
import type { LiveContainer, LiveInventory } from '../live/model.js';
import type { LiveStackSummary } from './model.js';

/**
 * What the planner needs from one project's containers: driftd labels and counts of the replicas
 * Compose manages (drift-check still reports the other containers). The one reading of a container
 * list for every caller: the plan, the stored no-change verdict, relabeling.
 */
export function summarizeProject(containers: readonly LiveContainer[]): LiveStackSummary {
  const summary: LiveStackSummary = { services: dict(), managedByDriftd: false };
  for (const c of containers) {
    if (runsDriftdAgent(c.labels)) summary.agent = true;
    // Only what Compose itself acts on: see isComposeReplica.
    if (!c.service || !isComposeReplica(c.labels)) continue;
    if (c.labels[LABEL_STACK]) summary.managedByDriftd = true;
    const s = ownOrSet<LiveStackSummary['services'][string]>(summary.services, c.service, () => ({ running: 0, total: 0, unhealthy: 0 }));
    s.total += 1;
    if (c.state === 'running') s.running += 1;
    if (c.health === 'unhealthy') s.unhealthy += 1;
    if (c.health === 'starting') s.starting = (s.starting ?? 0) + 1;
    const hash = c.labels[LABEL_CONFIG_HASH];
    // Replicas with different hashes (a half-finished recreate) count as changed.
    s.configHash = s.total === 1 ? hash : s.configHash === hash ? hash : undefined;
    if (c.labels[LABEL_REVISION]) s.revision = c.labels[LABEL_REVISION];
    if (c.labels[LABEL_REF] !== undefined) s.ref = c.labels[LABEL_REF];
  }
  return summary;
}

/** Per Compose project of an inventory (projects known only from networks or volumes get an empty summary). */
export function summarizeLive(inventory: LiveInventory): Record<string, LiveStackSummary> {
  const out = dict<LiveStackSummary>();
  for (const project of Object.values(inventory.projects)) out[project.name] = summarizeProject(project.containers);
  return out;
}

/** Per Compose project of one container list (labels only); containers outside any project are left out. */
export function summarizeContainers(containers: readonly LiveContainer[]): Record<string, LiveStackSummary> {
  const byProject = new Map<string, LiveContainer[]>();
  for (const c of containers) {
    if (c.project === undefined) continue;
    const list = byProject.get(c.project) ?? [];
    list.push(c);
    byProject.set(c.project, list);
  }
  return dict([...byProject].map(([project, list]) => [project, summarizeProject(list)] as const));
}
