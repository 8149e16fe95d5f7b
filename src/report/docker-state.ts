import { own } from '../util/dict.js';
import type { LiveContainer, LiveContainerConfig, LiveImageDefaults, LiveInventory, LiveNetwork, LiveVolume } from '../live/model.js';
import { redactEnv, scrubText } from '../util/scrub.js';
import { serviceKey } from './secrets.js';
import type { SwarmLive } from '../swarm/engine-model.js';
import { swarmStateOf, type DockerStateSwarm } from './swarm-state.js';

export interface DockerStateOptions {
  /** `"<project>/<service>"` → env keys to redact besides the docs/design.md §3 pattern (the env_file keys of desired state). */
  secretKeysByService?: Record<string, string[]>;
  /** Known secret values, scrubbed out of env values under other keys, commands, entrypoints and health checks. */
  secretValues?: readonly string[];
  /** The Swarm's services and tasks, when read (engine: swarm stacks): written as `swarm`. */
  swarm?: SwarmLive;
}

export interface DockerStateProject {
  name: string;
  workingDir?: string;
  configFiles?: string[];
  /** Container names, sorted. */
  containers: string[];
}

/** docker_state.json (schema in docs/exports.md). */
export interface DockerState {
  schemaVersion: 1;
  takenAt: string;
  engine: LiveInventory['engine'];
  containers: LiveContainer[];
  projects: DockerStateProject[];
  images: LiveImageDefaults[];
  networks: LiveNetwork[];
  volumes: LiveVolume[];
  /** Services docker stack deploy created and their tasks; absent when no Swarm was read. */
  swarm?: DockerStateSwarm;
}

const byString =
  <T>(key: (x: T) => string) =>
  (a: T, b: T): number => {
    const x = key(a);
    const y = key(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };

function scrubList(list: string[] | undefined, secrets: readonly string[]): string[] | undefined {
  return list?.map((s) => scrubText(s, secrets));
}

function redactConfig(config: LiveContainerConfig, forcedKeys: readonly string[], secrets: readonly string[]): LiveContainerConfig {
  const env = redactEnv(config.env, forcedKeys);
  for (const [k, v] of Object.entries(env)) env[k] = scrubText(v, secrets);
  const out: LiveContainerConfig = { ...config, env };
  if (config.command) out.command = scrubList(config.command, secrets);
  if (config.entrypoint) out.entrypoint = scrubList(config.entrypoint, secrets);
  if (config.healthcheck?.test) out.healthcheck = { ...config.healthcheck, test: scrubList(config.healthcheck.test, secrets) };
  return out;
}

function redactImage(image: LiveImageDefaults, secrets: readonly string[]): LiveImageDefaults {
  const out: LiveImageDefaults = { ...image, env: redactEnv(image.env) };
  if (image.command) out.command = scrubList(image.command, secrets);
  if (image.entrypoint) out.entrypoint = scrubList(image.entrypoint, secrets);
  if (image.healthcheck?.test) out.healthcheck = { ...image.healthcheck, test: scrubList(image.healthcheck.test, secrets) };
  return out;
}

/**
 * The live inventory as written to docker_state.json: containers (env redacted per docs/design.md §3:
 * secret-looking keys and the service's env_file keys; labels kept), the images they run with
 * their repo digests, Compose projects, networks and volumes, all sorted. Pure.
 */
export function buildDockerState(inventory: LiveInventory, opts: DockerStateOptions = {}): DockerState {
  const keysByService = opts.secretKeysByService ?? {};
  const secrets = opts.secretValues ?? [];
  const containers = inventory.containers
    .map((c): LiveContainer => {
      const forced = c.project !== undefined && c.service !== undefined ? (own(keysByService, serviceKey(c.project, c.service)) ?? []) : [];
      const out: LiveContainer = { ...c };
      if (c.config) out.config = redactConfig(c.config, forced, secrets);
      return out;
    })
    .sort(byString((c) => `${c.project ?? ''}\u0000${c.service ?? ''}\u0000${String(c.number ?? 0).padStart(6, '0')}\u0000${c.name}`));
  const projects = Object.values(inventory.projects)
    .map((p): DockerStateProject => {
      const out: DockerStateProject = { name: p.name, containers: p.containers.map((c) => c.name).sort() };
      if (p.workingDir !== undefined) out.workingDir = p.workingDir;
      if (p.configFiles !== undefined) out.configFiles = [...p.configFiles];
      return out;
    })
    .sort(byString((p) => p.name));
  return {
    schemaVersion: 1,
    takenAt: inventory.takenAt,
    engine: inventory.engine,
    containers,
    projects,
    images: Object.values(inventory.images)
      .map((i) => redactImage(i, secrets))
      .sort(byString((i) => i.id)),
    networks: [...inventory.networks].sort(byString((n) => `${n.name}\u0000${n.id}`)),
    volumes: [...inventory.volumes].sort(byString((v) => v.name)),
    ...(opts.swarm ? { swarm: swarmStateOf(opts.swarm, keysByService, secrets) } : {}),
  };
}
