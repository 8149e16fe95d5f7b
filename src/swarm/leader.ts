/**
 * The leader rule (pure): only one agent applies a Swarm stack at a time — the one whose engine
 * is the Swarm's current leader. Other managers only report, with a reason `driftd status`
 * shows; an engine that is not a manager (a worker, or no Swarm at all) cannot deploy a stack.
 * Asked again at every reconcile, so the rule follows a leader change by itself.
 */
import type { SwarmInfo, SwarmNode } from './engine-model.js';

export type SwarmRole =
  | { role: 'leader'; nodeId: string }
  | { role: 'follower'; nodeId: string; reason: string }
  | { role: 'none'; reason: string };

/** From `/info` (Swarm.LocalNodeState, ControlAvailable, NodeID) and `/nodes/<self>` (ManagerStatus.Leader). */
export function swarmRole(info: SwarmInfo, self: SwarmNode | undefined): SwarmRole {
  const swarm = info.Swarm;
  const state = swarm?.LocalNodeState ?? 'inactive';
  const nodeId = swarm?.NodeID ?? '';
  if (state !== 'active' || nodeId === '') {
    return { role: 'none', reason: `this engine is not part of a Swarm (state ${state || 'inactive'}): run it on a Swarm manager, or remove engine: swarm` };
  }
  if (swarm?.ControlAvailable !== true) {
    return { role: 'none', reason: `this engine is a Swarm worker (node ${nodeId.slice(0, 12)}): only managers deploy stacks; list the managers under swarm.managers in fleet.yaml` };
  }
  if (self?.ManagerStatus?.Leader === true) return { role: 'leader', nodeId };
  return {
    role: 'follower',
    nodeId,
    reason: `this manager (node ${nodeId.slice(0, 12)}) is not the Swarm leader: the agent on the leader applies Swarm stacks; reported only`,
  };
}
