/**
 * A state DB that lost its deployments (deleted, truncated or corrupt, then re-created) while
 * stacks still run: what runs is re-recorded from the containers' io.driftd.* labels, so that the
 * next reconcile knows the live revision (and a failed update still has something to roll back to).
 */
import type { DockerConnection } from '../live/docker-client.js';
import { collectInventory } from '../live/inventory.js';
import type { StateStore } from '../state/index.js';
import type { Trigger } from '../state/schema.js';
import type { Logger } from '../util/logger.js';
import { deployedStackDirs } from './deploy-dir.js';
import { summarizeLive } from './live-summary.js';
import type { LiveStackSummary } from './model.js';
import { shortCommit } from '../util/text.js';

/** Marks a deployment re-recorded from labels: its inputs are unknown, so the next reconcile records the target's own. */
export const RELABELLED_INPUTS = 'unknown: re-recorded from container labels';

/** The revision most of the stack's services carry (services whose config did not change keep an older label). */
function mostCommon(values: (string | undefined)[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | undefined;
  for (const [v, n] of counts) if (best === undefined || n > (counts.get(best) ?? 0)) best = v;
  return best;
}

function recordFromLabels(summary: LiveStackSummary): { revision: string; ref?: string; configHashes: Record<string, string>; healthy: boolean } | undefined {
  const services = Object.entries(summary.services);
  const revision = mostCommon(services.map(([, s]) => s.revision));
  if (!revision) return undefined;
  const ref = mostCommon(services.filter(([, s]) => s.revision === revision).map(([, s]) => s.ref));
  const configHashes: Record<string, string> = {};
  for (const [name, s] of services) if (s.configHash) configHashes[name] = s.configHash;
  const healthy = services.every(([, s]) => s.running === s.total && s.unhealthy === 0);
  return { revision, ...(ref ? { ref } : {}), configHashes, healthy };
}

/**
 * When the state DB holds no deployment but this data dir has deploy dirs, records each such
 * stack's live revision from its labels; returns the stacks recorded. A no-op on a DB with history.
 */
export async function recordLiveStacks(deps: { state: StateStore; docker: DockerConnection; dataDir: string; logger: Logger; trigger: Trigger; actor: string; command: string }): Promise<string[]> {
  const { state, logger } = deps;
  if (state.deploymentCount() > 0) return [];
  const stacks = deployedStackDirs(deps.dataDir);
  if (stacks.length === 0) return [];
  logger.error(
    { file: state.file, stacks },
    `state database ${state.file} has no deployments although this data dir deployed ${stacks.length} stack(s): it was deleted, emptied or replaced; re-recording the live stacks from their labels (earlier history, pins and failed revisions are lost)`,
  );
  const live = summarizeLive(await collectInventory(deps.docker.docker, { inspect: 'none', projects: stacks }));
  const recorded: string[] = [];
  for (const stack of stacks) {
    const summary = live[stack];
    const found = summary?.managedByDriftd ? recordFromLabels(summary) : undefined;
    if (!found) continue;
    const message = `state database re-created: ${stack} re-recorded from its containers' labels at ${found.ref ? `${found.ref} ` : ''}(${shortCommit(found.revision)})`;
    const op = state.startOperation({ trigger: deps.trigger, actor: deps.actor, command: deps.command, stack, action: 'recover', revision: found.revision });
    state.recordDeployment({
      stack,
      revision: found.revision,
      ...(found.ref ? { ref: found.ref } : {}),
      inputsHash: RELABELLED_INPUTS,
      configHashes: found.configHashes,
      health: found.healthy ? 'Healthy' : 'Degraded',
      status: 'succeeded',
      operationId: op,
    });
    state.finishOperation(op, { result: 'succeeded', message });
    state.audit({ actor: deps.actor, trigger: deps.trigger, action: 'recover', stack, detail: { revision: found.revision, relabelled: true } });
    recorded.push(stack);
  }
  return recorded;
}
