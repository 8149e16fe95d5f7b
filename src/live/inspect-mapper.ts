/**
 * Pure mapping from validated Docker API JSON to the plain live model. Empty strings, empty
 * lists and zero durations become `undefined`, so the drift engine compares meaning, not the
 * engine's way of writing "not set".
 */
import { dict } from '../util/dict.js';
import type {
  ContainerHealth,
  ContainerState,
  LiveContainer,
  LiveContainerConfig,
  LiveImageDefaults,
  LiveMount,
  LiveNetwork,
  LivePort,
  LiveVolume,
} from './model.js';
import type {
  ContainerInspectJson,
  ContainerSummaryJson,
  ImageInspectJson,
  NetworkJson,
  VolumeJson,
} from './docker-schemas.js';
import { COMPOSE_LABELS } from '../util/labels.js';

const CONTAINER_STATES: readonly ContainerState[] = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];
const HEALTH_STATES: readonly ContainerHealth[] = ['healthy', 'unhealthy', 'starting', 'none'];

/** An engine newer than this code may report a state we do not know: treat it as not running. */
export function toContainerState(status: string): ContainerState {
  const s = status.toLowerCase();
  return (CONTAINER_STATES as readonly string[]).includes(s) ? (s as ContainerState) : 'dead';
}

function toHealth(status: string | null | undefined): ContainerHealth {
  const s = (status ?? '').toLowerCase();
  return (HEALTH_STATES as readonly string[]).includes(s) ? (s as ContainerHealth) : 'none';
}

/** The list only carries health inside the human `Status` text on engines before API 1.52. */
export function healthFromStatusText(status: string): ContainerHealth {
  if (status.includes('(unhealthy)')) return 'unhealthy';
  if (status.includes('(healthy)')) return 'healthy';
  if (status.includes('(health: starting)')) return 'starting';
  return 'none';
}

