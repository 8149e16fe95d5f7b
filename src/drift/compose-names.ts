/**
 * What Compose derives from a service declaration by itself: full network and volume names,
 * the mounts it adds for `secrets:` and `configs:`, and which services are one-shot jobs.
 * Read from the resolved model (`DesiredStack.model`, `DesiredService.raw`).
 */
import type { DesiredService, DesiredStack, MountSpec } from '../compose/model.js';

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * The engine-side name of a top-level network or volume: its explicit `name`, the key itself when
 * `external: true`, the legacy `external: { name }`, else `<project>_<key>` (v1 and v2 agree).
 */
export function resourceName(stack: DesiredStack, section: 'networks' | 'volumes', key: string): string {
  const def = asRecord(asRecord(stack.model[section])?.[key]);
  if (typeof def?.name === 'string' && def.name !== '') return def.name;
  const external = def?.external;
  const externalName = asRecord(external)?.name;
  if (typeof externalName === 'string' && externalName !== '') return externalName;
  if (external === true || asRecord(external) !== undefined) return key;
  return `${stack.name}_${key}`;
}

function listOfRefs(v: unknown): { source: string; target?: string }[] {
  if (!Array.isArray(v)) return [];
  const out: { source: string; target?: string }[] = [];
  for (const item of v) {
    if (typeof item === 'string') out.push({ source: item });
    const rec = asRecord(item);
    if (rec && typeof rec.source === 'string') {
      out.push(typeof rec.target === 'string' ? { source: rec.source, target: rec.target } : { source: rec.source });
    }
  }
  return out;
}

/** Targets of the bind mounts Compose adds for `secrets:` (/run/secrets/<name>) and `configs:` (/<name>). */
export function implicitMountTargets(service: DesiredService): Set<string> {
  const targets = new Set<string>();
  for (const s of listOfRefs(service.raw.secrets)) {
    const t = s.target ?? s.source;
    targets.add(t.startsWith('/') ? t : `/run/secrets/${t}`);
  }
  for (const c of listOfRefs(service.raw.configs)) targets.add(c.target ?? `/${c.source}`);
  return targets;
}

/** The service-level `tmpfs:` key ("/run" or "/run:size=64k,ro"), which Compose turns into tmpfs mounts. */
export function tmpfsMounts(service: DesiredService): MountSpec[] {
  const raw = service.raw.tmpfs;
  const items = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  const out: MountSpec[] = [];
  for (const item of items) {
    if (typeof item !== 'string' || item === '') continue;
    const colon = item.indexOf(':');
    const target = colon < 0 ? item : item.slice(0, colon);
    const options = colon < 0 ? [] : item.slice(colon + 1).split(',');
    out.push({ type: 'tmpfs', target, readOnly: options.includes('ro') });
  }
  return out;
}

/**
 * Services another service waits for with `condition: service_completed_successfully`: jobs that
 * are meant to run once and exit 0, so "exited (0)" is their healthy end state.
 */
export function oneShotServices(stack: DesiredStack): Set<string> {
  const out = new Set<string>();
  for (const service of stack.services) {
    const deps = asRecord(service.raw.depends_on);
    for (const [name, spec] of Object.entries(deps ?? {})) {
      if (asRecord(spec)?.condition === 'service_completed_successfully') out.add(name);
    }
  }
  return out;
}

/** The service's `env_file:` entries as written, when the resolved mapping still carries them. */
export function envFilePaths(service: DesiredService): string[] {
  const raw = service.raw.env_file;
  const items = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  const out: string[] = [];
  for (const item of items) {
    const p = typeof item === 'string' ? item : asRecord(item)?.path;
    if (typeof p === 'string') out.push(p);
  }
  return out;
}

function definitionFiles(stack: DesiredStack, section: 'secrets' | 'configs'): string[] {
  const out: string[] = [];
  for (const def of Object.values(asRecord(stack.model[section]) ?? {})) {
    const file = asRecord(def)?.file;
    if (typeof file === 'string') out.push(file);
  }
  return out;
}

/** Paths of the stack's file-based `secrets:` (their whole content is secret). */
export function secretFilePaths(stack: DesiredStack): string[] {
  return definitionFiles(stack, 'secrets');
}

/** Paths of the stack's file-based `configs:`. */
export function configFilePaths(stack: DesiredStack): string[] {
  return definitionFiles(stack, 'configs');
}
