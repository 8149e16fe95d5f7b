/**
 * One merged, interpolated compose service → driftd's normalized DesiredService (without the
 * config hash and pin, which need the whole stack) and the resolved mapping to deploy.
 */
import { registerSecrets } from '../util/scrub.js';
import { dict, own } from '../util/dict.js';
import type { DesiredService, HealthcheckSpec, MountSpec } from './model.js';
import { composeError, formatPath } from './errors.js';
import { resolveEnvironment, type EnvironmentContext } from './environment.js';
import { parseGoDurationNs } from './go-duration.js';
import { isMapping, scalarText, toKeyValueMap, type Model } from './merge.js';
import { parsePorts, renderPort } from './ports.js';
import { stackRelative } from './safe-fs.js';
import { ShellSplitError, shellSplit } from './shell-split.js';
import { parseVolume } from './volumes.js';

type Path = (string | number)[];

export type NormalizedService = Omit<DesiredService, 'configHash' | 'pinnedImage'>;

export interface NormalizeContext extends EnvironmentContext {
  /** The merged top-level model (for declared volumes, networks, configs, secrets). */
  model: Model;
  /** Stack-relative paths of the repo files at or under a stack-relative path. */
  filesUnder: (rel: string) => string[];
}

/** Top-level configs/secrets a service refers to: name → definition (they feed the config hash). */
export interface ServiceRefs {
  configs: Record<string, unknown>;
  secrets: Record<string, unknown>;
}

export interface NormalizeResult {
  service: NormalizedService;
  refs: ServiceRefs;
}

const fail = (path: Path, reason: string) => composeError('ComposeLoadError', reason, { path });

function declared(model: Model, kind: string): Model {
  const v = model[kind];
  return isMapping(v) ? v : {};
}

function commandOf(value: unknown, path: Path): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') {
    try {
      return shellSplit(value);
    } catch (e) {
      if (e instanceof ShellSplitError) throw fail(path, `${formatPath(path)}: ${e.message}`);
      throw e;
    }
  }
  if (Array.isArray(value)) {
    return (value as unknown[]).map((v, i) => {
      const text = scalarText(v);
      if (text === undefined) throw fail([...path, i], `${formatPath([...path, i])} must be a string`);
      return text;
    });
  }
  throw fail(path, `${formatPath(path)} must be a string or a list of strings`);
}

function durationNs(value: unknown, path: Path): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ns = typeof value === 'string' ? parseGoDurationNs(value) : undefined;
  if (ns === undefined) throw fail(path, `${formatPath(path)}: ${JSON.stringify(value)} is not a duration (use e.g. 30s, 1m30s, 500ms)`);
  return ns;
}

function healthcheckOf(value: unknown, path: Path): HealthcheckSpec | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isMapping(value)) throw fail(path, `${formatPath(path)} must be a mapping`);
  const hc: HealthcheckSpec = {};
  let test: string[] | undefined;
  if (typeof value.test === 'string') test = ['CMD-SHELL', value.test];
  else if (Array.isArray(value.test)) {
    test = (value.test as unknown[]).map((v) => scalarText(v) ?? '');
    const kind = test[0];
    if (kind !== 'NONE' && kind !== 'CMD' && kind !== 'CMD-SHELL') {
      throw fail([...path, 'test'], `${formatPath([...path, 'test'])} must start with "CMD", "CMD-SHELL" or "NONE" (or be a string, run by the shell)`);
    }
  } else if (value.test !== undefined && value.test !== null) throw fail([...path, 'test'], `${formatPath([...path, 'test'])} must be a string or a list`);
  if (value.disable === true || test?.[0] === 'NONE') {
    hc.disable = true;
    hc.test = ['NONE'];
  } else if (test) hc.test = test;
  const interval = durationNs(value.interval, [...path, 'interval']);
  const timeout = durationNs(value.timeout, [...path, 'timeout']);
  const startPeriod = durationNs(value.start_period, [...path, 'start_period']);
  if (interval !== undefined) hc.intervalNs = interval;
  if (timeout !== undefined) hc.timeoutNs = timeout;
  if (startPeriod !== undefined) hc.startPeriodNs = startPeriod;
  if (typeof value.retries === 'number') hc.retries = value.retries;
  return hc;
}

