/**
 * Ref listing over protocol v2 (ls-refs with ref prefixes) against the real loopback
 * `git http-backend`, and the fallback to v0 when the server does not speak v2. Requests and
 * bytes are counted at the server: one refs request per poll, and a new target's fetch re-lists
 * nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RefPolicy } from '../../src/config/resolve.js';
import { createGitSource } from '../../src/source/index.js';
import { GitServer, type ServedRepo } from '../support/git-server.js';
import { RepoBuilder } from '../support/repo-builder.js';

const TAGS = 500;

describe('ref listing: protocol v2 ls-refs, v0 fallback', () => {
  let server: GitServer;
  let served: ServedRepo;
  let repo: RepoBuilder;
  let dataDir: string;

  beforeEach(async () => {
    server = await GitServer.start();
    served = await server.createRepo('desired.git');
    repo = await RepoBuilder.create();
    repo.writeSimpleStack('app').writeFleet('hosts:\n  "*": [app]\n');
    const commit = await repo.commit('first');
    await repo.push(served.path);
    // 500 lightweight release tags, written straight into the served repo.
    createTags(Array.from({ length: TAGS }, (_, i) => `v1.${i}.0`), commit);
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-data-'));
  });

  afterEach(async () => {
    await server.close();
    repo.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function createTags(names: string[], commit: string): void {
    const input = names.map((n) => `create refs/tags/${n} ${commit}\n`).join('');
    expect(spawnSync('git', ['--git-dir', served.path, 'update-ref', '--stdin'], { input }).status).toBe(0);
  }

  const source = () => createGitSource({ repo: served.url, dataDir, timeoutMs: 30_000 });

  /** The second poll at the same refs: its requests and response bytes. */
  async function noChangePoll(policy: RefPolicy): Promise<{ requests: number; bytes: number; kinds: string[] }> {
    await source().poll(policy);
    server.resetStats();
    await source().poll(policy);
    return { requests: server.count(), bytes: server.bytes().response, kinds: server.requests.map((r) => r.command ?? r.service) };
  }

  it('a pinned tag on a 500-tag repo: one ls-refs request of a few hundred bytes; v0 sends every ref', async () => {
    const v2 = await noChangePoll({ kind: 'tag', tag: 'v1.499.0' });
    expect(v2.kinds).toEqual(['ls-refs']);
    expect(v2.bytes).toBeLessThan(1000);

    rmSync(dataDir, { recursive: true, force: true });
    server.protocolV2 = false;
    const v0 = await noChangePoll({ kind: 'tag', tag: 'v1.499.0' });
    expect(v0.kinds).toEqual(['info/refs']);
    expect(v0.bytes).toBeGreaterThan(30_000);
    console.log(`no-change poll, pinned tag, ${TAGS} tags: v2 ${v2.bytes} B, v0 ${v0.bytes} B`);
  });

  it('a branch policy lists only that branch; a semver prefix only its tags', async () => {
    createTags(['other1.0.0'], await repo.head());
    const branch = await noChangePoll({ kind: 'branch', branch: 'main' });
    expect(branch.kinds).toEqual(['ls-refs']);
    expect(branch.bytes).toBeLessThan(1000);
    const semver = await noChangePoll({ kind: 'semver', range: '>=1.0.0', prefix: 'other' });
    expect(semver.kinds).toEqual(['ls-refs']);
    expect(semver.bytes).toBeLessThan(1000);
    const all = await noChangePoll({ kind: 'semver', range: '>=1.0.0', prefix: 'v' });
    expect(all.kinds).toEqual(['ls-refs']);
    console.log(`no-change poll over v2: branch ${branch.bytes} B, semver prefix "other" ${semver.bytes} B, prefix "v" (${TAGS} tags) ${all.bytes} B`);
  });

  for (const v2 of [true, false]) {
    it(`a new tag (${v2 ? 'v2' : 'v0 server'}): one refs request and one fetch, no second listing; the annotated tag object arrives`, async () => {
      server.protocolV2 = v2;
      const policy: RefPolicy = { kind: 'semver', range: '>=1.0.0', prefix: 'v' };
      await source().poll(policy);
      repo.writeSimpleStack('app', { env: 'MODE=new\n' });
      const next = await repo.commit('next');
      await repo.tag('v2.0.0', { annotated: true });
      const tagObject = await repo.git('rev-parse', 'v2.0.0');
      await repo.push(served.path);
      server.resetStats();
      const s = createGitSource({ repo: served.url, dataDir, timeoutMs: 30_000, fetchTagObjects: true });
      const polled = await s.resolve(policy);
      expect(polled).toMatchObject({ commit: next, ref: 'v2.0.0', tagObject });
      expect(server.requests.map((r) => r.command ?? r.service)).toEqual([v2 ? 'ls-refs' : 'info/refs', 'fetch']);
      expect((await s.readObject(tagObject)).type).toBe('tag');
    });
  }

  it('listAhead: the next resolve of the same policy uses its answer (one request); another policy, an answer over 2 s old or a failed one are not reused', async () => {
    const policy: RefPolicy = { kind: 'tag', tag: 'v1.3.0' };
    let nowMs = Date.now();
    const s = createGitSource({ repo: served.url, dataDir, timeoutMs: 30_000, now: () => new Date(nowMs) });
    await s.poll(policy);
    server.resetStats();
    s.listAhead(policy);
    expect((await s.poll(policy)).revision.ref).toBe('v1.3.0');
    expect(server.count()).toBe(1);

    // Another policy (a pin set meanwhile): listed again, for that policy.
    server.resetStats();
    s.listAhead(policy);
    expect((await s.poll({ kind: 'tag', tag: 'v1.4.0' })).revision.ref).toBe('v1.4.0');
    expect(server.count()).toBe(2);

    // An answer that waited too long (a sync that waited for the host lock): listed again.
    server.resetStats();
    s.listAhead(policy);
    await new Promise((r) => setTimeout(r, 200));
    expect(server.count()).toBe(1);
    nowMs += 2001;
    await s.poll(policy);
    expect(server.count()).toBe(2);

    // Taken once: a second resolve lists again.
    server.resetStats();
    s.listAhead(policy);
    await s.resolve(policy);
    await s.resolve(policy);
    expect(server.count()).toBe(2);

    // The server down: the error is the resolve's, as without listAhead, and nothing is left unhandled.
    await server.close();
    s.listAhead(policy);
    const err = await s.resolve(policy).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'GitUnreachable' });
    server = await GitServer.start();
  });

  it('a server remembered as v2 that stops speaking it: the poll falls back to v0 and succeeds, then stays at one request', async () => {
    const policy: RefPolicy = { kind: 'tag', tag: 'v1.3.0' };
    await source().poll(policy);
    server.protocolV2 = false;
    server.resetStats();
    expect((await source().poll(policy)).revision.ref).toBe('v1.3.0');
    expect(server.requests.map((r) => r.command ?? r.service)).toEqual(['ls-refs', 'info/refs']);
    server.resetStats();
    await source().poll(policy);
    expect(server.count()).toBe(1);
  });
});
