/**
 * Compose's merge rules (compose-go `override` package), used for override files and `extends`:
 * mappings merge, sequences append, `command`/`entrypoint`/`healthcheck.test` replace,
 * key/value fields (`environment`, `labels`, …) merge by key whether written as a list or a map,
 * and list fields that name things (`volumes` by target, `ports`, `secrets`, …) keep one entry per
 * key, the later definition winning.
 */
import { dict, setOwn } from '../util/dict.js';
import { composeError, formatPath } from './errors.js';
import { volumeTarget } from './volumes.js';

export type Model = Record<string, unknown>;
type Path = (string | number)[];

export function isMapping(v: unknown): v is Model {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A YAML scalar (string, number, boolean) as text; undefined for null, lists and mappings. */
export function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return undefined;
}

/** Service-level fields that are key/value maps, written as `KEY=value` lists or as mappings. */
const SERVICE_KV = new Set(['environment', 'labels', 'annotations', 'sysctls', 'build.args', 'build.labels', 'deploy.labels']);
const SERVICE_REPLACE = new Set(['command', 'entrypoint', 'healthcheck.test']);
const SERVICE_APPEND_SEQ = new Set(['env_file', 'label_file', 'dns', 'dns_opt', 'dns_search', 'tmpfs']);

/** "K=V" lists and mappings to one ordered mapping; `K` alone (or `K:` null) means "take from the environment". */
export function toKeyValueMap(value: unknown, path: Path): Record<string, string | null> {
  const out = dict<string | null>();
  if (value === null || value === undefined) return out;
  if (Array.isArray(value)) {
    for (const entry of value) {
      const s = scalarText(entry);
      if (s === undefined) throw composeError('ComposeLoadError', `${formatPath(path)} entries must be "KEY=value" strings`, { path });
      const eq = s.indexOf('=');
      if (eq < 0) out[s] = null;
      else out[s.slice(0, eq)] = s.slice(eq + 1);
    }
    return out;
  }
  if (isMapping(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (v === null || v === undefined) {
        out[k] = null;
        continue;
      }
      const text = scalarText(v);
      if (text === undefined) throw composeError('ComposeLoadError', `${formatPath([...path, k])} must be a string, number or boolean`, { path: [...path, k] });
      out[k] = text;
    }
    return out;
  }
  throw composeError('ComposeLoadError', `${formatPath(path)} must be a list of "KEY=value" strings or a mapping`, { path });
}

function serviceField(path: Path): string | undefined {
  if (path[0] !== 'services' || path.length < 3) return undefined;
  return path
    .slice(2)
    .map((p) => (typeof p === 'number' ? '[]' : p))
    .join('.');
}

function isKvPath(path: Path): boolean {
  const field = serviceField(path);
  if (field !== undefined) return SERVICE_KV.has(field);
  return path.length === 3 && (path[0] === 'networks' || path[0] === 'volumes') && path[2] === 'labels';
}

/** Brings list-or-map fields of one file into mapping form so that merging works by key. */
export function canonicalize(model: Model): Model {
  const walk = (value: unknown, path: Path): unknown => {
    if (isKvPath(path)) return toKeyValueMap(value, path);
    if (serviceField(path) === 'networks' && Array.isArray(value)) {
      return Object.fromEntries(value.map((n) => [String(n), null]));
    }
    if (isMapping(value) && path.length < 4) {
      for (const k of Object.keys(value)) value[k] = walk(value[k], [...path, k]);
    }
    return value;
  };
  return walk(model, []) as Model;
}

function asSequence(v: unknown): unknown[] {
  if (v === null || v === undefined) return [];
  return Array.isArray(v) ? (v as unknown[]) : [v];
}

function mergeMappings(base: Model, over: Model, path: Path): Model {
  const out: Model = { ...base };
  for (const [k, v] of Object.entries(over)) {
    setOwn(out, k, Object.hasOwn(out, k) ? mergeValues(out[k], v, [...path, k]) : v);
  }
  return out;
}

function dependsOnMap(v: unknown): Model {
  if (isMapping(v)) return v;
  return Object.fromEntries(asSequence(v).map((s) => [String(s), { condition: 'service_started' }]));
}