function exitCodeFromStatusText(status: string): number | undefined {
  const m = /^Exited \((-?\d+)\)/.exec(status);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

export function parseEnvList(list: readonly string[] | null | undefined): Record<string, string> {
  const env = dict<string>();
  for (const entry of list ?? []) {
    const eq = entry.indexOf('=');
    if (eq < 0) env[entry] = '';
    else env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

function nonEmpty(s: string | null | undefined): string | undefined {
  return s === null || s === undefined || s === '' ? undefined : s;
}

function commandList(v: string[] | string | null | undefined): string[] | undefined {
  if (v === null || v === undefined) return undefined;
  const list = typeof v === 'string' ? [v] : v;
  return list.length === 0 ? undefined : [...list];
}

function positive(n: number | null | undefined): number | undefined {
  return n === null || n === undefined || n === 0 ? undefined : n;
}

type HealthJson = NonNullable<ContainerInspectJson['Config']['Healthcheck']>;

export function mapHealthcheck(h: HealthJson | null | undefined): LiveContainerConfig['healthcheck'] {
  if (!h) return undefined;
  const out: NonNullable<LiveContainerConfig['healthcheck']> = {};
  const test = commandList(h.Test);
  if (test) out.test = test;
  const interval = positive(h.Interval);
  if (interval !== undefined) out.intervalNs = interval;
  const timeout = positive(h.Timeout);
  if (timeout !== undefined) out.timeoutNs = timeout;
  const startPeriod = positive(h.StartPeriod);
  if (startPeriod !== undefined) out.startPeriodNs = startPeriod;
  const retries = positive(h.Retries);
  if (retries !== undefined) out.retries = retries;
  return Object.keys(out).length === 0 ? undefined : out;
}

/** "", "0.0.0.0" and "::" all mean "every interface". */
export function normalizeHostIp(ip: string | null | undefined): string | undefined {
  if (ip === null || ip === undefined || ip === '' || ip === '0.0.0.0' || ip === '::') return undefined;
  return ip;
}

function parsePortKey(key: string): { target: number; protocol: LivePort['protocol'] } | undefined {
  const [port, proto = 'tcp'] = key.split('/');
  const target = Number(port);
  if (!Number.isInteger(target)) return undefined;
  const protocol = proto === 'udp' || proto === 'sctp' ? proto : 'tcp';
  return { target, protocol };
}

/** HostConfig.PortBindings is what was asked for (not what the engine happened to bind): that is what the compose file controls. */
export function mapPorts(
  exposed: Record<string, unknown> | null | undefined,
  bindings: ContainerInspectJson['HostConfig']['PortBindings'],
): LivePort[] {
  const keys = new Set([...Object.keys(exposed ?? {}), ...Object.keys(bindings ?? {})]);
  const ports: LivePort[] = [];
  for (const key of [...keys].sort()) {
    const parsed = parsePortKey(key);
    if (!parsed) continue;
    const list = bindings?.[key] ?? [];
    if (list.length === 0) {
      ports.push({ ...parsed });
      continue;
    }
    for (const b of list) {
      const port: LivePort = { ...parsed };
      const published = nonEmpty(b.HostPort);
      if (published !== undefined && published !== '0') port.published = published;
      const hostIp = normalizeHostIp(b.HostIp);
      if (hostIp !== undefined) port.hostIp = hostIp;
      ports.push(port);
    }
  }
  return ports;
}

const MOUNT_TYPES: readonly LiveMount['type'][] = ['bind', 'volume', 'tmpfs', 'npipe', 'cluster'];

export function mapMounts(inspect: ContainerInspectJson): LiveMount[] {
  const mounts: LiveMount[] = [];
  for (const m of inspect.Mounts ?? []) {
    // Mount types this model does not know (e.g. "image" on API ≥ 1.48) cannot be compared.
    if (!(MOUNT_TYPES as readonly string[]).includes(m.Type)) continue;
    const type = m.Type as LiveMount['type'];
    const mount: LiveMount = { type, target: m.Destination, readOnly: m.RW === false };
    const source = type === 'volume' ? nonEmpty(m.Name) : type === 'tmpfs' ? undefined : nonEmpty(m.Source);
    if (source !== undefined) mount.source = source;
    mounts.push(mount);
  }
  // `--tmpfs` / Compose `tmpfs:` mounts live in HostConfig.Tmpfs and are not listed in Mounts.
  const seen = new Set(mounts.map((m) => m.target));
  for (const [target, options] of Object.entries(inspect.HostConfig.Tmpfs ?? {})) {
    if (seen.has(target)) continue;
    mounts.push({ type: 'tmpfs', target, readOnly: options.split(',').includes('ro') });
  }
  return mounts.sort((a, b) => a.target.localeCompare(b.target));
}

export function mapRestart(policy: ContainerInspectJson['HostConfig']['RestartPolicy']): string | undefined {
  const name = nonEmpty(policy?.Name);
  if (name === undefined || name === 'no') return undefined;
  const retries = policy?.MaximumRetryCount ?? 0;
  return name === 'on-failure' && retries > 0 ? `on-failure:${retries}` : name;
}

export function mapContainerConfig(inspect: ContainerInspectJson): LiveContainerConfig {
  const { Config: cfg, HostConfig: host } = inspect;
  const config: LiveContainerConfig = {
    env: parseEnvList(cfg.Env),
    ports: mapPorts(cfg.ExposedPorts, host.PortBindings),
    mounts: mapMounts(inspect),
    networks: Object.keys(inspect.NetworkSettings?.Networks ?? {}).sort(),
    privileged: host.Privileged === true,
  };
  const command = commandList(cfg.Cmd);
  if (command) config.command = command;
  const entrypoint = commandList(cfg.Entrypoint);
  if (entrypoint) config.entrypoint = entrypoint;
  const restart = mapRestart(host.RestartPolicy);
  if (restart) config.restart = restart;
  const healthcheck = mapHealthcheck(cfg.Healthcheck);
  if (healthcheck) config.healthcheck = healthcheck;
  const networkMode = nonEmpty(host.NetworkMode);
  if (networkMode) config.networkMode = networkMode;
  const user = nonEmpty(cfg.User);
  if (user) config.user = user;
  const workingDir = nonEmpty(cfg.WorkingDir);
  if (workingDir) config.workingDir = workingDir;
  return config;
}

function composeIdentity(labels: Record<string, string>): Pick<LiveContainer, 'project' | 'service' | 'number'> {
  const out: Pick<LiveContainer, 'project' | 'service' | 'number'> = {};
  const project = nonEmpty(labels[COMPOSE_LABELS.project]);
  if (project !== undefined) out.project = project;
  const service = nonEmpty(labels[COMPOSE_LABELS.service]);
  if (service !== undefined) out.service = service;
  const number = Number(labels[COMPOSE_LABELS.number]);
  if (labels[COMPOSE_LABELS.number] !== undefined && Number.isInteger(number)) out.number = number;
  return out;
}

/** A container as the list shows it: no config (the drift engine then skips field-level checks). */
export function mapContainerSummary(json: ContainerSummaryJson): LiveContainer {
  const labels = dict(Object.entries(json.Labels ?? {}));
  const status = json.Status ?? '';
  const state = toContainerState(json.State);
  const container: LiveContainer = {
    id: json.Id,
    name: (json.Names?.[0] ?? json.Id.slice(0, 12)).replace(/^\//, ''),
    ...composeIdentity(labels),
    image: json.Image,
    imageId: json.ImageID,
    state,
    health: json.Health?.Status ? toHealth(json.Health.Status) : healthFromStatusText(status),
    labels,
    createdAt: new Date(json.Created * 1000).toISOString(),
  };
  const exitCode = state === 'exited' ? exitCodeFromStatusText(status) : undefined;
  if (exitCode !== undefined) container.exitCode = exitCode;
  return container;
}

/** A container from its inspect JSON: fresher than the list entry and with its config. */
export function mapContainerInspect(json: ContainerInspectJson): LiveContainer {
  const labels = dict(Object.entries(json.Config.Labels ?? {}));
  const state = toContainerState(json.State.Status);
  const container: LiveContainer = {
    id: json.Id,
    name: json.Name.replace(/^\//, ''),
    ...composeIdentity(labels),
    image: json.Config.Image,
    imageId: json.Image,
    state,
    health: toHealth(json.State.Health?.Status),
    labels,
    createdAt: json.Created,
    config: mapContainerConfig(json),
  };
  if (state === 'exited' || state === 'dead') container.exitCode = json.State.ExitCode ?? 0;
  if (json.RestartCount !== null && json.RestartCount !== undefined) container.restartCount = json.RestartCount;
  return container;
}

export function mapImageInspect(json: ImageInspectJson): LiveImageDefaults {
  const cfg = json.Config;
  const image: LiveImageDefaults = {
    id: json.Id,
    repoTags: [...(json.RepoTags ?? [])],
    repoDigests: [...(json.RepoDigests ?? [])],
    env: parseEnvList(cfg?.Env),
    labels: { ...(cfg?.Labels ?? {}) },
    volumes: Object.keys(cfg?.Volumes ?? {}).sort(),
  };
  const command = commandList(cfg?.Cmd);
  if (command) image.command = command;
  const entrypoint = commandList(cfg?.Entrypoint);
  if (entrypoint) image.entrypoint = entrypoint;
  const user = nonEmpty(cfg?.User);
  if (user) image.user = user;
  const workingDir = nonEmpty(cfg?.WorkingDir);
  if (workingDir) image.workingDir = workingDir;
  const healthcheck = mapHealthcheck(cfg?.Healthcheck);
  if (healthcheck) image.healthcheck = healthcheck;
  const os = nonEmpty(json.Os);
  if (os) image.os = os;
  const architecture = nonEmpty(json.Architecture);
  if (architecture) image.architecture = architecture;
  const variant = nonEmpty(json.Variant);
  if (variant) image.variant = variant;
  return image;
}

export function mapNetwork(json: NetworkJson): LiveNetwork {
  const labels = dict(Object.entries(json.Labels ?? {}));
  const network: LiveNetwork = { id: json.Id, name: json.Name, driver: json.Driver ?? '', labels };
  const project = nonEmpty(labels[COMPOSE_LABELS.project]);
  if (project !== undefined) network.project = project;
  return network;
}

export function mapVolume(json: VolumeJson): LiveVolume {
  const labels = dict(Object.entries(json.Labels ?? {}));
  const volume: LiveVolume = { name: json.Name, driver: json.Driver ?? '', labels };
  const project = nonEmpty(labels[COMPOSE_LABELS.project]);
  if (project !== undefined) volume.project = project;
  return volume;
}
