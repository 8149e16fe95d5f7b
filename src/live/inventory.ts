/**
 * The live inventory through the Docker API, with as few calls as the comparison needs:
 * one container list, one version, one network list and one volume list (all in parallel; the
 * agent reuses them while the engine's event stream shows no change, engine-watch.ts),
 * then container inspects only for the containers asked for and one image inspect per
 * distinct image those containers run, both with bounded concurrency (16: on a small host the
 * engine answers inspects faster with more in flight, and each one is cheap).
 */
import { dict, own, ownOrSet } from '../util/dict.js';
import { callDocker, dockerAddress, parseDockerResponse } from './docker-call.js';
import type { EngineApi } from './engine-api.js';
import {
  containerInspectSchema,
  containerListSchema,
  imageInspectSchema,
  networkListSchema,
  versionSchema,
  volumeListSchema,
} from './docker-schemas.js';
import {
  mapContainerInspect,
  mapContainerSummary,
  mapImageInspect,
  mapNetwork,
  mapVolume,
} from './inspect-mapper.js';
import { mapLimit } from './map-limit.js';
import type { LiveContainer, LiveImageDefaults, LiveInventory, LiveNetwork, LiveProject, LiveVolume } from './model.js';
import type { ListingCache } from './engine-watch.js';
import { COMPOSE_LABELS } from '../util/labels.js';

/** The engine calls this module makes (EngineClient and a Dockerode instance satisfy it). */
export interface DockerApi extends Pick<EngineApi, 'address' | 'listContainers' | 'getContainer' | 'listNetworks' | 'listVolumes' | 'version'> {
  getImage(name: string): { inspect(): Promise<unknown> };
}

export interface InventoryOptions {
  /**
   * Which containers get a full inspect (needed for field-level config drift). Default `'all'`.
   * Containers not inspected keep what the list carries (state, health, labels, image) and no `config`.
   */
  inspect?: 'all' | 'none' | ((container: LiveContainer) => boolean);
  /**
   * Compose projects of interest: only their containers are inspected and only their networks and
   * volumes are kept. Every container is still listed (stack-unmanaged needs them all). A promise
   * lets the list calls start while the caller still works out the names (e.g. loads the repo);
   * when it rejects, so does the inventory.
   */
  projects?: readonly string[] | Promise<readonly string[]>;
  /**
   * Projects whose containers are probably wanted (e.g. the stacks the state DB says this host runs):
   * while `projects` is still a pending promise, their containers are inspected already, so the
   * engine's inspect latency overlaps the caller's own work (drift-check's repo load). An inspect
   * of a container that `projects` then leaves out is dropped: the inventory is the same as without it.
   */
  prefetch?: readonly string[];
  /**
   * The agent's cache of the list calls (engine-watch.ts): reused while the engine's event stream
   * vouches that nothing changed; inspects are never cached.
   */
  listing?: ListingCache<Listing>;
  /** Inspect calls in flight at once. Default 16. */
  concurrency?: number;
  /** The engine address for error messages (createDockerClient's `address`); default: read from the client. */
  address?: string;
  now?: () => Date;
}

const PROJECT_FILTER = { filters: { label: [COMPOSE_LABELS.project] } };

function shouldInspect(opts: InventoryOptions, projects: Set<string> | undefined): (c: LiveContainer) => boolean {
  const inspect = opts.inspect ?? 'all';
  return (c) => {
    if (inspect === 'none') return false;
    if (projects && (c.project === undefined || !projects.has(c.project))) return false;
    return inspect === 'all' ? true : inspect(c);
  };
}

/** Containers by Compose project (a project named `constructor` is a project like any other). */
export function groupProjects(containers: readonly LiveContainer[]): Record<string, LiveProject> {
  const projects = dict<LiveProject>();
  for (const c of containers) {
    if (c.project === undefined) continue;
    const name = c.project;
    const project = ownOrSet(projects, name, () => ({ name, containers: [] }));
    project.containers.push(c);
    const workingDir = own(c.labels, COMPOSE_LABELS.workingDir);
    if (project.workingDir === undefined && workingDir) project.workingDir = workingDir;
    const configFiles = own(c.labels, COMPOSE_LABELS.configFiles);
    if (project.configFiles === undefined && configFiles) project.configFiles = configFiles.split(',').filter(Boolean);
  }
  return projects;
}

/** At most `limit` of the calls it runs are in flight at once; the others wait in order. */
function limiter(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else active += 1;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active -= 1;
    }
  };
}

function byName<T extends { name: string }>(a: T, b: T): number {
  return a.name.localeCompare(b.name);
}

/**
 * Reads what the engine runs now. Throws `DockerUnreachable` when the engine cannot be reached and
 * `DockerApiError` when it answers with an error or with JSON this code does not understand.
 * A container or image removed between the list and its inspect is left out (containers) or
 * left without defaults (images), never an error.
 */