function special(base: unknown, over: unknown, path: Path): { value: unknown } | undefined {
  if (isKvPath(path)) return { value: { ...toKeyValueMap(base, path), ...toKeyValueMap(over, path) } };
  const field = serviceField(path);
  if (field === undefined) return undefined;
  if (SERVICE_REPLACE.has(field)) return { value: over };
  if (SERVICE_APPEND_SEQ.has(field)) return { value: [...asSequence(base), ...asSequence(over)] };
  if (/^ulimits\.[^.]+$/.test(field)) return { value: over ?? base };
  switch (field) {
    case 'extra_hosts': {
      if (isMapping(base) && isMapping(over)) return { value: { ...base, ...over } };
      const left = asSequence(base);
      return { value: [...left, ...asSequence(over).filter((h) => !left.includes(h))] };
    }
    case 'networks':
      return { value: mergeMappings(isMapping(base) ? base : {}, isMapping(over) ? over : {}, path) };
    case 'depends_on':
      if (Array.isArray(base) && Array.isArray(over)) {
        const left = base as unknown[];
        return { value: [...left, ...(over as unknown[]).filter((d) => !left.includes(d))] };
      }
      return { value: mergeMappings(dependsOnMap(base), dependsOnMap(over), path) };
    case 'logging': {
      if (!isMapping(base) || !isMapping(over)) return { value: over ?? base };
      const same = base.driver === over.driver || !('driver' in base) || !('driver' in over);
      return { value: same ? mergeMappings(base, over, path) : over };
    }
    case 'build': {
      const asBuild = (b: unknown): Model => (typeof b === 'string' ? { context: b } : isMapping(b) ? b : {});
      return { value: mergeMappings(asBuild(base), asBuild(over), path) };
    }
    default:
      return undefined;
  }
}

/** Merges `over` onto `base` at `path` (both plain compose values). */
export function mergeValues(base: unknown, over: unknown, path: Path): unknown {
  const s = special(base, over, path);
  if (s) return s.value;
  if (over === null || over === undefined) return base;
  if (isMapping(base)) {
    if (!isMapping(over)) throw composeError('ComposeLoadError', `cannot override ${formatPath(path)}: a mapping cannot be replaced by a ${Array.isArray(over) ? 'list' : 'scalar'}`, { path });
    return mergeMappings(base, over, path);
  }
  if (Array.isArray(base)) {
    if (!Array.isArray(over)) throw composeError('ComposeLoadError', `cannot override ${formatPath(path)}: a list cannot be replaced by a ${isMapping(over) ? 'mapping' : 'scalar'}`, { path });
    return [...(base as unknown[]), ...(over as unknown[])];
  }
  return over;
}

/** Merges a whole compose file onto the model built so far. */
export function mergeModels(base: Model, over: Model): Model {
  return mergeMappings(base, over, []);
}

/** `extends`: the extending service's own definition merged onto (a copy of) its base. */
export function extendService(base: Model, service: Model, name: string): Model {
  return mergeMappings(structuredClone(base), service, ['services', name]);
}

/** Keeps one entry per key, the later definition replacing the earlier one in place. */
export function uniqueBy<T>(list: readonly T[], key: (entry: T, index: number) => string): T[] {
  const out: T[] = [];
  const seen = new Map<string, number>();
  list.forEach((entry, i) => {
    const k = key(entry, i);
    const at = seen.get(k);
    if (at !== undefined) out[at] = entry;
    else {
      seen.set(k, out.length);
      out.push(entry);
    }
  });
  return out;
}

function mountKey(defaultDir: string) {
  return (entry: unknown): string => {
    if (isMapping(entry)) {
      if (typeof entry.target === 'string') return entry.target;
      return `${defaultDir}/${String(entry.source)}`;
    }
    return `${defaultDir}/${String(entry)}`;
  };
}

const stringKey = (entry: unknown): string => {
  const s = String(entry);
  const eq = s.indexOf('=');
  return eq < 0 ? s : s.slice(0, eq);
};

const UNIQUE_SERVICE_LISTS: Record<string, (entry: unknown, path: Path) => string> = {
  volumes: (entry, path) => volumeTarget(entry, path),
  configs: mountKey(''),
  secrets: mountKey('/run/secrets'),
  devices: (entry) => (isMapping(entry) ? String(entry.target) : (String(entry).split(':')[1] ?? String(entry))),
  env_file: (entry) => (isMapping(entry) ? String(entry.path) : String(entry)),
  expose: (entry) => String(entry),
  cap_add: stringKey,
  cap_drop: stringKey,
  dns: stringKey,
  dns_opt: stringKey,
  dns_search: stringKey,
  tmpfs: stringKey,
  links: stringKey,
  external_links: stringKey,
};

/** Removes redefinitions from the services' list fields (ports are handled by the port parser). */
export function enforceUnicity(model: Model): Model {
  const services = model.services;
  if (!isMapping(services)) return model;
  for (const [name, svc] of Object.entries(services)) {
    if (!isMapping(svc)) continue;
    for (const [field, key] of Object.entries(UNIQUE_SERVICE_LISTS)) {
      const list = svc[field];
      if (Array.isArray(list)) svc[field] = uniqueBy(list, (entry, i) => key(entry, ['services', name, field, i]));
    }
  }
  return model;
}
