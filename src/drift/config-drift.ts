/**
 * Field-level comparison of one live container with its desired service. Whatever the engine
 * or Compose fills in by itself (image defaults, Compose labels, project-prefixed names,
 * anonymous volumes for image VOLUMEs, "no" restart policy…) counts as equal, so that a stack
 * freshly deployed by `compose up` from the repo shows no difference. Where the image's defaults
 * are unknown (image gone), fields the service leaves unset are not compared at all.
 */
import { own } from '../util/dict.js';
import path from 'node:path';
import type { DesiredService, DesiredStack, HealthcheckSpec, MountSpec, PortMapping } from '../compose/model.js';
import { LABEL_CONFIG_HASH, MANAGED_LABEL_PREFIXES } from '../util/labels.js';
import { normalizeHostIp } from '../live/inspect-mapper.js';
import type { LiveContainer, LiveContainerConfig, LiveImageDefaults, LiveMount, LivePort } from '../live/model.js';
import { isSecretKey, redactValue } from '../util/scrub.js';
import { implicitMountTargets, resourceName, tmpfsMounts } from './compose-names.js';
import { imageCarriesRef, isImageId, sameImageRef } from './image-ref.js';
import type { StackSecrets } from './stack-secrets.js';

export interface FieldDrift {
  field: string;
  desired: unknown;
  live: unknown;
}

export interface CompareContext {
  stack: DesiredStack;
  service: DesiredService;
  /** com.docker.compose.project.working_dir: where Compose resolved "./" bind sources. */
  workingDir?: string;
  /** The image the container runs; undefined when it could not be inspected. */
  image?: LiveImageDefaults;
  /** Any container of the inventory by ID, for `network_mode: service:x` / `container:x`. */
  containerById: (id: string) => LiveContainer | undefined;
  secrets: StackSecrets;
}

/** Labels Compose, driftd or Docker Desktop put on containers by themselves. */

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function nonEmptyList(list: string[] | undefined): string[] | undefined {
  return list && list.length > 0 ? list : undefined;
}

// ---------------------------------------------------------------------------------- image

function compareImage(ctx: CompareContext, container: LiveContainer): FieldDrift[] {
  const desired = ctx.service.pinnedImage ?? ctx.service.image;
  const live = container.image;
  if (isImageId(live)) {
    // Created from an image ID: judge by what that image answers to.
    if (!ctx.image) return [];
    return imageCarriesRef(desired, ctx.image.repoTags, ctx.image.repoDigests) || imageCarriesRef(ctx.service.image, ctx.image.repoTags, [])
      ? []
      : [{ field: 'image', desired, live }];
  }
  return sameImageRef(desired, live) ? [] : [{ field: 'image', desired, live }];
}

// ------------------------------------------------------------------- command, entrypoint

/**
 * Unset in the service: the engine uses the image's value (and drops the image's Cmd when an
 * entrypoint is given), so both "the image default" and "nothing" are fine.
 */
function compareArgv(
  field: 'command' | 'entrypoint',
  desired: string[] | undefined,
  live: string[] | undefined,
  imageDefault: string[] | undefined,
  imageKnown: boolean,
): FieldDrift[] {
  const want = nonEmptyList(desired);
  if (want) return same(want, live ?? null) ? [] : [{ field, desired: want, live: live ?? null }];
  if (!imageKnown || live === undefined || same(live, imageDefault)) return [];
  return [{ field, desired: imageDefault ?? null, live }];
}

// ---------------------------------------------------------------------------- environment

function compareEnv(ctx: CompareContext, live: Record<string, string>): FieldDrift[] {
  const { service, image, secrets } = ctx;
  const expected: Record<string, string> = { ...(image?.env ?? {}), ...service.environment };
  // Without the image's env we cannot tell its defaults from hand-added keys: compare the service's keys only.
  const keys = image ? new Set([...Object.keys(expected), ...Object.keys(live)]) : new Set(Object.keys(service.environment));
  const out: FieldDrift[] = [];
  for (const key of [...keys].sort()) {
    const want = own(expected, key);
    const have = own(live, key);
    if (want === have) continue;
    out.push({
      field: `environment.${key}`,
      desired: secrets.envValue(key, want, service),
      live: secrets.envValue(key, have, service),
    });
  }
  return out;
}

// --------------------------------------------------------------------------------- labels

