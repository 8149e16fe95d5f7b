/**
 * Drift of an `engine: swarm` stack (docs/swarm.md), pure: the declared services against the
 * Swarm's service specs and tasks from one `GET /services` + one `GET /tasks`. A service spec is
 * what Swarm converges to, so the spec is compared (image, env, container and service labels,
 * published ports, mounts, replicas, the config-hash label) and the tasks say whether it runs.
 */
import path from 'node:path';
import { dict, isPlainObject, own } from '../util/dict.js';
import { toKeyValueMap } from '../compose/merge.js';
import { resourceName } from './compose-names.js';
import type { DesiredService, DesiredStack } from '../compose/model.js';
import { governingEntry } from './lock-findings.js';
import { compareImage } from './image-drift.js';
import { LABEL_CONFIG_HASH, MANAGED_LABEL_PREFIXES } from '../util/labels.js';
import type { SwarmLive, SwarmService, SwarmTask } from '../swarm/engine-model.js';
import { desiredTasks, serviceName, stackServices, summarizeSwarm } from '../swarm/live.js';
import { STACK_NAMESPACE_LABEL } from '../swarm/stack-file.js';
import { worstHealth } from './health.js';
import type { Finding, HealthStatus } from './model.js';
import { configDriftSeverity } from './policy.js';
import { sameImageRef } from './image-ref.js';
import type { StackSecrets } from './stack-secrets.js';
import { isSecretKey, redactValue } from '../util/scrub.js';
import { plural } from '../util/text.js';
import { parseEnvList } from '../live/inspect-mapper.js';
import { showValue } from './finding-text.js';

export interface SwarmStackDrift {
  findings: Omit<Finding, 'stack'>[];
  health: HealthStatus;
}

/** `docker stack deploy` stamps these on services (com.docker.stack.namespace, com.docker.stack.image). */
const STACK_LABEL_PREFIX = 'com.docker.stack.';

const userLabels = (labels: Readonly<Record<string, string>>): Record<string, string> => {
  const out = dict<string>();
  for (const [k, v] of Object.entries(labels)) {
    if (k === STACK_NAMESPACE_LABEL || k.startsWith(STACK_LABEL_PREFIX) || MANAGED_LABEL_PREFIXES.some((p) => k.startsWith(p))) continue;
    out[k] = v;
  }
  return out;
};

/** The service labels the repo sets (`deploy.labels`, list or mapping); one the model cannot read is none. */
function deployLabels(service: DesiredService): Record<string, string> {
  const deploy = own(service.raw, 'deploy');
  if (!isPlainObject(deploy)) return dict();
  try {
    return userLabels(dict(Object.entries(toKeyValueMap(own(deploy, 'labels'), ['deploy', 'labels'])).map(([k, v]) => [k, v ?? ''] as const)));
  } catch {
    return dict();
  }
}

interface FieldDiff {
  field: string;
  desired: unknown;
  live: unknown;
}

/** Every key either side has, compared; values shown as findings may show them (secrets redacted). */
function compareMaps(prefix: string, want: Readonly<Record<string, string>>, have: Readonly<Record<string, string>>, show: (key: string, v: string | undefined) => unknown): FieldDiff[] {
  const out: FieldDiff[] = [];
  for (const key of [...new Set([...Object.keys(want), ...Object.keys(have)])].sort()) {
    const a = own(want, key);
    const b = own(have, key);
    if (a !== b) out.push({ field: `${prefix}.${key}`, desired: show(key, a), live: show(key, b) });
  }
  return out;
}

/** Published ports as `published:target/protocol` (Swarm publishes a port on every address). */
function portKeys(ports: readonly { published?: string | number | undefined; target: number; protocol: string }[]): string[] {
  return ports.filter((p) => p.published !== undefined).map((p) => `${String(p.published)}:${p.target}/${p.protocol}`).sort();
}

function livePorts(svc: SwarmService): string[] {
  return portKeys((svc.Spec.EndpointSpec?.Ports ?? []).map((p) => ({ published: p.PublishedPort, target: p.TargetPort, protocol: p.Protocol ?? 'tcp' })));
}

// --------------------------------------------------------------------------------- mounts

