import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lock, type LockOptions } from '../../../src/commands/lock.js';
import { formatLockResults } from '../../../src/cli/format/lock-output.js';
import { DriftdError } from '../../../src/errors/index.js';
import type { EngineApi } from '../../../src/live/engine-api.js';
import { MemoryDigestCache } from '../../../src/image/digest-cache.js';
import { normalizeImageRef } from '../../../src/image/reference.js';
import { renderLockFile, writeLockFile } from '../../../src/lock/lock-file.js';
import type { DigestResolver, ResolvedImage } from '../../../src/image/resolver.js';
import { silentLogger } from '../../../src/util/logger.js';
import { COMPOSE_SHA, desired, lockOf, SHA_A, SHA_B, SHA_C, SHA_I, SHA_J, svc } from './helpers.js';

/** A table of registry answers standing in for the engine (the real one is in test/integration/lock-registry.test.ts). */
class TableResolver implements DigestResolver {
  readonly calls: string[] = [];
  constructor(public answers: Record<string, ResolvedImage | Error>) {}
  platform() {
    return Promise.resolve({ os: 'linux', architecture: 'amd64' });
  }
  resolve(ref: string): Promise<ResolvedImage> {
    this.calls.push(ref);
    const a = this.answers[normalizeImageRef(ref)];
    if (a === undefined) return Promise.reject(new DriftdError('RegistryError', `cannot resolve image ${ref}: manifest unknown`, { image: ref, reason: 'manifest unknown' }));
    return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
  }
}

const APP = '127.0.0.1:5000/driftd/app:1.0';
const WORKER = '127.0.0.1:5000/driftd/worker:1.0';
const key = normalizeImageRef;

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'driftd-lockcmd-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function run(resolver: DigestResolver, over: Partial<LockOptions>) {
  return lock({ root, desired: [], docker: {} as EngineApi, check: false, offline: false, logger: silentLogger, resolver, ...over });
}

describe('lock (write)', () => {
  const stacks = [desired('web', [svc('app', APP), svc('app2', APP)]), desired('jobs', [svc('worker', WORKER), svc('app', APP)])];

  it('resolves each distinct image once, writes one lock per stack, then reports unchanged', async () => {
    const resolver = new TableResolver({
      [key(APP)]: { source: 'registry', digest: SHA_A, indexDigest: SHA_I, platform: 'linux/amd64' },
      [key(WORKER)]: { source: 'registry', digest: SHA_B, platform: 'linux/amd64' },
    });
    const cache = new MemoryDigestCache();
    const first = await run(resolver, { desired: stacks, cache });
    expect(first.exitCode).toBe(0);
    expect(first.results.map((r) => [r.stack, r.status, r.file])).toEqual([
      ['web', 'written', 'locks/web.lock.json'],
      ['jobs', 'written', 'locks/jobs.lock.json'],
    ]);
    expect(resolver.calls).toEqual([APP, WORKER]);
    expect(await readFile(path.join(root, 'locks/jobs.lock.json'), 'utf8')).toBe(
      renderLockFile(
        lockOf('jobs', {
          [APP]: { digest: SHA_A, indexDigest: SHA_I, platform: 'linux/amd64' },
          [WORKER]: { digest: SHA_B, platform: 'linux/amd64' },
        }),
      ),
    );
    // The lock run refreshes the registry cache that drift-check reads.
    expect(cache.getCachedDigest(key(APP), 'linux/amd64', 1000)).toEqual({ digest: SHA_A, indexDigest: SHA_I });

    const again = await run(new TableResolver(resolver.answers), { desired: stacks });
    expect(again.results.map((r) => r.status)).toEqual(['unchanged', 'unchanged']);
  });

  it('writes nothing when any image cannot be resolved', async () => {
    const resolver = new TableResolver({ [key(APP)]: { source: 'registry', digest: SHA_A, platform: 'linux/amd64' } });
    await expect(run(resolver, { desired: stacks })).rejects.toMatchObject({ code: 'RegistryError', message: expect.stringContaining(WORKER) as string });
    expect(await readdir(root)).toEqual([]);
  });

  it('carries offline warnings per stack and does not cache local answers', async () => {
    const warning = `registry unreachable for ${WORKER} (connection refused); locked from the local image's repo digest, not checked against the registry`;
    const resolver = new TableResolver({
      [key(APP)]: { source: 'registry', digest: SHA_A, platform: 'linux/amd64' },
      [key(WORKER)]: { source: 'local', digest: SHA_B, platform: 'linux/amd64', warning },
    });
    const cache = new MemoryDigestCache();
    const result = await run(resolver, { desired: stacks, offline: true, cache });
    expect(result.results.map((r) => r.warnings)).toEqual([[], [warning]]);
    expect(cache.getCachedDigest(key(WORKER), 'linux/amd64', 1000)).toBeUndefined();
    expect(formatLockResults(result)).toBe(`web: written locks/web.lock.json\njobs: written locks/jobs.lock.json\n  warning: ${warning}\n`);
  });
});

