/**
 * Docker and registry helpers with no vitest runtime import, so that the integration
 * globalSetup (which runs outside the test workers and cannot import 'vitest') shares them
 * with test/support/docker.ts. Tests import from docker.ts, which re-exports what they need.
 */
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { REGISTRY_HOST, REGISTRY_URL, TEST_LABEL, TEST_RUN_LABEL } from './test-env.js';
import { mapLimit } from '../../src/live/map-limit.js';
import { pidExists } from '../../src/state/process-identity.js';

export const COMPOSE_PROJECT_LABEL = 'com.docker.compose.project';

/** Prefix of every Compose project name a test makes (valid per the stack name rule of docs/design.md §1). */
export const TEST_PROJECT_PREFIX = 'dt-';

/** Resources of other runs older than this are leftovers of a run that never cleaned up. */
const STALE_AFTER_MS = 60 * 60 * 1000;

/** One vitest run: `tag` goes into project names, `pid` (the vitest main process) tells whether it still runs. */
export interface TestRun {
  tag: string;
  pid: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Provided by test/support/global-setup.ts to every integration test file. */
    driftdTestRun: TestRun;
  }
}

export const randomName = (length: number): string => {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
};

export function newTestRun(): TestRun {
  return { tag: randomName(4), pid: process.pid };
}

export const runLabelValue = (run: TestRun): string => `${run.tag}-${run.pid}`;

function runOfLabel(value: string): TestRun | undefined {
  const m = /^([a-z0-9]+)-(\d+)$/.exec(value);
  return m ? { tag: m[1]!, pid: Number(m[2]) } : undefined;
}


/**
 * The engine the tests use (DOCKER_HOST if set, else the local socket) through dockerode: a
 * client independent of driftd's own, for setting up and checking what the tests need.
 */
export function testDockerClient(): Docker {
  return new Docker();
}

export interface Removed {
  containers: string[];
  networks: string[];
  volumes: string[];
}

interface Candidate {
  labels: Record<string, string>;
  createdMs: number;
}

type Selector = (c: Candidate) => boolean;

const isGone = (e: unknown): boolean => (e as { statusCode?: number }).statusCode === 404;

/**
 * Force-removes (with anonymous volumes) every container, then network, then volume the
 * selector picks. Tries everything before throwing one error listing what could not be removed.
 */