function replicasOf(svc: Model, path: Path): number {
  const deploy = isMapping(svc.deploy) ? svc.deploy : {};
  const fromDeploy = deploy.replicas;
  const scale = svc.scale;
  for (const [v, p] of [
    [fromDeploy, [...path, 'deploy', 'replicas']],
    [scale, [...path, 'scale']],
  ] as const) {
    if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) {
      throw fail([...p], `${formatPath([...p])} must be a whole number ≥ 0`);
    }
  }
  if (typeof fromDeploy === 'number' && typeof scale === 'number' && fromDeploy !== scale) {
    throw fail([...path, 'scale'], `${formatPath(path)}: scale (${scale}) and deploy.replicas (${fromDeploy}) disagree; keep one of them`);
  }
  if (typeof fromDeploy === 'number') return fromDeploy;
  return typeof scale === 'number' ? scale : 1;
}

function optionalString(svc: Model, key: string, path: Path): string | undefined {
  const v = svc[key];
  if (v === undefined || v === null) return undefined;
  const text = scalarText(v);
  if (text === undefined) throw fail([...path, key], `${formatPath([...path, key])} must be a string`);
  return text;
}

function mountsOf(svc: Model, path: Path, ctx: NormalizeContext, mounted: Set<string>): MountSpec[] {
  const list = svc.volumes;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw fail([...path, 'volumes'], `${formatPath([...path, 'volumes'])} must be a list`);
  const volumes = declared(ctx.model, 'volumes');
  const out: MountSpec[] = [];
  for (const [i, entry] of list.entries()) {
    const p = [...path, 'volumes', i];
    const v = parseVolume(entry, p);
    const mount: MountSpec = { type: v.type, target: v.target, readOnly: v.readOnly };
    if (v.type === 'bind' && v.source !== undefined) {
      if (!isAbsoluteHostPath(v.source)) {
        const rel = stackRelative(v.source, { path: p }, 'bind mount source');
        mount.source = rel === '' ? '.' : `./${rel}`;
        for (const f of ctx.filesUnder(rel)) mounted.add(f);
      } else mount.source = v.source;
    } else if (v.type === 'volume' && v.source !== undefined) {
      if (!Object.hasOwn(volumes, v.source)) {
        throw fail(p, `${formatPath(p)}: named volume ${JSON.stringify(v.source)} is not declared under the top-level volumes:`);
      }
      mount.source = v.source;
    }
    out.push(mount);
  }
  return out;
}

function fileRefs(svc: Model, kind: 'configs' | 'secrets', path: Path, ctx: NormalizeContext, mounted: Set<string>): Record<string, unknown> {
  const list = svc[kind];
  if (list === undefined || list === null) return {};
  if (!Array.isArray(list)) throw fail([...path, kind], `${formatPath([...path, kind])} must be a list`);
  const defs = declared(ctx.model, kind);
  const refs = dict<unknown>();
  for (const [i, entry] of list.entries()) {
    const p = [...path, kind, i];
    const name: unknown = isMapping(entry) ? entry.source : entry;
    if (typeof name !== 'string') throw fail(p, `${formatPath(p)} must name a ${kind.slice(0, -1)}`);
    const def = own(defs, name);
    if (def === undefined) throw fail(p, `${formatPath(p)}: ${kind.slice(0, -1)} ${JSON.stringify(name)} is not declared under the top-level ${kind}:`);
    refs[name] = def;
    const rel = definitionFile(kind, name, def);
    if (rel === undefined) continue;
    for (const f of ctx.filesUnder(rel)) {
      mounted.add(f);
      // A Compose secret file's content is a secret, whole and line by line (util/scrub.ts).
      if (kind === 'secrets') registerSecrets([ctx.readFile(f)?.toString('utf8').trim()]);
    }
  }
  return refs;
}

/** An absolute host path (outside the repo); anything else is relative to the stack folder. */
function isAbsoluteHostPath(p: string): boolean {
  return p.startsWith('/') || p.startsWith('~');
}

/** The stack-relative file of a top-level config/secret (`file: ./x`), refused when it leaves the stack. */
function definitionFile(kind: 'configs' | 'secrets', name: string, def: unknown): string | undefined {
  const file = isMapping(def) ? def.file : undefined;
  if (typeof file !== 'string' || isAbsoluteHostPath(file)) return undefined;
  return stackRelative(file, { path: [kind, name, 'file'] }, `${kind}.${name}.file`);
}

/** Checks every top-level config/secret file, used or not: none may leave the stack folder. */
export function checkDefinitionFiles(model: Model): void {
  for (const kind of ['configs', 'secrets'] as const) {
    for (const [name, def] of Object.entries(declared(model, kind))) definitionFile(kind, name, def);
  }
}

