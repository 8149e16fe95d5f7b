/**
 * The `swarm` part of docker_state.json (docs/exports.md): the services `docker stack deploy`
 * created and their tasks, from the same GET /services + /tasks as the drift check, in a fixed
 * shape (not the engine's raw spec, which can grow fields driftd never redacted). Env is redacted
 * like a container's: secret-looking keys, the service's env_file keys, known secret values.
 */
import { own } from '../util/dict.js';
import type { SwarmLive, SwarmService } from '../swarm/engine-model.js';
import { serviceName } from '../swarm/live.js';
import { redactEnv, scrubText } from '../util/scrub.js';
import { parseEnvList } from '../live/inspect-mapper.js';
import { serviceKey } from './secrets.js';

export interface DockerStateSwarmService {
  id: string;
  name: string;
  stack: string;
  /** Its name in the compose file. */
  service: string;
  image?: string;
  mode: 'replicated' | 'global';
  replicas?: number;
  labels: Record<string, string>;
  containerLabels: Record<string, string>;
  env: Record<string, string>;
  ports: { target: number; published?: number; protocol: string; publishMode?: string }[];
  mounts: { type?: string; source?: string; target: string; readOnly: boolean }[];
  update?: { state?: string; message?: string };
}

export interface DockerStateSwarmTask {
  id: string;
  serviceId: string;
  /** `<stack>_<service>`. */
  serviceName?: string;
  slot?: number;
  nodeId?: string;
  desiredState?: string;
  state?: string;
  /** The engine's error or message for this task, secrets scrubbed. */
  message?: string;
}

export interface DockerStateSwarm {
  services: DockerStateSwarmService[];
  tasks: DockerStateSwarmTask[];
}

function serviceState(svc: SwarmService, stack: string, service: string, keysByService: Readonly<Record<string, string[]>>, secrets: readonly string[]): DockerStateSwarmService {
  const spec = svc.Spec.TaskTemplate?.ContainerSpec;
  const env = redactEnv(parseEnvList(spec?.Env ?? []), own(keysByService, serviceKey(stack, service)) ?? []);
  for (const [k, v] of Object.entries(env)) env[k] = scrubText(v, secrets);
  const replicated = svc.Spec.Mode?.Replicated;
  return {
    id: svc.ID,
    name: svc.Spec.Name,
    stack,
    service,
    ...(spec?.Image !== undefined ? { image: spec.Image } : {}),
    mode: svc.Spec.Mode?.Global ? 'global' : 'replicated',
    ...(svc.Spec.Mode?.Global ? {} : { replicas: replicated?.Replicas ?? 1 }),
    labels: { ...svc.Spec.Labels },
    containerLabels: { ...(spec?.Labels ?? {}) },
    env,
    ports: (svc.Spec.EndpointSpec?.Ports ?? []).map((p) => ({
      target: p.TargetPort,
      ...(p.PublishedPort !== undefined ? { published: p.PublishedPort } : {}),
      protocol: p.Protocol ?? 'tcp',
      ...(p.PublishMode !== undefined ? { publishMode: p.PublishMode } : {}),
    })),
    mounts: (spec?.Mounts ?? []).map((m) => ({
      ...(m.Type !== undefined ? { type: m.Type } : {}),
      ...(m.Source !== undefined ? { source: m.Source } : {}),
      target: m.Target,
      readOnly: m.ReadOnly ?? false,
    })),
    ...(svc.UpdateStatus ? { update: { ...(svc.UpdateStatus.State ? { state: svc.UpdateStatus.State } : {}), ...(svc.UpdateStatus.Message ? { message: svc.UpdateStatus.Message } : {}) } } : {}),
  };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Stack services (namespace label) and the tasks of those services, sorted; values redacted. */
export function swarmStateOf(live: SwarmLive, keysByService: Readonly<Record<string, string[]>>, secrets: readonly string[]): DockerStateSwarm {
  const services: DockerStateSwarmService[] = [];
  const names = new Map<string, string>();
  for (const svc of live.services) {
    const name = serviceName(svc);
    if (!name) continue;
    names.set(svc.ID, svc.Spec.Name);
    services.push(serviceState(svc, name.stack, name.service, keysByService, secrets));
  }
  const tasks = live.tasks
    .filter((t) => names.has(t.ServiceID))
    .map((t): DockerStateSwarmTask => {
      const why = t.Status?.Err ?? t.Status?.Message;
      const serviceName = names.get(t.ServiceID);
      return {
        id: t.ID,
        serviceId: t.ServiceID,
        ...(serviceName !== undefined ? { serviceName } : {}),
        ...(t.Slot !== undefined ? { slot: t.Slot } : {}),
        ...(t.NodeID !== undefined ? { nodeId: t.NodeID } : {}),
        ...(t.DesiredState !== undefined ? { desiredState: t.DesiredState } : {}),
        ...(t.Status?.State !== undefined ? { state: t.Status.State } : {}),
        ...(why ? { message: scrubText(why, secrets) } : {}),
      };
    });
  services.sort((a, b) => cmp(a.name, b.name));
  tasks.sort((a, b) => cmp(`${a.serviceName ?? ''}\u0000${String(a.slot ?? 0).padStart(6, '0')}\u0000${a.id}`, `${b.serviceName ?? ''}\u0000${String(b.slot ?? 0).padStart(6, '0')}\u0000${b.id}`));
  return { services, tasks };
}