interface SwarmMount {
  type: string;
  /** undefined: none (tmpfs, anonymous volume). */
  source?: string;
  readOnly: boolean;
}

function cleanPath(p: string): string {
  const n = path.posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/**
 * A bind source inside the stack's deploy dir (`<dataDir>/deploy/<stack>`, where docker stack
 * deploy resolved the stack file's `./rel`) shown as `./rel`, the way the repo writes it. Matched
 * by the `/deploy/<stack>` suffix, not one data dir: another manager's agent may have deployed it.
 */
function liveBindSource(source: string, stack: string): string {
  const p = cleanPath(source);
  const marker = `/deploy/${stack}`;
  if (p.endsWith(marker)) return '.';
  const at = p.lastIndexOf(`${marker}/`);
  return at >= 0 ? `./${p.slice(at + marker.length + 1)}` : p;
}

function desiredMounts(stack: DesiredStack, service: DesiredService): Map<string, SwarmMount> {
  const out = new Map<string, SwarmMount>();
  for (const m of service.mounts) {
    const mount: SwarmMount = { type: m.type, readOnly: m.readOnly };
    // normalize.ts wrote a source inside the stack folder as `./rel` (or `.`), any other as absolute.
    if (m.type === 'bind' && m.source !== undefined) mount.source = m.source.startsWith('/') ? cleanPath(m.source) : m.source;
    else if (m.type === 'volume' && m.source !== undefined) mount.source = resourceName(stack, 'volumes', m.source);
    out.set(cleanPath(m.target), mount);
  }
  return out;
}

function liveMounts(stack: DesiredStack, svc: SwarmService): Map<string, SwarmMount> {
  const out = new Map<string, SwarmMount>();
  for (const m of svc.Spec.TaskTemplate?.ContainerSpec?.Mounts ?? []) {
    const type = m.Type ?? 'volume';
    const mount: SwarmMount = { type, readOnly: m.ReadOnly === true };
    if (m.Source !== undefined && m.Source !== '' && type !== 'tmpfs') mount.source = type === 'bind' ? liveBindSource(m.Source, stack.name) : m.Source;
    out.set(cleanPath(m.Target), mount);
  }
  return out;
}

const mountText = (m: SwarmMount | undefined, target: string): string | null =>
  m === undefined ? null : `${m.type}:${m.source !== undefined ? `${m.source}:` : ''}${target}${m.readOnly ? ':ro' : ''}`;

/** One diff per mount target whose type, source or read-only flag differs, or that one side lacks. */
function compareMounts(stack: DesiredStack, service: DesiredService, svc: SwarmService, secrets: StackSecrets): FieldDiff[] {
  const want = desiredMounts(stack, service);
  const have = liveMounts(stack, svc);
  const out: FieldDiff[] = [];
  for (const target of [...new Set([...want.keys(), ...have.keys()])].sort()) {
    const a = mountText(want.get(target), target);
    const b = mountText(have.get(target), target);
    if (a !== b) out.push({ field: `mounts.${target}`, desired: secrets.scrub(a), live: secrets.scrub(b) });
  }
  return out;
}

/** config-drift of one service spec: image (repository/tag), env, container and service labels, published ports, mounts, config hash. */
function specDiffs(stack: DesiredStack, service: DesiredService, svc: SwarmService, secrets: StackSecrets): FieldDiff[] {
  const spec = svc.Spec.TaskTemplate?.ContainerSpec;
  const out: FieldDiff[] = [];
  const liveImage = spec?.Image ?? '';
  // The repository and tag; the digest against the lock is image-drift's (below).
  if (!sameImageRef(service.image, liveImage.replace(/@sha256:[0-9a-f]{64}$/, ''))) out.push({ field: 'image', desired: service.pinnedImage ?? service.image, live: liveImage });
  out.push(...compareMaps('environment', service.environment, parseEnvList(spec?.Env), (k, v) => secrets.envValue(k, v, service)));
  const showLabel = (k: string, v: string | undefined): unknown => (v === undefined ? null : isSecretKey(k) ? redactValue(v) : secrets.scrub(v));
  out.push(...compareMaps('labels', userLabels(service.labels), userLabels(spec?.Labels ?? {}), showLabel));
  out.push(...compareMaps('deploy.labels', deployLabels(service), userLabels(svc.Spec.Labels), showLabel));
  const wantPorts = portKeys(service.ports);
  const havePorts = livePorts(svc);
  if (wantPorts.join(',') !== havePorts.join(',')) out.push({ field: 'ports', desired: wantPorts, live: havePorts });
  out.push(...compareMounts(stack, service, svc, secrets));
  const hash = svc.Spec.Labels[LABEL_CONFIG_HASH];
  if (out.length === 0 && hash !== undefined && hash !== service.configHash) out.push({ field: 'configHash', desired: service.configHash, live: hash });
  return out;
}

function imageDrift(stack: DesiredStack, service: DesiredService, svc: SwarmService): Omit<Finding, 'stack'> | undefined {
  const entry = governingEntry(stack.lock, service.image);
  const liveImage = svc.Spec.TaskTemplate?.ContainerSpec?.Image;
  if (!entry || liveImage === undefined) return undefined;
  if (compareImage({ lockEntry: entry, liveImage: undefined, containerImageRef: liveImage, image: service.image }) !== 'drift') return undefined;
  return {
    kind: 'image-drift',
    service: service.name,
    severity: 'error',
    message: `Swarm service ${svc.Spec.Name} runs ${liveImage}; the lock pins ${service.image}@${entry.digest}`,
    field: 'image',
    desired: { image: service.image, ...entry },
    live: { service: svc.Spec.Name, image: liveImage },
  };
}

const FAILED = new Set(['failed', 'rejected', 'orphaned', 'remove', 'shutdown', 'complete']);

/** Task findings and the service's health: desired-running tasks that do not run, too few running, an update Swarm paused. */
function taskFindings(service: DesiredService, svc: SwarmService, tasks: readonly SwarmTask[], wanted: number, out: Omit<Finding, 'stack'>[]): HealthStatus {
  const healths: HealthStatus[] = [];
  const running = tasks.filter((t) => t.Status?.State === 'running').length;
  for (const t of tasks) {
    const state = t.Status?.State ?? 'unknown';
    if (state === 'running') continue;
    const why = t.Status?.Err ?? t.Status?.Message ?? '';
    const unhealthy = /unhealthy/i.test(why);
    const failed = unhealthy || FAILED.has(state);
    healths.push(failed ? 'Degraded' : 'Progressing');
    out.push({
      kind: unhealthy ? 'container-unhealthy' : 'container-not-running',
      service: service.name,
      severity: failed ? 'error' : 'warning',
      message: `Swarm task ${t.ID.slice(0, 12)} of ${svc.Spec.Name} is ${state}${why ? ` (${why})` : ''}`,
      live: { task: t.ID, service: svc.Spec.Name, state, ...(why ? { error: why } : {}) },
    });
  }
  if (running < wanted && tasks.length < wanted) {
    healths.push('Degraded');
    out.push({
      kind: 'container-not-running',
      service: service.name,
      severity: 'error',
      message: `Swarm service ${svc.Spec.Name} runs ${plural(running, 'task')} of ${wanted}`,
      live: { service: svc.Spec.Name, running, wanted },
    });
  }
  const update = svc.UpdateStatus?.State;
  if (update === 'updating' || update === 'rollback_started') healths.push('Progressing');
  else if (update === 'paused' || update === 'rollback_paused') healths.push('Degraded');
  return worstHealth(healths);
}

/**
 * The findings of one Swarm stack and its health. `secrets` redacts env and label values
 * exactly like a Compose stack's findings.
 */
export function swarmStackDrift(stack: DesiredStack, live: SwarmLive, secrets: StackSecrets): SwarmStackDrift {
  const out: Omit<Finding, 'stack'>[] = [];
  const mine = stackServices(stack.name, live);
  const byService = desiredTasks(live.tasks);
  const expected = stack.services.reduce((n, s) => n + s.replicas, 0);
  if (Object.keys(mine).length === 0) {
    if (expected === 0) return { findings: [], health: 'Healthy' };
    out.push({
      kind: 'stack-missing',
      severity: 'error',
      message: `Swarm stack ${stack.name} is declared for this host but has no service (the repo wants ${plural(stack.services.length, 'service')})`,
      desired: { services: stack.services.map((s) => s.name).sort() },
      live: { services: [] },
    });
    return { findings: out, health: 'Missing' };
  }
  const healths: HealthStatus[] = [];
  for (const service of [...stack.services].sort((a, b) => a.name.localeCompare(b.name))) {
    const svc = own(mine, service.name);
    if (!svc) {
      healths.push('Missing');
      out.push({
        kind: 'service-missing',
        service: service.name,
        severity: 'error',
        message: `service ${service.name} has no Swarm service ${stack.name}_${service.name}`,
        desired: { replicas: service.replicas },
        live: { replicas: 0 },
      });
      continue;
    }
    const replicated = svc.Spec.Mode?.Replicated;
    const specReplicas = replicated ? (replicated.Replicas ?? 1) : undefined;
    if (specReplicas !== undefined && specReplicas !== service.replicas) {
      out.push({
        kind: 'replicas-mismatch',
        service: service.name,
        severity: 'warning',
        message: `Swarm service ${svc.Spec.Name} is scaled to ${specReplicas}, the repo wants ${service.replicas}`,
        desired: { replicas: service.replicas },
        live: { replicas: specReplicas },
      });
    }
    for (const d of specDiffs(stack, service, svc, secrets)) {
      out.push({
        kind: 'config-drift',
        service: service.name,
        severity: configDriftSeverity(d.field),
        message:
          d.field === 'configHash'
            ? `Swarm service ${svc.Spec.Name} was deployed from other inputs (a mounted file or a setting not compared field by field changed)`
            : `Swarm service ${svc.Spec.Name}: ${d.field} differs: repo ${showValue(d.desired)}, live ${showValue(d.live)}`,
        field: d.field,
        desired: d.desired,
        live: d.live,
      });
    }
    const image = imageDrift(stack, service, svc);
    if (image) out.push(image);
    const tasks = byService.get(svc.ID) ?? [];
    healths.push(taskFindings(service, svc, tasks, specReplicas ?? tasks.length, out));
  }
  const declared = new Set(stack.services.map((s) => s.name));
  for (const svc of live.services) {
    const name = serviceName(svc);
    if (name?.stack !== stack.name || declared.has(name.service)) continue;
    out.push({
      kind: 'service-extra',
      service: name.service,
      severity: 'warning',
      message: `Swarm service ${svc.Spec.Name} runs but is not in the repo`,
      live: { service: svc.Spec.Name },
    });
  }
  return { findings: out, health: worstHealth(healths) };
}

/** Containers of Swarm tasks: reported through their service (above), never as stray containers. */
export function isSwarmTaskContainer(labels: Readonly<Record<string, string>>): boolean {
  return labels['com.docker.swarm.task.id'] !== undefined;
}

/**
 * stack-unmanaged for Swarm stacks (docker stack deploy's namespaces) that this host does not
 * declare. A Swarm is shared by its managers, so one that driftd deployed or that the repo declares
 * for another host is `info`; a stack nobody declares is a `warning`, like a stray Compose project.
 */
export function unmanagedSwarmStacks(live: SwarmLive, declared: ReadonlySet<string>, otherHost: ReadonlySet<string>, wanted: (name: string) => boolean): Finding[] {
  const out: Finding[] = [];
  const summaries = summarizeSwarm(live);
  for (const name of Object.keys(summaries).sort()) {
    const s = own(summaries, name);
    if (!s || declared.has(name) || !wanted(name)) continue;
    const services = Object.keys(s.services).sort();
    const why = s.managedByDriftd
      ? 'driftd deployed it, but the repo no longer declares it for this host'
      : otherHost.has(name)
        ? 'the repo declares it for another host only'
        : 'the repo does not declare it';
    out.push({
      kind: 'stack-unmanaged',
      stack: name,
      severity: s.managedByDriftd || otherHost.has(name) ? 'info' : 'warning',
      message: `Swarm stack ${name} runs ${plural(services.length, 'service')} on this Swarm; ${why}`,
      live: { services: services.map((svc) => `${name}_${svc}`) },
    });
  }
  return out;
}
