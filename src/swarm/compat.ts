/**
 * What `docker stack deploy` refuses or silently ignores in a compose file (pure). Swarm takes the
 * same files as Compose, but not every key: docker/cli's stack loader refuses some ("compose file
 * contains unsupported options") and drops others with one line on stderr ("Ignoring unsupported
 * options: …") that nobody reads in an agent's log. A key whose loss changes what the service may
 * do or reach is an error here; one whose loss is cosmetic or has a Swarm replacement, a warning.
 */
import { isPlainObject, own } from '../util/dict.js';

export type SwarmSeverity = 'error' | 'warning';

export interface SwarmIssue {
  severity: SwarmSeverity;
  /** Path in the compose model, e.g. ['services', 'web', 'build']. */
  path: (string | number)[];
  /** One sentence: what Swarm does with it and what to write instead. */
  message: string;
}

interface Rule {
  severity: SwarmSeverity;
  why: string;
}

const refused = (advice: string): Rule => ({ severity: 'error', why: `docker stack deploy refuses it: ${advice}` });
const resources = refused('set limits under deploy.resources');
const droppedRisk = (what: string): Rule => ({ severity: 'error', why: `Swarm ignores it, so the service would run ${what}` });
const dropped = (advice: string): Rule => ({ severity: 'warning', why: `Swarm ignores it; ${advice}` });

/** Service keys, by docker/cli's stack loader (unsupported, deprecated and forbidden properties). */
const RULES: Readonly<Record<string, Rule>> = Object.freeze({
  build: { severity: 'error', why: 'Swarm does not build images: every node pulls `image:` from a registry; build and push it in CI, then reference it (and lock its digest)' },
  volumes_from: refused('define the volume at the top level and mount it in each service'),
  volume_driver: refused('define the volume at the top level with its driver'),
  cpu_quota: resources,
  cpu_shares: resources,
  cpuset: resources,
  mem_limit: resources,
  memswap_limit: resources,
  cpus: refused('it is not in Swarm’s compose schema; set deploy.resources.limits.cpus'),
  mem_reservation: refused('it is not in Swarm’s compose schema; set deploy.resources.reservations.memory'),
  privileged: droppedRisk('unprivileged (Swarm services cannot be privileged)'),
  devices: droppedRisk('without these devices'),
  network_mode: droppedRisk('on the stack’s overlay network instead; to use the host network, attach the external network `host` under networks:'),
  security_opt: droppedRisk('without these security options'),
  pid: droppedRisk('in its own PID namespace'),
  ipc: droppedRisk('in its own IPC namespace'),
  userns_mode: droppedRisk('in the engine’s default user namespace'),
  cgroup_parent: droppedRisk('under the engine’s default cgroup'),
  restart: dropped('set deploy.restart_policy'),
  container_name: dropped('Swarm names each task <stack>_<service>.<slot>.<id>'),
  links: dropped('services reach each other by service name on a shared network'),
  external_links: dropped('attach the service to the other stack’s network and use its service name'),
  expose: dropped('services on one network reach each other on every port'),
  domainname: dropped('set it inside the image if the service needs it'),
  mac_address: dropped('a task gets its address from the overlay network'),
  shm_size: dropped('mount a tmpfs at /dev/shm if the service needs more shared memory'),
});

/** A published port bound to one host address ("127.0.0.1:8080:80" or host_ip): Swarm's ingress drops the address. */
function hostBoundPorts(ports: unknown): number[] {
  if (!Array.isArray(ports)) return [];
  const out: number[] = [];
  ports.forEach((p: unknown, i) => {
    const hostIp = typeof p === 'string' ? /^(\[[^\]]*\]|[^:[\]]*\.[^:]*):/.exec(p)?.[1] : isPlainObject(p) ? p.host_ip : undefined;
    if (typeof hostIp === 'string' && hostIp !== '' && hostIp !== '0.0.0.0' && hostIp !== '::' && hostIp !== '[::]') out.push(i);
  });
  return out;
}

function serviceIssues(name: string, svc: Record<string, unknown>): SwarmIssue[] {
  const out: SwarmIssue[] = [];
  const at = (...rest: (string | number)[]): (string | number)[] => ['services', name, ...rest];
  for (const key of Object.keys(svc).sort()) {
    const rule = own(RULES, key);
    if (rule) out.push({ severity: rule.severity, path: at(key), message: `services.${name}.${key}: ${rule.why}` });
  }
  const dependsOn = svc.depends_on;
  if (isPlainObject(dependsOn)) {
    out.push({
      severity: 'error',
      path: at('depends_on'),
      message: `services.${name}.depends_on: docker stack deploy accepts only the short list form, and Swarm ignores the order anyway; let each service wait for what it needs (a healthcheck and restart_policy)`,
    });
  } else if (Array.isArray(dependsOn)) {
    out.push({ severity: 'warning', path: at('depends_on'), message: `services.${name}.depends_on: Swarm ignores it and starts services in any order; let each service wait for what it needs` });
  }
  for (const i of hostBoundPorts(svc.ports)) {
    out.push({
      severity: 'error',
      path: at('ports', i),
      message: `services.${name}.ports[${i}]: Swarm's ingress publishes on every address of every node and ignores the host address, so the port would be reachable from outside; publish with mode: host on a pinned node, or put a proxy in front`,
    });
  }
  return out;
}

/** The issues in one compose file's model (as parsed, before merging), in file order of services. */
export function swarmIssues(model: unknown): SwarmIssue[] {
  if (!isPlainObject(model) || !isPlainObject(model.services)) return [];
  const out: SwarmIssue[] = [];
  for (const [name, svc] of Object.entries(model.services)) if (isPlainObject(svc)) out.push(...serviceIssues(name, svc));
  return out;
}
