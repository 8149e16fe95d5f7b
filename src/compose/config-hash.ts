/**
 * driftd's per-service config hash (docs/design.md §6): sha256 over a canonical, key-sorted JSON of the
 * service's resolved configuration plus the sha256 of every repo file it mounts or reads. Text
 * layout, key order, comments and the Compose version do not matter; no absolute path or
 * timestamp goes in, so every host computes the same value.
 *
 * Left out on purpose, like Compose's own service hash: the replica count (scaling must not
 * recreate containers), build, depends_on and pull_policy. driftd's own io.driftd.* labels are
 * not part of it either (the revision label would otherwise change every hash on every tag).
 */
import { hashObject } from '../util/hash.js';
import { isMapping, type Model } from './merge.js';
import type { NormalizedService, ServiceRefs } from './normalize.js';

/** Bumped when the hash input changes shape, so that every service is redeployed once, knowingly. */
const CONFIG_HASH_VERSION = 1;

/** Keys of the raw service mapping already covered by normalized fields, or not hashed at all. */
const NOT_FROM_RAW = new Set([
  'image',
  'command',
  'entrypoint',
  'environment',
  'env_file',
  'ports',
  'volumes',
  'labels',
  'restart',
  'network_mode',
  'privileged',
  'user',
  'working_dir',
  'scale',
  'build',
  'depends_on',
  'pull_policy',
]);
const HEALTHCHECK_NORMALIZED = new Set(['test', 'disable', 'interval', 'timeout', 'start_period', 'retries']);

function rawRest(raw: Model): Model {
  const rest: Model = {};
  for (const [k, v] of Object.entries(raw)) {
    if (NOT_FROM_RAW.has(k)) continue;
    if (k === 'deploy' && isMapping(v)) {
      const { replicas: _r, ...deploy } = v;
      if (Object.keys(deploy).length > 0) rest.deploy = deploy;
    } else if (k === 'healthcheck' && isMapping(v)) {
      const extra = Object.fromEntries(Object.entries(v).filter(([hk]) => !HEALTHCHECK_NORMALIZED.has(hk)));
      if (Object.keys(extra).length > 0) rest.healthcheck = extra;
    } else rest[k] = v;
  }
  return rest;
}

/**
 * @param image the image that will run: the pinned `name:tag@digest` when locked.
 * @param fileSha stack-relative path → sha256 of its content.
 */
export function serviceConfigHash(service: NormalizedService, image: string, refs: ServiceRefs, fileSha: (rel: string) => string | undefined): string {
  return hashObject({
    v: CONFIG_HASH_VERSION,
    image,
    command: service.command,
    entrypoint: service.entrypoint,
    environment: service.environment,
    ports: service.ports,
    mounts: service.mounts,
    labels: service.labels,
    restart: service.restart,
    healthcheck: service.healthcheck,
    networkMode: service.networkMode,
    privileged: service.privileged,
    user: service.user,
    workingDir: service.workingDir,
    other: rawRest(service.raw),
    refs,
    files: service.mountedFiles.map((rel) => [rel, fileSha(rel) ?? '']),
  });
}