/** What the four list calls answer, validated and mapped: the part of an inventory a cache may keep. */
export interface Listing {
  engine: LiveInventory['engine'];
  /** Every container, as the list carries it (no config). */
  listed: LiveContainer[];
  /** Networks and volumes of Compose projects (all of them; the caller's scope is applied after). */
  networks: LiveNetwork[];
  volumes: LiveVolume[];
}

/** The four list calls, in parallel. */
async function listEngine(docker: DockerApi, address: string): Promise<Listing> {
  const [versionRaw, listRaw, networksRaw, volumesRaw] = await Promise.all([
    callDocker('version', address, () => docker.version()),
    callDocker('list containers', address, () => docker.listContainers({ all: true })),
    callDocker('list networks', address, () => docker.listNetworks(PROJECT_FILTER)),
    callDocker('list volumes', address, () => docker.listVolumes(PROJECT_FILTER)),
  ]);
  const version = parseDockerResponse(versionSchema(), versionRaw, 'version', address);
  return {
    engine: { version: version.Version, apiVersion: version.ApiVersion, os: version.Os, arch: version.Arch },
    listed: parseDockerResponse(containerListSchema(), listRaw, 'list containers', address).map(mapContainerSummary),
    networks: parseDockerResponse(networkListSchema(), networksRaw, 'list networks', address).map(mapNetwork),
    volumes: (parseDockerResponse(volumeListSchema(), volumesRaw, 'list volumes', address).Volumes ?? []).map(mapVolume),
  };
}

/** The listing from the cache when it still holds, else from the engine (kept for the next call when nothing changed meanwhile). */
async function cachedListing(docker: DockerApi, address: string, cache: ListingCache<Listing> | undefined): Promise<Listing> {
  if (!cache) return listEngine(docker, address);
  const kept = cache.get();
  if (kept) return kept;
  const started = cache.begin();
  return cache.keep(started, await listEngine(docker, address));
}

export async function collectInventory(docker: DockerApi, opts: InventoryOptions = {}): Promise<LiveInventory> {
  const address = opts.address ?? dockerAddress(docker);
  const concurrency = opts.concurrency ?? 16;

  const listing = cachedListing(docker, address, opts.listing);
  // Awaited below (after the list, or with it when the list fails first).
  const names = Promise.resolve(opts.projects);
  names.catch(() => undefined);
  const { engine, listed, networks, volumes } = await listing;

  const slot = limiter(concurrency);
  const inspectOne = (c: LiveContainer): Promise<LiveContainer | undefined> =>
    slot(async () => {
      const raw = await callDocker(`inspect container ${c.name}`, address, () => docker.getContainer(c.id).inspect(), true);
      if (raw === undefined) return undefined;
      return mapContainerInspect(parseDockerResponse(containerInspectSchema(), raw, `inspect container ${c.name}`, address));
    });
  const early = new Map<string, Promise<LiveContainer | undefined>>();
  if (opts.prefetch && opts.prefetch.length > 0) {
    const wantedEarly = shouldInspect(opts, new Set(opts.prefetch));
    for (const c of listed) {
      if (!wantedEarly(c)) continue;
      const p = inspectOne(c);
      // Awaited below only if the container is wanted; a dropped prefetch's failure is no error.
      p.catch(() => undefined);
      early.set(c.id, p);
    }
  }
  const projects = await names;
  const projectSet = projects ? new Set(projects) : undefined;

  const wanted = shouldInspect(opts, projectSet);
  const containers = (await Promise.all(listed.map((c) => (wanted(c) ? (early.get(c.id) ?? inspectOne(c)) : Promise.resolve(c))))).filter(
    (c): c is LiveContainer => c !== undefined,
  );

  const imageIds = [...new Set(containers.filter((c) => c.config !== undefined).map((c) => c.imageId))].sort();
  const images = dict<LiveImageDefaults>();
  for (const image of await mapLimit(imageIds, concurrency, async (id) => {
    const raw = await callDocker(`inspect image ${id}`, address, () => docker.getImage(id).inspect(), true);
    return raw === undefined ? undefined : mapImageInspect(parseDockerResponse(imageInspectSchema(), raw, `inspect image ${id}`, address));
  })) {
    if (image) images[image.id] = image;
  }

  const inScope = (project: string | undefined): boolean => project !== undefined && (!projectSet || projectSet.has(project));

  containers.sort(byName);
  return {
    takenAt: (opts.now ?? (() => new Date()))().toISOString(),
    engine,
    containers,
    projects: groupProjects(containers),
    images,
    networks: networks.filter((n) => inScope(n.project)).sort(byName),
    volumes: volumes.filter((v) => inScope(v.project)).sort(byName),
  };
}
