/**
 * `driftd lock` against the real test registry (127.0.0.1:5000) and the real engine's
 * distribution endpoint, plus registries this file starts itself (to stop one, and one with
 * basic auth) so the shared registry is never disturbed. Tags are fresh per test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lock, type LockOptions } from '../../src/commands/lock.js';
import { loadStack } from '../../src/compose/index.js';
import type { DesiredStack } from '../../src/compose/model.js';
import { createDockerClient } from '../../src/live/docker-client.js';
import { collectInventory } from '../../src/live/inventory.js';
import { compareImage, imageFindings } from '../../src/drift/image-drift.js';
import { createCredentialSource } from '../../src/image/docker-auth.js';
import { MemoryDigestCache } from '../../src/image/digest-cache.js';
import { normalizeImageRef } from '../../src/image/reference.js';
import { readLockFile, renderLockFile } from '../../src/lock/lock-file.js';
import { registryDigests } from '../../src/commands/registry-digests.js';
import { createDigestResolver } from '../../src/image/resolver.js';
import { openState } from '../../src/state/index.js';
import { execFileCapture } from '../../src/util/exec.js';
import { silentLogger } from '../../src/util/logger.js';
import { COMPOSE_PROJECT_LABEL, registryDigest, registryTag, testDockerClient, uniqueTag, useDockerTestScope } from '../support/docker.js';
import { REGISTRY_URL, TEST_IMAGES, TEST_REPOS } from '../support/test-env.js';
import { desired, svc } from '../unit/lock/helpers.js';
import { freePort } from '../support/free-port.js';

const docker = testDockerClient();
/** What `driftd lock` uses: driftd's own engine client (dockerode above makes and removes test images). */
const engine = createDockerClient({ dockerHost: process.env.DOCKER_HOST }).docker;
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A Docker config dir with no credentials: the operator's own config never leaks into a test. */
async function anonymous() {
  return createCredentialSource({ env: { DOCKER_CONFIG: await tempDir('driftd-lock-dockercfg-') } });
}

async function run(root: string, stacks: DesiredStack[], over: Partial<LockOptions> = {}) {
  return lock({ root, desired: stacks, docker: engine, check: false, offline: false, logger: silentLogger, credentials: await anonymous(), ...over });
}