function networksOf(svc: Model, path: Path, model: Model, networkMode: string | undefined): string[] {
  const nets = svc.networks;
  const names = isMapping(nets) ? Object.keys(nets) : [];
  if (networkMode !== undefined) {
    if (names.length > 0) throw fail([...path, 'network_mode'], `${formatPath(path)}: network_mode and networks cannot be used together`);
    return [];
  }
  if (names.length === 0) return ['default'];
  const declaredNets = declared(model, 'networks');
  for (const n of names) {
    if (n !== 'default' && !(n in declaredNets)) {
      throw fail([...path, 'networks', n], `${formatPath(path)}: network ${JSON.stringify(n)} is not declared under the top-level networks:`);
    }
  }
  return names.sort();
}

export function normalizeService(name: string, value: unknown, ctx: NormalizeContext): NormalizeResult {
  const path: Path = ['services', name];
  if (!isMapping(value)) throw fail(path, `services.${name} must be a mapping`);
  const svc = value;
  if (svc.profiles !== undefined) {
    throw fail([...path, 'profiles'], `services.${name}.profiles is not supported: driftd deploys every service of a stack; move optional services to a stack of their own`);
  }
  if (svc.label_file !== undefined) throw fail([...path, 'label_file'], `services.${name}.label_file is not supported by driftd; write the labels under labels:`);
  const image = svc.image;
  if (image === undefined || image === null || image === '') {
    throw fail(
      path,
      svc.build !== undefined
        ? `services.${name} has build: but no image:; driftd never builds — build and push the image, then set image:`
        : `services.${name} has no image:`,
    );
  }
  if (typeof image !== 'string') throw fail([...path, 'image'], `services.${name}.image must be a string`);

  const env = resolveEnvironment(svc, name, ctx);
  const mounted = new Set<string>(env.envFiles);
  const command = commandOf(svc.command, [...path, 'command']);
  const entrypoint = commandOf(svc.entrypoint, [...path, 'entrypoint']);
  const ports = parsePorts(svc.ports, [...path, 'ports']);
  const mounts = mountsOf(svc, path, ctx, mounted);
  const refs: ServiceRefs = {
    configs: fileRefs(svc, 'configs', path, ctx, mounted),
    secrets: fileRefs(svc, 'secrets', path, ctx, mounted),
  };
  const labels = Object.fromEntries(Object.entries(toKeyValueMap(svc.labels, [...path, 'labels'])).map(([k, v]) => [k, v ?? '']));
  const healthcheck = healthcheckOf(svc.healthcheck, [...path, 'healthcheck']);
  const networkMode = optionalString(svc, 'network_mode', path);
  const networks = networksOf(svc, path, ctx.model, networkMode);
  const replicas = replicasOf(svc, path);
  const restart = optionalString(svc, 'restart', path);
  const user = optionalString(svc, 'user', path);
  const workingDir = optionalString(svc, 'working_dir', path);
  if (svc.privileged !== undefined && svc.privileged !== null && typeof svc.privileged !== 'boolean') {
    throw fail([...path, 'privileged'], `services.${name}.privileged must be true or false`);
  }

  const raw: Model = { ...svc, environment: env.environment, labels };
  for (const k of ['env_file', 'extends', 'build'] as const) delete raw[k];
  if (command !== undefined) raw.command = command;
  if (entrypoint !== undefined) raw.entrypoint = entrypoint;
  if (svc.ports !== undefined) raw.ports = ports.map(renderPort);
  if (isMapping(svc.deploy) && svc.deploy.replicas !== undefined && svc.scale !== undefined) delete raw.scale;
  if (Object.keys(labels).length === 0) delete raw.labels;
  if (Object.keys(env.environment).length === 0) delete raw.environment;

  const service: NormalizedService = {
    name,
    image,
    environment: env.environment,
    secretEnvKeys: env.secretEnvKeys,
    ports: ports.map((p) => p.mapping),
    mounts,
    labels,
    networks,
    privileged: svc.privileged === true,
    replicas,
    mountedFiles: [...mounted].sort(),
    raw,
  };
  if (command !== undefined) service.command = command;
  if (entrypoint !== undefined) service.entrypoint = entrypoint;
  if (restart !== undefined) service.restart = restart;
  if (healthcheck !== undefined) service.healthcheck = healthcheck;
  if (networkMode !== undefined) service.networkMode = networkMode;
  if (user !== undefined) service.user = user;
  if (workingDir !== undefined) service.workingDir = workingDir;
  return { service, refs };
}