function compareLabels(ctx: CompareContext, live: Record<string, string>): FieldDrift[] {
  const { service, image, secrets } = ctx;
  const userOnly = (labels: Record<string, string>): Record<string, string> =>
    Object.fromEntries(Object.entries(labels).filter(([k]) => !MANAGED_LABEL_PREFIXES.some((p) => k.startsWith(p))));
  const userLive = userOnly(live);
  const expected = userOnly({ ...(image?.labels ?? {}), ...service.labels });
  const keys = image?.labels ? new Set([...Object.keys(expected), ...Object.keys(userLive)]) : new Set(Object.keys(service.labels));
  const show = (key: string, v: string | undefined): string | null =>
    v === undefined ? null : isSecretKey(key) ? redactValue(v) : secrets.scrub(v);
  const out: FieldDrift[] = [];
  for (const key of [...keys].sort()) {
    const want = own(expected, key);
    const have = own(userLive, key);
    if (want === have) continue;
    out.push({ field: `labels.${key}`, desired: show(key, want), live: show(key, have) });
  }
  return out;
}

// ---------------------------------------------------------------------------------- ports

function portText(p: { hostIp?: string; published?: string; target: number; protocol: string }): string {
  const ip = normalizeHostIp(p.hostIp);
  const host = ip === undefined ? '' : `${ip.includes(':') ? `[${ip}]` : ip}:`;
  return `${host}${p.published ?? ''}:${p.target}/${p.protocol}`;
}

/** Published ports only: ephemeral and exposed-only ports are the engine's choice, not drift. */
function publishedPorts(ports: readonly (PortMapping | LivePort)[]): string[] {
  const published = ports.filter((p) => p.published !== undefined && p.published !== '' && p.published !== '0');
  return [...new Set(published.map(portText))].sort();
}

function comparePorts(ctx: CompareContext, live: LivePort[]): FieldDrift[] {
  const desired = publishedPorts(ctx.service.ports);
  const actual = publishedPorts(live);
  return same(desired, actual) ? [] : [{ field: 'ports', desired, live: actual }];
}

// --------------------------------------------------------------------------------- mounts

interface CanonicalMount {
  type: string;
  /** undefined: no source (tmpfs, anonymous volume) or not comparable (relative bind, unknown working dir). */
  source?: string;
  target: string;
  readOnly: boolean;
}