describe('lock --check', () => {
  const web = desired('web', [svc('app', APP), svc('worker', WORKER)]);
  const current = lockOf('web', { [APP]: { digest: SHA_A, indexDigest: SHA_I, platform: 'linux/amd64' }, [WORKER]: { digest: SHA_B, platform: 'linux/amd64' } });
  const registry = (): TableResolver =>
    new TableResolver({
      [key(APP)]: { source: 'registry', digest: SHA_A, indexDigest: SHA_I, platform: 'linux/amd64' },
      [key(WORKER)]: { source: 'registry', digest: SHA_B, platform: 'linux/amd64' },
    });
  const check = (resolver: DigestResolver, stacks = [web], offline = false) => run(resolver, { desired: stacks, check: true, offline });

  it('exit 0 when every lock is current, and writes nothing', async () => {
    await writeLockFile(root, current);
    const before = await readFile(path.join(root, 'locks/web.lock.json'), 'utf8');
    const result = await check(registry());
    expect(result).toEqual({ exitCode: 0, results: [{ stack: 'web', status: 'current', findings: [], warnings: [], file: 'locks/web.lock.json' }] });
    expect(await readFile(path.join(root, 'locks/web.lock.json'), 'utf8')).toBe(before);
    expect(await readdir(path.join(root, 'locks'))).toEqual(['web.lock.json']);
  });

  it('exit 2, stale, when there is no lock file (and nothing is resolved)', async () => {
    const resolver = registry();
    const result = await check(resolver);
    expect(result.exitCode).toBe(2);
    expect(result.results[0]!.status).toBe('stale');
    expect(result.results[0]!.findings.map((f) => [f.kind, f.message])).toEqual([['lock-stale', 'locks/web.lock.json does not exist; run driftd lock']]);
    expect(resolver.calls).toEqual([]);
    expect(await readdir(root)).toEqual([]);
  });

  it('exit 2 with one finding per problem: inputs changed, an image without entry, a tag that moved', async () => {
    await writeLockFile(root, lockOf('web', { [APP]: { digest: SHA_A, indexDigest: SHA_I } }, 'e'.repeat(64)));
    const resolver = registry();
    resolver.answers[key(APP)] = { source: 'registry', digest: SHA_C, indexDigest: SHA_J, platform: 'linux/amd64' };
    const result = await check(resolver);
    expect(result.exitCode).toBe(2);
    expect(result.results[0]!.status).toBe('stale');
    expect(result.results[0]!.findings.map((f) => `${f.kind}:${f.service ?? '-'}`)).toEqual(['lock-stale:-', 'image-unpinned:worker', 'image-outdated:app']);
    // Images without an entry are not looked up.
    expect(resolver.calls).toEqual([APP]);
    const text = formatLockResults(result);
    expect(text.split('\n')[0]).toBe('web: stale locks/web.lock.json');
    expect(text).toContain(`  image-outdated (app): the registry now serves sha256:222222222222 for ${APP} (locked: sha256:111111111111, used by app); run driftd lock to take it`);
  });

  it('exit 2, outdated, when only a tag moved', async () => {
    await writeLockFile(root, current);
    const resolver = registry();
    resolver.answers[key(WORKER)] = { source: 'registry', digest: SHA_C, platform: 'linux/amd64' };
    const result = await check(resolver);
    expect(result.exitCode).toBe(2);
    expect(result.results[0]!.status).toBe('outdated');
    expect(result.results[0]!.findings.map((f) => f.kind)).toEqual(['image-outdated']);
  });

  it('platform digest unchanged but the index moved is outdated (other platforms changed)', async () => {
    await writeLockFile(root, current);
    const resolver = registry();
    resolver.answers[key(APP)] = { source: 'registry', digest: SHA_A, indexDigest: SHA_J, platform: 'linux/amd64' };
    expect((await check(resolver)).results[0]!.status).toBe('outdated');
  });

  it('registry unreachable: a RegistryError naming the image (exit 1 from the CLI)', async () => {
    await writeLockFile(root, current);
    const resolver = registry();
    delete resolver.answers[key(WORKER)];
    await expect(check(resolver)).rejects.toMatchObject({ code: 'RegistryError', message: expect.stringContaining(WORKER) as string });
  });

  it('registry unreachable with --offline: the image is reported unchecked, the rest is still checked', async () => {
    await writeLockFile(root, current);
    const resolver = registry();
    delete resolver.answers[key(WORKER)];
    const result = await check(resolver, [web], true);
    expect(result.exitCode).toBe(0);
    expect(result.results[0]!.status).toBe('current');
    expect(result.results[0]!.warnings).toEqual([`cannot resolve image ${WORKER}: manifest unknown (offline: not checked for a newer digest)`]);
  });

  it('a broken lock file is an error for its stack only (exit 1)', async () => {
    await writeLockFile(root, current);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(root, 'locks/api.lock.json'), '{"version": 1,');
    const api = desired('api', [svc('app', APP)]);
    const result = await check(registry(), [web, api]);
    expect(result.exitCode).toBe(1);
    expect(result.results.map((r) => r.status)).toEqual(['current', 'error']);
    expect(result.results[1]!.error).toContain('locks/api.lock.json');
  });

  it('a stack without images needs no lock', async () => {
    const result = await check(registry(), [desired('empty', [])]);
    expect(result).toMatchObject({ exitCode: 0, results: [{ status: 'current' }] });
  });

  it('keeps the compose sha it was given', async () => {
    await run(registry(), { desired: [web] });
    expect(JSON.parse(await readFile(path.join(root, 'locks/web.lock.json'), 'utf8'))).toMatchObject({ composeSha256: COMPOSE_SHA, stack: 'web', version: 1 });
  });
});