async function docker_(args: string[], input?: string): Promise<string> {
  const r = await execFileCapture('docker', args, { env: { ...process.env, DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000, ...(input !== undefined ? { input } : {}) });
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Removes local references this file created (tags and repo digests), never the shared test images. */
function forgetLocalRef(ref: string): void {
  cleanups.push(() => docker.getImage(ref).remove({ noprune: false }));
}


interface OwnRegistry {
  host: string;
  stop(): Promise<void>;
}

/** Starts Debian's docker-registry on a free loopback port; `htpasswd` turns on basic auth. */
async function startRegistry(htpasswd?: string): Promise<OwnRegistry> {
  const dir = await tempDir('driftd-lock-registry-');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const auth = htpasswd !== undefined ? `auth:\n  htpasswd:\n    realm: driftd-lock-test\n    path: ${dir}/htpasswd\n` : '';
  if (htpasswd !== undefined) await writeFile(path.join(dir, 'htpasswd'), htpasswd);
  await writeFile(
    path.join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/storage\nhttp:\n  addr: ${host}\n${auth}`,
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  cleanups.push(stop);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const status = await fetch(`http://${host}/v2/`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200 || status === 401) return { host, stop };
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`docker-registry did not start on ${host}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Builds an image of its own (app:1.0 plus a unique label) and pushes it as `ref`; returns the pushed digest. */
async function buildAndPush(ref: string, configDir?: string): Promise<string> {
  await docker_(['build', '--quiet', '--tag', ref, '-'], `FROM ${TEST_IMAGES.app10}\nLABEL io.driftd.test.locktest="${uniqueTag()}"\n`);
  forgetLocalRef(ref);
  const out = await docker_([...(configDir !== undefined ? ['--config', configDir] : []), 'push', ref]);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1];
  if (!digest) throw new Error(`no digest in the push output of ${ref}`);
  forgetLocalRef(`${ref.slice(0, ref.lastIndexOf(':'))}@${digest}`);
  return digest;
}

const MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

async function manifestDescriptor(ref: string): Promise<{ digest: string; size: number }> {
  const [, repo, tag] = /^[^/]+\/(.+):([^:]+)$/.exec(ref)!;
  const res = await fetch(`${REGISTRY_URL}/v2/${repo}/manifests/${tag}`, { headers: { accept: MANIFEST } });
  const body = Buffer.from(await res.arrayBuffer());
  return { digest: res.headers.get('docker-content-digest')!, size: body.length };
}

/** Pushes an OCI index: app:1.0 as linux/amd64 and app:1.1 as linux/arm64/v8, under a fresh tag of the app repo. */
async function pushIndex(): Promise<{ ref: string; indexDigest: string; amd64: string; arm64: string }> {
  const tag = uniqueTag();
  const [a, b] = [await manifestDescriptor(TEST_IMAGES.app10), await manifestDescriptor(TEST_IMAGES.app11)];
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: MANIFEST, ...a, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: MANIFEST, ...b, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ],
  };
  const repo = TEST_REPOS.app.slice(TEST_REPOS.app.indexOf('/') + 1);
  const put = await fetch(`${REGISTRY_URL}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': index.mediaType },
    body: JSON.stringify(index),
  });
  if (put.status !== 201) throw new Error(`registry refused the index: ${put.status}`);
  return { ref: `${TEST_REPOS.app}:${tag}`, indexDigest: put.headers.get('docker-content-digest')!, amd64: a.digest, arm64: b.digest };
}

describe('driftd lock with the real registry', () => {
  it('locks the digest the registry serves; --check 0; tag moves → 2 image-outdated; re-lock → new digest', async () => {
    const root = await tempDir('driftd-lock-root-');
    const ref = await registryTag(TEST_IMAGES.app10, uniqueTag());
    const stack = desired('locktest', [svc('app', ref), svc('again', ref)]);
    const cache = new MemoryDigestCache();

    const written = await run(root, [stack], { cache });
    expect(written).toMatchObject({ exitCode: 0, results: [{ stack: 'locktest', status: 'written', file: 'locks/locktest.lock.json', warnings: [] }] });
    const first = await registryDigest(TEST_IMAGES.app10);
    expect(await readLockFile(root, 'locktest')).toEqual({
      version: 1,
      stack: 'locktest',
      composeSha256: stack.composeSha256,
      images: { [ref]: { digest: first, platform: 'linux/amd64' } },
    });
    expect(cache.getCachedDigest(normalizeImageRef(ref), 'linux/amd64', 60_000)).toEqual({ digest: first, indexDigest: undefined });

    expect(await run(root, [stack], { check: true })).toMatchObject({ exitCode: 0, results: [{ status: 'current', findings: [] }] });

    await registryTag(TEST_IMAGES.app11, ref.slice(ref.lastIndexOf(':') + 1));
    const second = await registryDigest(TEST_IMAGES.app11);
    const before = await readFile(path.join(root, 'locks/locktest.lock.json'), 'utf8');
    const stale = await run(root, [stack], { check: true });
    expect(stale.exitCode).toBe(2);
    expect(stale.results[0]!.status).toBe('outdated');
    expect(stale.results[0]!.findings).toEqual([
      expect.objectContaining({ kind: 'image-outdated', stack: 'locktest', live: { image: ref, digest: second } }),
    ]);
    expect(await readFile(path.join(root, 'locks/locktest.lock.json'), 'utf8')).toBe(before);

    expect((await run(root, [stack])).results[0]!.status).toBe('written');
    expect((await readLockFile(root, 'locktest'))!.images[ref]).toEqual({ digest: second, platform: 'linux/amd64' });
    expect((await run(root, [stack])).results[0]!.status).toBe('unchanged');
    expect((await run(root, [stack], { check: true })).exitCode).toBe(0);
  });

  it('image-outdated for drift-check: the registry is asked once per interval, the state DB serves the rest', async () => {
    const ref = await registryTag(TEST_IMAGES.app10, uniqueTag());
    const root = await tempDir('driftd-lock-root-');
    const stack = desired('outdated', [svc('app', ref)]);
    await run(root, [stack]);
    const locked = { ...stack, lock: (await readLockFile(root, 'outdated'))! };
    const state = openState(await tempDir('driftd-lock-state-'));
    cleanups.push(() => Promise.resolve(state.close()));
    const ask = async (now: Date) =>
      registryDigests({ stacks: [locked], resolver: createDigestResolver({ docker: engine, credentials: await anonymous() }), cache: state, intervalMs: 3_600_000, now: () => now });
    const live = { takenAt: '', engine: { version: '', apiVersion: '', os: 'linux', arch: 'amd64' }, containers: [], projects: {}, images: {}, networks: [], volumes: [] };

    const first = await ask(new Date());
    expect([first.fetched, first.cached]).toEqual([1, 0]);
    expect(imageFindings({ stack: locked, live, registryDigests: first.digests })).toEqual([]);

    await registryTag(TEST_IMAGES.app11, ref.slice(ref.lastIndexOf(':') + 1));
    const cached = await ask(new Date(Date.now() + 30 * 60_000));
    expect([cached.fetched, cached.cached]).toEqual([0, 1]);
    expect(imageFindings({ stack: locked, live, registryDigests: cached.digests })).toEqual([]);

    const later = await ask(new Date(Date.now() + 2 * 3_600_000));
    expect([later.fetched, later.cached]).toEqual([1, 0]);
    expect(imageFindings({ stack: locked, live, registryDigests: later.digests })).toEqual([
      expect.objectContaining({ kind: 'image-outdated', stack: 'outdated', service: 'app', live: { image: ref, digest: await registryDigest(TEST_IMAGES.app11) } }),
    ]);
  });

  it('a multi-platform index: records the index digest and this host platform manifest, read from the registry', async () => {
    const { ref, indexDigest, amd64, arm64 } = await pushIndex();
    const root = await tempDir('driftd-lock-root-');
    await run(root, [desired('multi', [svc('app', ref)])]);
    expect((await readLockFile(root, 'multi'))!.images[ref]).toEqual({ digest: amd64, indexDigest, platform: 'linux/amd64' });

    const arm = createDigestResolver({ docker: engine, credentials: await anonymous(), platform: { os: 'linux', architecture: 'arm64' } });
    expect(await arm.resolve(ref)).toEqual({ source: 'registry', digest: arm64, indexDigest, platform: 'linux/arm64' });
    const riscv = createDigestResolver({ docker: engine, credentials: await anonymous(), platform: { os: 'linux', architecture: 'riscv64' } });
    await expect(riscv.resolve(ref)).rejects.toThrow(`image ${ref} has no variant for this host's platform linux/riscv64 (it offers linux/amd64, linux/arm64)`);

    // What the engine keeps after pulling the tag matches the lock, platform-aware.
    await docker_(['pull', '--quiet', ref]);
    forgetLocalRef(ref);
    forgetLocalRef(`${TEST_REPOS.app}@${indexDigest}`);
    const inspected = await docker.getImage(ref).inspect();
    expect(inspected.RepoDigests).toContain(`${TEST_REPOS.app}@${indexDigest}`);
    const liveImage = { repoDigests: inspected.RepoDigests, os: inspected.Os, architecture: inspected.Architecture };
    expect(compareImage({ lockEntry: { digest: amd64, indexDigest, platform: 'linux/amd64' }, liveImage, containerImageRef: ref })).toBe('match');
    expect(compareImage({ lockEntry: { digest: amd64, indexDigest, platform: 'linux/amd64' }, liveImage, containerImageRef: `${ref}@${indexDigest}` })).toBe('match');
    expect(compareImage({ lockEntry: { digest: arm64, indexDigest: arm64, platform: 'linux/arm64' }, liveImage, containerImageRef: ref })).toBe('drift');
  });

  it('a tag the registry does not have: RegistryError naming the image, nothing written', async () => {
    const root = await tempDir('driftd-lock-root-');
    const missing = `${TEST_REPOS.app}:${uniqueTag()}`;
    await expect(run(root, [desired('gone', [svc('app', TEST_IMAGES.app10), svc('x', missing)])])).rejects.toMatchObject({
      code: 'RegistryError',
      message: expect.stringMatching(new RegExp(`cannot resolve image ${missing.replace(/[.]/g, '\\.')} through registry 127\\.0\\.0\\.1:5000: .*manifest unknown`)) as string,
    });
    await expect(readFile(path.join(root, 'locks/gone.lock.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('driftd lock with stacks from the compose loader', () => {
  it('the loader reads what lock writes, pins the locked digest, and a compose edit makes the lock stale', async () => {
    const root = await tempDir('driftd-lock-repo-');
    const ref = await registryTag(TEST_IMAGES.app10, uniqueTag());
    await mkdir(path.join(root, 'stacks/shop'), { recursive: true });
    const compose = `services:\n  web:\n    image: ${ref}\n  worker:\n    image: ${TEST_IMAGES.worker10}\n`;
    await writeFile(path.join(root, 'stacks/shop/compose.yaml'), compose);

    const first = await run(root, [await loadStack({ root, name: 'shop' })]);
    expect(first.results[0]!.status).toBe('written');
    const loaded = await loadStack({ root, name: 'shop' });
    const digest = await registryDigest(TEST_IMAGES.app10);
    expect(loaded.lock?.images[ref]).toEqual({ digest, platform: 'linux/amd64' });
    expect(loaded.services.find((s) => s.name === 'web')!.pinnedImage).toBe(`${ref}@${digest}`);
    // Writing the lock does not change the stack's compose inputs.
    expect((await run(root, [loaded], { check: true })).exitCode).toBe(0);

    await writeFile(path.join(root, 'stacks/shop/compose.yaml'), `${compose}    environment:\n      MODE: fast\n`);
    const edited = await run(root, [await loadStack({ root, name: 'shop' })], { check: true });
    expect(edited.exitCode).toBe(2);
    expect(edited.results[0]!.findings.map((f) => f.kind)).toEqual(['lock-stale']);
    expect((await run(root, [await loadStack({ root, name: 'shop' })])).results[0]!.status).toBe('written');
    expect((await run(root, [await loadStack({ root, name: 'shop' })], { check: true })).exitCode).toBe(0);
  });
});

describe('image-drift against the real engine inventory', () => {
  const scope = useDockerTestScope();

  it('a container started by hand from another image of the service is image-drift; the locked one is not', async () => {
    const project = scope.project();
    const root = await tempDir('driftd-lock-root-');
    const stack = desired(project, [svc('app', TEST_IMAGES.app10)]);
    await run(root, [stack]);
    const locked = { ...stack, lock: (await readLockFile(root, project))! };
    const create = (image: string, n: number) =>
      scope.docker.createContainer({
        Image: image,
        name: `${project}-app-${n}`,
        Labels: { ...scope.labels, [COMPOSE_PROJECT_LABEL]: project, 'com.docker.compose.service': 'app', 'com.docker.compose.container-number': String(n) },
      });

    await create(TEST_IMAGES.app10, 1);
    expect(imageFindings({ stack: locked, live: await collectInventory(scope.docker, { projects: [project] }) })).toEqual([]);

    await create(TEST_IMAGES.worker10, 2);
    const findings = imageFindings({ stack: locked, live: await collectInventory(scope.docker, { projects: [project] }) });
    expect(findings).toEqual([expect.objectContaining({ kind: 'image-drift', stack: project, service: 'app', severity: 'error' })]);
    expect(findings[0]!.message).toContain(`${project}-app-2 runs ${TEST_IMAGES.worker10}`);
    expect(findings[0]!.message).not.toContain(`${project}-app-1`);
  });
});

describe('driftd lock when the registry is unreachable', () => {
  let ref: string;
  let pushed: string;
  let root: string;
  const stack = (): DesiredStack => desired('offline', [svc('app', ref)]);

  beforeAll(async () => {
    const registry = await startRegistry();
    ref = `${registry.host}/driftd/locktest:1.0`;
    pushed = await buildAndPush(ref);
    await registry.stop();
    root = await tempDir('driftd-lock-root-');
  });

  it('fails with a clear error naming the image and the reason, and writes nothing', async () => {
    const old = { version: 1 as const, stack: 'offline', composeSha256: 'e'.repeat(64), images: { [ref]: { digest: `sha256:${'0'.repeat(64)}` } } };
    await mkdir(path.join(root, 'locks'), { recursive: true });
    await writeFile(path.join(root, 'locks/offline.lock.json'), renderLockFile(old));

    const err = await run(root, [stack()]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RegistryError' });
    expect((err as Error).message).toContain(`cannot resolve image ${ref} through registry ${ref.split('/')[0]}`);
    expect((err as Error).message).toMatch(/connection refused/);
    expect((err as Error).message).toContain('--offline');
    expect(await readFile(path.join(root, 'locks/offline.lock.json'), 'utf8')).toBe(renderLockFile(old));

    await expect(run(root, [stack()], { check: true })).rejects.toMatchObject({ code: 'RegistryError' });
  });

  it('with offline: locks from the local image repo digest, with a warning', async () => {
    const result = await run(root, [stack()], { offline: true });
    expect(result.exitCode).toBe(0);
    expect(result.results[0]!.status).toBe('written');
    expect(result.results[0]!.warnings).toEqual([expect.stringMatching(/^registry unreachable for .*connection refused.*locked from the local image's repo digest/)]);
    expect((await readLockFile(root, 'offline'))!.images[ref]).toEqual({ digest: pushed, platform: 'linux/amd64' });

    const check = await run(root, [stack()], { check: true, offline: true });
    expect(check).toMatchObject({ exitCode: 0, results: [{ status: 'current' }] });
    expect(check.results[0]!.warnings[0]).toContain('offline: not checked for a newer digest');
  });

  it('with offline and no local copy: says so', async () => {
    const absent = `${ref.split('/')[0]}/driftd/never-pulled:1.0`;
    await expect(run(root, [desired('none', [svc('app', absent)])], { offline: true })).rejects.toMatchObject({
      code: 'RegistryError',
      message: expect.stringContaining(`there is no local copy of ${absent} to lock offline either`) as string,
    });
  });
});

describe('driftd lock with registry credentials', () => {
  // bcrypt of "lock-test-pass" (the registry's htpasswd accepts only bcrypt).
  const HTPASSWD = 'driftd:$2b$05$Dh/QlT51IqEmSz6aCnhmNuKg7UnFZJNLJWYHuS0Q5UZCtMj0N4kw6\n';

  it('passes the Docker config credentials to the engine (and to the registry for indexes)', async () => {
    const registry = await startRegistry(HTPASSWD);
    const withCreds = await tempDir('driftd-lock-dockercfg-');
    await writeFile(
      path.join(withCreds, 'config.json'),
      JSON.stringify({ auths: { [`http://${registry.host}`]: { auth: Buffer.from('driftd:lock-test-pass').toString('base64') } } }),
    );
    const ref = `${registry.host}/driftd/private:1.0`;
    const digest = await buildAndPush(ref, withCreds);
    const root = await tempDir('driftd-lock-root-');

    const denied = await run(root, [desired('private', [svc('app', ref)])]).catch((e: unknown) => e);
    expect(denied).toMatchObject({ code: 'RegistryError' });
    expect((denied as Error).message).toContain(`there are no credentials for ${registry.host} in`);
    expect((denied as Error).message).not.toContain('lock-test-pass');

    // An index next to it: reading its entries needs the same credentials, straight from the registry.
    const basic = { authorization: `Basic ${Buffer.from('driftd:lock-test-pass').toString('base64')}` };
    const manifest = Buffer.from(await (await fetch(`http://${registry.host}/v2/driftd/private/manifests/1.0`, { headers: { accept: MANIFEST, ...basic } })).arrayBuffer());
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: MANIFEST, digest, size: manifest.length, platform: { os: 'linux', architecture: 'amd64' } }],
    };
    const put = await fetch(`http://${registry.host}/v2/driftd/private/manifests/multi`, {
      method: 'PUT',
      headers: { 'content-type': index.mediaType, ...basic },
      body: JSON.stringify(index),
    });
    expect(put.status).toBe(201);
    const indexRef = `${registry.host}/driftd/private:multi`;

    const ok = await run(root, [desired('private', [svc('app', ref), svc('multi', indexRef)])], {
      credentials: createCredentialSource({ env: { DOCKER_CONFIG: withCreds } }),
    });
    expect(ok.results[0]!).toMatchObject({ status: 'written', warnings: [] });
    expect((await readLockFile(root, 'private'))!.images).toEqual({
      [ref]: { digest, platform: 'linux/amd64' },
      [indexRef]: { digest, indexDigest: put.headers.get('docker-content-digest'), platform: 'linux/amd64' },
    });
  });
});