function cleanPath(p: string): string {
  const n = path.posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** Shows bind sources inside the project's working dir as "./rel" (how the compose file writes them). */
function stackRelative(abs: string, workingDir: string | undefined): string {
  const p = cleanPath(abs);
  if (workingDir === undefined) return p;
  const base = cleanPath(workingDir);
  if (p === base) return '.';
  return p.startsWith(`${base}/`) ? `./${p.slice(base.length + 1)}` : p;
}

function desiredBindSource(source: string, workingDir: string | undefined): string | undefined {
  if (path.posix.isAbsolute(source)) return stackRelative(source, workingDir);
  if (workingDir === undefined) return undefined;
  return stackRelative(path.posix.resolve(workingDir, source), workingDir);
}

function canonicalDesired(ctx: CompareContext, m: MountSpec): CanonicalMount {
  const c: CanonicalMount = { type: m.type, target: cleanPath(m.target), readOnly: m.readOnly };
  if (m.type === 'bind' && m.source !== undefined) {
    const source = desiredBindSource(m.source, ctx.workingDir);
    if (source !== undefined) c.source = source;
  }
  if (m.type === 'volume' && m.source !== undefined) c.source = resourceName(ctx.stack, 'volumes', m.source);
  return c;
}

const ANONYMOUS_VOLUME = /^[0-9a-f]{64}$/;

function isAnonymous(m: LiveMount): boolean {
  return m.type === 'volume' && (m.source === undefined || ANONYMOUS_VOLUME.test(m.source));
}

function canonicalLive(ctx: CompareContext, m: LiveMount): CanonicalMount {
  const c: CanonicalMount = { type: m.type, target: cleanPath(m.target), readOnly: m.readOnly };
  if (m.type === 'bind' && m.source !== undefined) c.source = stackRelative(m.source, ctx.workingDir);
  else if (m.source !== undefined && m.type !== 'tmpfs' && !isAnonymous(m)) c.source = m.source;
  return c;
}

function mountText(m: CanonicalMount): string {
  return `${m.type}:${m.source !== undefined ? `${m.source}:` : ''}${m.target}${m.readOnly ? ':ro' : ''}`;
}

function mountsMatch(d: CanonicalMount, l: CanonicalMount, desiredSpec: MountSpec): boolean {
  if (d.type !== l.type || d.readOnly !== l.readOnly) return false;
  if (d.source !== undefined) return d.source === l.source;
  // A relative bind source without a known working dir cannot be resolved: the target is all we can check.
  if (desiredSpec.type === 'bind') return true;
  return l.source === undefined;
}

function compareMounts(ctx: CompareContext, live: LiveMount[]): FieldDrift[] {
  const desiredByTarget = new Map([...tmpfsMounts(ctx.service), ...ctx.service.mounts].map((m) => [cleanPath(m.target), m]));
  const implicit = implicitMountTargets(ctx.service);
  const imageVolumes = ctx.image?.volumes ? new Set(ctx.image.volumes.map(cleanPath)) : undefined;
  // Mounts nobody declared but the engine or Compose added: image VOLUMEs, secrets, configs.
  const relevantLive = live.filter((m) => {
    const target = cleanPath(m.target);
    if (desiredByTarget.has(target)) return true;
    if (isAnonymous(m) && (imageVolumes === undefined || imageVolumes.has(target))) return false;
    return !(m.type === 'bind' && implicit.has(target));
  });
  const liveByTarget = new Map(relevantLive.map((m) => [cleanPath(m.target), canonicalLive(ctx, m)]));
  let differs = liveByTarget.size !== desiredByTarget.size;
  for (const [target, spec] of desiredByTarget) {
    const l = liveByTarget.get(target);
    if (!l || !mountsMatch(canonicalDesired(ctx, spec), l, spec)) differs = true;
  }
  if (!differs) return [];
  const show = (list: CanonicalMount[]): string[] => list.map(mountText).sort();
  return [
    {
      field: 'mounts',
      desired: show([...desiredByTarget.values()].map((m) => canonicalDesired(ctx, m))),
      live: show([...liveByTarget.values()]),
    },
  ];
}

// ------------------------------------------------------------------- restart, healthcheck

export function normalizeRestart(policy: string | undefined): string {
  const p = (policy ?? '').trim().toLowerCase();
  if (p === '' || p === 'no') return 'no';
  const m = /^on-failure(?::(\d+))?$/.exec(p);
  if (m) return Number(m[1] ?? 0) > 0 ? `on-failure:${Number(m[1])}` : 'on-failure';
  return p;
}

type Health = NonNullable<LiveContainerConfig['healthcheck']>;
const HEALTH_FIELDS = ['test', 'intervalNs', 'timeoutNs', 'startPeriodNs', 'retries'] as const;

function cleanHealth(h: HealthcheckSpec | Health | undefined): Health {
  const out: Health = {};
  if (h?.test && h.test.length > 0) out.test = h.test;
  for (const f of ['intervalNs', 'timeoutNs', 'startPeriodNs', 'retries'] as const) {
    const v = h?.[f];
    if (v !== undefined && v !== 0) out[f] = v;
  }
  return out;
}

/**
 * The engine fills a container's unset health check fields from the image, so a field the
 * service leaves unset may be either the image's value or unset.
 */
function compareHealthcheck(ctx: CompareContext, liveRaw: Health | undefined): FieldDrift[] {
  const desired = ctx.service.healthcheck;
  const live = cleanHealth(liveRaw);
  const fromImage = cleanHealth(ctx.image?.healthcheck);
  const disabled = desired?.disable === true || desired?.test?.[0] === 'NONE';
  if (disabled) return live.test?.[0] === 'NONE' ? [] : [{ field: 'healthcheck', desired: { test: ['NONE'] }, live }];
  if (desired === undefined && !ctx.image) return [];
  const want = cleanHealth(desired);
  let ok = true;
  for (const f of HEALTH_FIELDS) {
    if (want[f] !== undefined) ok &&= same(want[f], live[f]);
    else if (ctx.image) ok &&= live[f] === undefined || same(live[f], fromImage[f]);
  }
  return ok ? [] : [{ field: 'healthcheck', desired: { ...fromImage, ...want }, live }];
}

// ------------------------------------------------------------------- networks, network mode

function isSpecialMode(mode: string | undefined): boolean {
  return mode === 'host' || mode === 'none' || (mode?.startsWith('container:') ?? false);
}

/** `container:<id>` as people read it: `container:<name>`. */
function liveModeText(ctx: CompareContext, mode: string | undefined): string | null {
  if (mode === undefined) return null;
  if (!mode.startsWith('container:')) return mode;
  const target = ctx.containerById(mode.slice('container:'.length));
  return target ? `container:${target.name}` : mode;
}

function networkModeMatches(ctx: CompareContext, desired: string, live: string | undefined): boolean {
  const want = desired === 'default' ? 'bridge' : desired;
  const got = live === 'default' ? 'bridge' : live;
  if (want.startsWith('service:') || want.startsWith('container:')) {
    if (!got?.startsWith('container:')) return false;
    const target = ctx.containerById(got.slice('container:'.length));
    if (!target) return true; // the other container is gone from the list: nothing to compare with
    const [kind, name] = [want.slice(0, want.indexOf(':')), want.slice(want.indexOf(':') + 1)];
    return kind === 'service' ? target.service === name && target.project === ctx.stack.name : target.name === name || target.id.startsWith(name);
  }
  return want === got;
}

function compareNetworking(ctx: CompareContext, config: LiveContainerConfig): FieldDrift[] {
  const desiredMode = ctx.service.networkMode;
  if (desiredMode !== undefined) {
    return networkModeMatches(ctx, desiredMode, config.networkMode)
      ? []
      : [{ field: 'networkMode', desired: desiredMode, live: liveModeText(ctx, config.networkMode) }];
  }
  if (isSpecialMode(config.networkMode)) {
    return [{ field: 'networkMode', desired: null, live: liveModeText(ctx, config.networkMode) }];
  }
  const desired = [...new Set(ctx.service.networks.map((n) => resourceName(ctx.stack, 'networks', n)))].sort();
  const live = [...config.networks].sort();
  return same(desired, live) ? [] : [{ field: 'networks', desired, live }];
}

// ------------------------------------------------------------------------ user, working dir

function compareOptional(
  field: 'user' | 'workingDir',
  desired: string | undefined,
  live: string | undefined,
  imageDefault: string | undefined,
  imageKnown: boolean,
  clean: (v: string) => string = (v) => v,
): FieldDrift[] {
  const l = live === undefined || live === '' ? undefined : clean(live);
  if (desired !== undefined && desired !== '') {
    return clean(desired) === l ? [] : [{ field, desired, live: live ?? null }];
  }
  if (!imageKnown || l === undefined || l === (imageDefault === undefined ? undefined : clean(imageDefault))) return [];
  return [{ field, desired: imageDefault ?? null, live: live ?? null }];
}

// ----------------------------------------------------------------------------------- entry

/**
 * Every field of the container that differs from the service, values already redacted.
 * A container without `config` (not inspected) is compared on its image reference only.
 */
export function compareContainer(ctx: CompareContext, container: LiveContainer): FieldDrift[] {
  const { service, image } = ctx;
  const drifts: FieldDrift[] = [...compareImage(ctx, container)];
  const config = container.config;
  if (config) {
    const imageKnown = image !== undefined;
    drifts.push(
      ...compareArgv('entrypoint', service.entrypoint, config.entrypoint, image?.entrypoint, imageKnown),
      ...compareArgv('command', service.command, config.command, image?.command, imageKnown),
      ...compareEnv(ctx, config.env),
      ...comparePorts(ctx, config.ports),
      ...compareMounts(ctx, config.mounts),
      ...compareLabels(ctx, container.labels),
    );
    const restart = [normalizeRestart(service.restart), normalizeRestart(config.restart)] as const;
    if (restart[0] !== restart[1]) drifts.push({ field: 'restart', desired: restart[0], live: restart[1] });
    drifts.push(...compareHealthcheck(ctx, config.healthcheck), ...compareNetworking(ctx, config));
    if (service.privileged !== config.privileged) drifts.push({ field: 'privileged', desired: service.privileged, live: config.privileged });
    drifts.push(
      ...compareOptional('user', service.user, config.user, image?.user, imageKnown),
      ...compareOptional('workingDir', service.workingDir, config.workingDir, image?.workingDir, imageKnown, cleanPath),
    );
  }
  // The config hash covers what fields cannot show (content of mounted files, settings not compared
  // one by one); reported only when nothing more specific explains the difference.
  const liveHash = container.labels[LABEL_CONFIG_HASH];
  if (drifts.length === 0 && liveHash !== undefined && liveHash !== service.configHash) {
    drifts.push({ field: 'configHash', desired: service.configHash, live: liveHash });
  }
  return drifts.map((d) => ({ field: d.field, desired: ctx.secrets.scrub(d.desired), live: ctx.secrets.scrub(d.live) }));
}
