/**
 * The Swarm reads of a reconcile: the leader question (`/info` + `/nodes/<self>`), one
 * `GET /services` and one `GET /tasks` for every Swarm stack at once, and a stack's configs and
 * secrets (to remove rotated ones). Answers are validated with src/swarm's schemas.
 */
import { DriftdError } from '../errors/index.js';
import {
  swarmInfoSchema,
  swarmNodeSchema,
  swarmObjectsSchema,
  swarmServicesSchema,
  swarmTasksSchema,
  type SwarmLive,
} from './engine-model.js';
import { swarmRole, type SwarmRole } from './leader.js';
import { STACK_NAMESPACE_LABEL, type LiveSwarmObject, type SwarmObjectKind } from './stack-file.js';
import { callDocker, parseDockerResponse } from '../live/docker-call.js';
import type { EngineApi } from '../live/engine-api.js';

function need<K extends 'listServices' | 'listTasks' | 'listConfigs' | 'listSecrets' | 'getNode'>(docker: EngineApi, method: K): NonNullable<EngineApi[K]> {
  const fn = docker[method];
  if (!fn) throw new DriftdError('DockerApiError', `this engine client cannot ask the Swarm (${method})`, { address: docker.address ?? '', operation: method });
  return fn.bind(docker) as NonNullable<EngineApi[K]>;
}

/** Whether this engine's agent applies Swarm stacks now (asked at every reconcile: the leader may change). */
export async function readSwarmRole(docker: EngineApi, address: string): Promise<SwarmRole> {
  const info = parseDockerResponse(swarmInfoSchema, await callDocker('info', address, () => docker.info()), 'info', address);
  const nodeId = info.Swarm?.NodeID;
  if (info.Swarm?.LocalNodeState !== 'active' || info.Swarm.ControlAvailable !== true || !nodeId) return swarmRole(info, undefined);
  const getNode = need(docker, 'getNode');
  const node = await callDocker('node inspect', address, () => getNode(nodeId).inspect(), true);
  return swarmRole(info, node === undefined ? undefined : parseDockerResponse(swarmNodeSchema, node, 'node inspect', address));
}

/**
 * One GET /services (only those docker stack deploy created: the namespace label) and one GET /tasks
 * (unfiltered: a task's own labels do not carry the stack's namespace).
 */
export async function readSwarm(docker: EngineApi, address: string): Promise<SwarmLive> {
  const filters = { label: [STACK_NAMESPACE_LABEL] };
  const listServices = need(docker, 'listServices');
  const listTasks = need(docker, 'listTasks');
  const [services, tasks] = await Promise.all([
    callDocker('service list', address, () => listServices({ filters })),
    callDocker('task list', address, () => listTasks({})),
  ]);
  return {
    services: parseDockerResponse(swarmServicesSchema, services, 'service list', address),
    tasks: parseDockerResponse(swarmTasksSchema, tasks, 'task list', address),
  };
}

/** A stack's configs or secrets (by docker stack deploy's namespace label). */
export async function readStackObjects(docker: EngineApi, address: string, kind: SwarmObjectKind, stack: string): Promise<LiveSwarmObject[]> {
  const list = need(docker, kind === 'configs' ? 'listConfigs' : 'listSecrets');
  const what = kind === 'configs' ? 'config list' : 'secret list';
  const answer = await callDocker(what, address, () => list({ filters: { label: [`${STACK_NAMESPACE_LABEL}=${stack}`] } }));
  return parseDockerResponse(swarmObjectsSchema, answer, what, address).map((o) => ({ id: o.ID, name: o.Spec.Name, labels: o.Spec.Labels }));
}
