/**
 * The one implementation of the security policy rules (docs/design.md §8), used by `validate` (findings
 * with file and line), `drift-check` (policy-violation findings) and `sync` (refusal under
 * `enforce`). Pure: a loaded stack and an effective policy in, violations out.
 */
import path from 'node:path';
import { underAllowedPath, type EffectivePolicy } from './effective.js';
import type { PolicyRule } from './schema.js';

/** The parts of a loaded service the rules read (src/compose's DesiredService has them). */
export interface PolicyService {
  name: string;
  privileged: boolean;
  networkMode?: string;
  mounts: readonly { type: string; source?: string; target: string }[];
  /** The resolved service mapping: cap_add, pid, ipc, devices. */
  raw: Record<string, unknown>;
}

export interface PolicyStack {
  name: string;
  services: readonly PolicyService[];
  /** The resolved Compose model (top-level `volumes:` for bind-backed named volumes). */
  model: Record<string, unknown>;
}

export interface Violation {
  rule: PolicyRule;
  service: string;
  /** One sentence naming the service and what breaks the rule. */
  message: string;
  /** Where in the service's compose mapping (for a line number): e.g. ["privileged"], ["volumes"]. */
  field: string;
  /** For mount rules: the host path and the container path. */
  mount?: { source: string; target: string };
}

/** Sockets that give whoever can reach them control of the engine (root on the host). */
const ENGINE_SOCKETS = ['/var/run/docker.sock', '/run/docker.sock', '/run/containerd/containerd.sock', '/var/run/containerd/containerd.sock'];

function exposesEngineSocket(source: string): boolean {
  const s = path.posix.normalize(source).replace(/\/+$/, '') || '/';
  if (s.endsWith('/docker.sock') || s.endsWith('/containerd.sock')) return true;
  return ENGINE_SOCKETS.some((sock) => s === '/' || sock === s || sock.startsWith(`${s}/`));
}

const nonEmptyList = (v: unknown): string[] => (Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : []);

/** Host paths a service mounts: absolute bind sources, and named volumes the local driver binds to a host folder. */
function hostMounts(svc: PolicyService, model: Record<string, unknown>): { source: string; target: string }[] {
  const volumes = (model.volumes ?? {}) as Record<string, unknown>;
  const out: { source: string; target: string }[] = [];
  for (const m of svc.mounts) {
    // The loader keeps sources inside the stack folder as "./…" (or "."), refuses "../…", and
    // leaves everything else as written: absolute and home-relative ("~/…") host paths.
    if (m.type === 'bind' && m.source !== undefined && m.source !== '.' && !m.source.startsWith('./')) out.push({ source: m.source, target: m.target });
    if (m.type === 'volume' && m.source !== undefined && Object.hasOwn(volumes, m.source)) {
      const def = volumes[m.source] as { driver_opts?: Record<string, unknown> } | null;
      const device = def?.driver_opts?.device;
      const o = def?.driver_opts?.o;
      if (typeof device === 'string' && device.startsWith('/') && (typeof o !== 'string' || /\bbind\b/.test(o))) out.push({ source: device, target: m.target });
    }
  }
  return out;
}

export function serviceViolations(svc: PolicyService, model: Record<string, unknown>, policy: EffectivePolicy): Violation[] {
  const out: Violation[] = [];
  const on = (rule: PolicyRule): boolean => policy.rules.has(rule);
  const add = (rule: PolicyRule, field: string, what: string, mount?: Violation['mount']): void => {
    out.push({ rule, service: svc.name, field, message: `service ${svc.name} ${what} (policy rule ${rule})`, ...(mount ? { mount } : {}) });
  };
  if (on('privileged') && svc.privileged) add('privileged', 'privileged', 'runs privileged: every capability and device of the host');
  const caps = nonEmptyList(svc.raw.cap_add);
  if (on('capAdd') && caps.length > 0) add('capAdd', 'cap_add', `adds capabilities ${caps.join(', ')}`);
  if (on('hostNetwork') && svc.networkMode === 'host') add('hostNetwork', 'network_mode', "uses the host's network (network_mode: host)");
  if (on('hostPid') && svc.raw.pid === 'host') add('hostPid', 'pid', "shares the host's process namespace (pid: host)");
  if (on('hostIpc') && svc.raw.ipc === 'host') add('hostIpc', 'ipc', "shares the host's IPC namespace (ipc: host)");
  const devices = nonEmptyList(svc.raw.devices);
  if (on('devices') && devices.length > 0) add('devices', 'devices', `maps host devices ${devices.join(', ')}`);
  for (const m of hostMounts(svc, model)) {
    if (on('dockerSocket') && exposesEngineSocket(m.source)) add('dockerSocket', 'volumes', `mounts the container engine's socket (${m.source} at ${m.target}): root on the host`, m);
    if (on('hostBindMounts') && !policy.allowedHostPaths.every((list) => underAllowedPath(m.source, list))) {
      add('hostBindMounts', 'volumes', `bind-mounts the host path ${m.source} at ${m.target}, outside allowedHostPaths`, m);
    }
  }
  return out;
}

/** Every violation of the stack's services, in service order then rule order. */
export function policyViolations(stack: PolicyStack, policy: EffectivePolicy): Violation[] {
  return [...stack.services].sort((a, b) => a.name.localeCompare(b.name)).flatMap((svc) => serviceViolations(svc, stack.model, policy));
}