export async function removeDockerResources(docker: Docker, select: Selector, opts: { concurrency?: number } = {}): Promise<Removed> {
  const removed: Removed = { containers: [], networks: [], volumes: [] };
  const failures: string[] = [];
  const attempt = async (what: string, list: string[], name: string, remove: () => Promise<unknown>): Promise<void> => {
    try {
      await remove();
      list.push(name);
    } catch (e) {
      if (!isGone(e)) failures.push(`${what} ${name}: ${(e as Error).message}`);
    }
  };

  const containers = (await docker.listContainers({ all: true })).filter((c) => select({ labels: c.Labels ?? {}, createdMs: c.Created * 1000 }));
  // The bench removes up to a thousand containers at once: a few removals in flight (default one).
  await mapLimit(containers, opts.concurrency ?? 1, async (c) => {
    const name = c.Names[0]?.replace(/^\//, '') ?? c.Id;
    await attempt('container', removed.containers, name, () => docker.getContainer(c.Id).remove({ force: true, v: true }));
  });
  const networks = await docker.listNetworks();
  for (const n of networks) {
    if (!select({ labels: n.Labels ?? {}, createdMs: Date.parse(n.Created) })) continue;
    await attempt('network', removed.networks, n.Name, () => docker.getNetwork(n.Id).remove());
  }
  const { Volumes: volumes } = await docker.listVolumes();
  for (const v of volumes ?? []) {
    // Volume.CreatedAt exists on the API but not in @types/dockerode.
    const created = (v as { CreatedAt?: string }).CreatedAt;
    if (!select({ labels: v.Labels ?? {}, createdMs: created ? Date.parse(created) : Date.now() })) continue;
    await attempt('volume', removed.volumes, v.Name, () => docker.getVolume(v.Name).remove());
  }
  if (failures.length) throw new Error(`could not remove test resources: ${failures.join('; ')}`);
  return removed;
}

/** Everything a Compose project owns (containers, its networks and volumes). */
export const inProjects =
  (projects: ReadonlySet<string>): Selector =>
  (c) => {
    const project = c.labels[COMPOSE_PROJECT_LABEL];
    return project !== undefined && projects.has(project);
  };

/**
 * What the run's end (and start) removes: everything of this run; test-labelled resources
 * no live run owns (owner process gone, or no run label at all); test resources older than
 * an hour. Resources of other runs still in progress on this machine are left alone.
 */
export async function removeAbandonedTestResources(docker: Docker, run: TestRun): Promise<Removed> {
  const own = runLabelValue(run);
  const ownProjectPrefix = `${TEST_PROJECT_PREFIX}${run.tag}`;
  const deadProjects = new Set<string>();
  for (const c of await docker.listContainers({ all: true, filters: { label: [TEST_RUN_LABEL] } })) {
    const owner = runOfLabel(c.Labels[TEST_RUN_LABEL] ?? '');
    const project = c.Labels[COMPOSE_PROJECT_LABEL];
    if (project && (!owner || !pidExists(owner.pid))) deadProjects.add(project);
  }
  return removeDockerResources(docker, ({ labels, createdMs }) => {
    const project = labels[COMPOSE_PROJECT_LABEL];
    const runLabel = labels[TEST_RUN_LABEL];
    const isTest = labels[TEST_LABEL] !== undefined || project?.startsWith(TEST_PROJECT_PREFIX) === true;
    if (!isTest) return false;
    if (runLabel === own || project?.startsWith(ownProjectPrefix)) return true;
    if (project && deadProjects.has(project)) return true;
    if (labels[TEST_LABEL] !== undefined && runLabel === undefined) return true;
    const owner = runLabel === undefined ? undefined : runOfLabel(runLabel);
    if (owner && !pidExists(owner.pid)) return true;
    return Date.now() - createdMs > STALE_AFTER_MS;
  });
}

// ---------------------------------------------------------------------------------------------
// Registry (distribution v2 HTTP API on 127.0.0.1:5000)

const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

function splitRef(ref: string): { repo: string; tag: string } {
  const m = /^([^/]+)\/(.+):([\w][\w.-]{0,127})$/.exec(ref);
  if (!m || m[1] !== REGISTRY_HOST) throw new Error(`not an image of the test registry ${REGISTRY_HOST}: ${ref}`);
  return { repo: m[2]!, tag: m[3]! };
}

/** The digest the registry serves for `ref` (its Docker-Content-Digest), or undefined if the tag is missing. */
export async function registryDigest(ref: string): Promise<string | undefined> {
  const { repo, tag } = splitRef(ref);
  const res = await fetch(`${REGISTRY_URL}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`registry answered ${res.status} for ${ref}`);
  const digest = res.headers.get('docker-content-digest');
  if (!digest) throw new Error(`registry sent no Docker-Content-Digest for ${ref}`);
  return digest;
}

/**
 * Points `<repo of source>:<tag>` at the manifest `source` has (a registry-side `docker tag`
 * + push, no engine involved) and returns the target ref. Use fresh tags (see uniqueTag) so
 * that moving one never changes the shared test images.
 */
export async function registryTag(source: string, tag: string): Promise<string> {
  const { repo, tag: sourceTag } = splitRef(source);
  const target = `${REGISTRY_HOST}/${repo}:${tag}`;
  splitRef(target);
  const got = await fetch(`${REGISTRY_URL}/v2/${repo}/manifests/${sourceTag}`, { headers: { accept: MANIFEST_ACCEPT } });
  if (!got.ok) throw new Error(`registry answered ${got.status} for ${source}`);
  const contentType = got.headers.get('content-type') ?? 'application/vnd.docker.distribution.manifest.v2+json';
  const body = Buffer.from(await got.arrayBuffer());
  const put = await fetch(`${REGISTRY_URL}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': contentType },
    body,
  });
  if (put.status !== 201) throw new Error(`registry refused to tag ${target}: ${put.status} ${await put.text()}`);
  return target;
}

/** A tag nobody else uses, e.g. "t-k3x9q2ab". */
export const uniqueTag = (): string => `t-${randomName(8)}`;

/** Polls `check` until it returns a value other than undefined, or throws after timeoutMs. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  { timeoutMs = 120_000, intervalMs = 250 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
