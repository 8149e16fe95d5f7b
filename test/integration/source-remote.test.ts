/**
 * The Git source against a real `git http-backend` on loopback: auth, tag selection, cheap
 * polling (proved by counting requests at the server), tag movement, and outages.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitSource, type GitSource } from '../../src/source/index.js';
import { GitServer, type ServedRepo } from '../support/git-server.js';
import { RepoBuilder } from '../support/repo-builder.js';
import { rejection } from '../support/rejection.js';
import { loadScaledBudget } from '../support/budget.js';

const AUTH = { username: 'driftd', password: 'tok-3f9a1c' };


describe('Git source over smart HTTP', () => {
  let server: GitServer;
  let served: ServedRepo;
  let repo: RepoBuilder;
  let dataDir: string;
  let source: GitSource;

  beforeEach(async () => {
    server = await GitServer.start({ auth: AUTH });
    served = await server.createRepo('desired.git');
    repo = await RepoBuilder.create();
    repo.writeSimpleStack('edge').writeSimpleStack('app').writeFleet('hosts:\n  "*": [edge, app]\n');
    await repo.commit('first');
    await repo.tag('v1.0.0', { annotated: true });
    await repo.push(served.path);
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-data-'));
    source = createGitSource({ repo: served.url, dataDir, auth: AUTH, timeoutMs: 30_000 });
  });

  afterEach(async () => {
    await server.close();
    repo.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('token auth: resolves, fetches and materializes the tagged commit', async () => {
    const commit = await repo.git('rev-parse', 'v1.0.0^{commit}');
    const polled = await source.poll({ kind: 'semver', range: '^1', prefix: 'v' });
    expect(polled.revision).toEqual({ commit, ref: 'v1.0.0', refKind: 'tag' });
    expect(polled.warnings).toEqual([]);
    expect(polled.snapshot.dir).toBe(path.join(dataDir, 'snapshots', commit));
    expect(readFileSync(path.join(polled.snapshot.dir, 'stacks/edge/compose.yaml'), 'utf8')).toContain('busybox:1.36');
    expect(readFileSync(path.join(polled.snapshot.dir, 'fleet.yaml'), 'utf8')).toContain('edge');
    // Every request carried the credentials: no 401 round trip.
    expect(server.count({ status: 401 })).toBe(0);
    expect(server.count({ service: 'git-upload-pack', command: 'fetch' })).toBe(1);
  });

  it('user:password auth works the same way', async () => {
    const s2 = await GitServer.start({ auth: { username: 'ops', password: 'pa:ss wörd' } });
    try {
      const r2 = await s2.createRepo('r.git');
      await repo.push(r2.path);
      const src = createGitSource({ repo: r2.url, dataDir, auth: { username: 'ops', password: 'pa:ss wörd' }, timeoutMs: 30_000 });
      expect((await src.resolve({ kind: 'tag', tag: 'v1.0.0' })).ref).toBe('v1.0.0');
    } finally {
      await s2.close();
    }
  });

  it('wrong token: GitAuthRefused after one request, no retry loop, secret not in the message', async () => {
    const bad = createGitSource({ repo: served.url, dataDir, auth: { username: 'driftd', password: 'wrong-token-value' }, timeoutMs: 30_000 });
    const err = await rejection(bad.poll({ kind: 'auto' }));
    expect(err.code).toBe('GitAuthRefused');
    expect(err.message).toMatch(/refused the configured credentials/);
    expect(err.message).not.toContain('wrong-token-value');
    expect(server.count()).toBe(1);
    expect(server.count({ status: 401 })).toBe(1);
  });

  it('no credentials for a protected repo: GitAuthRefused saying to configure them', async () => {
    const anon = createGitSource({ repo: served.url, dataDir, timeoutMs: 30_000 });
    const err = await rejection(anon.listRefs());
    expect(err.code).toBe('GitAuthRefused');
    expect(err.message).toMatch(/requires credentials/);
  });

  it('a missing repo is RepoNotFound', async () => {
    const missing = createGitSource({ repo: server.urlFor('nope.git'), dataDir, auth: AUTH, timeoutMs: 30_000 });
    expect((await rejection(missing.listRefs())).code).toBe('RepoNotFound');
  });

  it('a missing pinned tag is GitRefNotFound; an invalid one is InvalidRef without any request', async () => {
    expect((await rejection(source.resolve({ kind: 'tag', tag: 'v9.9.9' }))).code).toBe('GitRefNotFound');
    server.resetStats();
    expect((await rejection(source.resolve({ kind: 'tag', tag: 'v1..0' }))).code).toBe('InvalidRef');
    expect((await rejection(source.resolve({ kind: 'semver', range: '>>1', prefix: 'v' }))).code).toBe('InvalidRef');
    expect(server.count()).toBe(0);
  });

  it('no new tag: the poll is exactly one request (protocol v2 ls-refs, the server is known to speak v2) and no fetch', async () => {
    const first = await source.poll({ kind: 'semver', range: '>=1.0.0', prefix: 'v' });
    server.resetStats();
    const again = await source.poll({ kind: 'semver', range: '>=1.0.0', prefix: 'v' });
    expect(again.revision).toEqual(first.revision);
    expect(again.snapshot.dir).toBe(first.snapshot.dir);
    expect(server.count()).toBe(1);
    expect(server.count({ service: 'git-upload-pack', command: 'ls-refs' })).toBe(1);
    expect(server.count({ service: 'info/refs' })).toBe(0);
    // A new process reads the remembered protocol: still one request.
    server.resetStats();
    await createGitSource({ repo: served.url, dataDir, auth: AUTH, timeoutMs: 30_000 }).poll({ kind: 'semver', range: '>=1.0.0', prefix: 'v' });
    expect(server.count()).toBe(1);
  });

  it('a target whose snapshot exists needs no object-store read: the poll works with the mirror gone; signature verification still makes the mirror hold it', async () => {
    const policy = { kind: 'semver', range: '>=1.0.0', prefix: 'v' } as const;
    const first = await source.poll(policy);
    // Without the mirror's objects any read of the store fails (and a missing commit is fetched).
    rmSync(path.join(dataDir, 'git', 'mirror'), { recursive: true });
    server.resetStats();
    const fresh = createGitSource({ repo: served.url, dataDir, auth: AUTH, timeoutMs: 30_000 });
    const again = await fresh.poll(policy);
    expect(again.revision).toEqual(first.revision);
    expect(again.snapshot).toEqual(first.snapshot);
    expect(server.count()).toBe(1);
    expect(server.count({ service: 'git-upload-pack', command: 'fetch' })).toBe(0);
    // The snapshot stands for the commit only once: a later materialize reads the manifest again.
    rmSync(first.snapshot.dir, { recursive: true });
    await expect(fresh.materialize(first.revision.commit)).rejects.toMatchObject({ code: 'GitRefNotFound' });

    // Verification reads the target's objects: the poll fetches the commit back into the mirror.
    server.resetStats();
    const verifying = createGitSource({ repo: served.url, dataDir, auth: AUTH, timeoutMs: 30_000, readsObjects: true });
    const verified = await verifying.poll(policy);
    expect(verified.revision).toEqual(first.revision);
    expect(server.count({ service: 'git-upload-pack', command: 'fetch' })).toBe(1);
    await expect(verifying.readObject(first.revision.commit)).resolves.toMatchObject({ type: 'commit' });
  });

  it('a new tag appears: it is selected and fetched incrementally', async () => {
    const first = await source.poll({ kind: 'semver', range: '^1', prefix: 'v' });
    for (let i = 0; i < 40; i++) repo.writeSimpleStack(`bulk${i}`, { env: `SEED=${i}-${'abcdefghij'.repeat(i + 5)}\n` });
    await repo.commit('many stacks');
    await repo.tag('v1.0.1');
    await repo.push(served.path);
    expect((await source.poll({ kind: 'semver', range: '^1', prefix: 'v' })).revision.ref).toBe('v1.0.1');

    repo.writeSimpleStack('edge', { env: 'MODE=dev\n' });
    const c3 = await repo.commit('edge to dev');
    await repo.tag('v1.1.0', { annotated: true });
    await repo.tag('v2.0.0'); // outside the range
    await repo.tag('v1.2.0-rc.1'); // a pre-release the range does not ask for
    await repo.push(served.path);
    server.resetStats();
    const next = await source.poll({ kind: 'semver', range: '^1', prefix: 'v' });
    expect(next.revision).toEqual({ commit: c3, ref: 'v1.1.0', refKind: 'tag' });
    expect(readFileSync(path.join(next.snapshot.dir, 'stacks/edge/.env'), 'utf8')).toBe('MODE=dev\n');
    expect(server.count({ service: 'git-upload-pack', command: 'fetch' })).toBe(1);
    const incremental = server.bytes({ service: 'git-upload-pack', command: 'fetch' }).response;

    // The same revision fetched into an empty mirror: the whole tree travels.
    const freshDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-data-'));
    try {
      server.resetStats();
      await createGitSource({ repo: served.url, dataDir: freshDir, auth: AUTH, timeoutMs: 30_000 }).resolve({ kind: 'tag', tag: 'v1.1.0' });
      const full = server.bytes({ service: 'git-upload-pack', command: 'fetch' }).response;
      expect(incremental * 3).toBeLessThan(full);
    } finally {
      rmSync(freshDir, { recursive: true, force: true });
    }

    const changes = await source.changedFiles(first.revision.commit, c3, 'edge');
    expect(changes).toEqual([
      { path: 'stacks/edge/.env', status: 'modified', oldMode: '100644', newMode: '100644', oldContent: 'MODE=prod\n', newContent: 'MODE=dev\n' },
    ]);
    expect(await source.changedFiles(first.revision.commit, c3, 'app')).toEqual([]);
    expect((await source.changedFiles(first.revision.commit, c3, 'bulk3')).map((c) => [c.path, c.status])).toEqual([
      ['stacks/bulk3/.env', 'added'],
      ['stacks/bulk3/compose.yaml', 'added'],
    ]);
  });

  it('annotated and lightweight tags peel to the same commit', async () => {
    const commit = await repo.git('rev-parse', 'HEAD');
    await repo.tag('light');
    await repo.push(served.path);
    const refs = await source.listRefs();
    expect(refs.tags['v1.0.0']?.commit).toBe(commit);
    expect(refs.tags['v1.0.0']?.object).not.toBe(commit);
    expect(refs.tags.light).toEqual({ object: commit, commit });
    expect((await source.resolve({ kind: 'tag', tag: 'light' })).commit).toBe(commit);
    expect((await source.resolve({ kind: 'tag', tag: 'v1.0.0' })).commit).toBe(commit);
  });

  it('prefix "main" serves tags like main1.0.1; branch policy follows the head', async () => {
    await repo.tag('main1.0.1');
    repo.writeSimpleStack('app', { env: 'MODE=x\n' });
    const head = await repo.commit();
    await repo.tag('main1.0.2');
    await repo.push(served.path);
    expect(await source.resolve({ kind: 'semver', range: '1.0.x', prefix: 'main' })).toMatchObject({ ref: 'main1.0.2', commit: head });
    expect(await source.resolve({ kind: 'branch', branch: 'main' })).toMatchObject({ ref: 'main', refKind: 'branch', commit: head });
  });

  it('a moved tag and a deleted tag are reported once, as warnings', async () => {
    const original = await repo.git('rev-parse', 'v1.0.0^{commit}');
    await repo.tag('v0.9.0');
    await repo.push(served.path);
    // A policy whose listing covers both tags (ls-refs sends only the policy's prefixes).
    const policy = { kind: 'semver', range: '>=0.9.0 <2', prefix: 'v' } as const;
    await source.poll(policy);

    repo.writeSimpleStack('edge', { env: 'MODE=evil\n' });
    const other = await repo.commit('retagged');
    await repo.moveTag('v1.0.0', other, { annotated: true });
    await repo.deleteTag('v0.9.0');
    await repo.push(served.path);

    const polled = await source.poll(policy);
    expect(polled.revision.commit).toBe(other);
    expect(polled.warnings).toEqual([
      expect.objectContaining({ kind: 'tag-deleted', tag: 'v0.9.0', commit: original }),
      expect.objectContaining({ kind: 'tag-moved', tag: 'v1.0.0', from: original, to: other }),
    ]);
    expect((await source.poll(policy)).warnings).toEqual([]);
    expect(existsSync(path.join(dataDir, 'git', 'seen-tags.json'))).toBe(true);
  });

  it('server down: GitUnreachable, and the last good snapshot stays usable; back up: polling resumes', async () => {
    const good = await source.poll({ kind: 'auto' });
    await server.stop();
    const err = await rejection(source.poll({ kind: 'auto' }));
    expect(err.code).toBe('GitUnreachable');
    expect(err.message).toContain(served.url);

    // A fresh process (new source object) still finds the last good revision offline.
    const restarted = createGitSource({ repo: served.url, dataDir, auth: AUTH, timeoutMs: 30_000 });
    const last = await restarted.lastGood();
    expect(last?.revision).toEqual(good.revision);
    expect(last?.snapshot.dir).toBe(good.snapshot.dir);
    expect(readFileSync(path.join(last!.snapshot.dir, 'stacks/app/compose.yaml'), 'utf8')).toContain('services:');

    // gc never removes the last good snapshot.
    expect(await restarted.gc([])).toEqual([]);
    expect(existsSync(good.snapshot.dir)).toBe(true);

    await server.start();
    expect((await restarted.poll({ kind: 'auto' })).revision).toEqual(good.revision);
  });

  it('a snapshot removed by hand is re-materialized from the mirror without the network', async () => {
    const good = await source.poll({ kind: 'auto' });
    rmSync(good.snapshot.dir, { recursive: true });
    await server.stop();
    const last = await source.lastGood();
    expect(last?.snapshot.dir).toBe(good.snapshot.dir);
    expect(existsSync(path.join(good.snapshot.dir, 'stacks/edge/compose.yaml'))).toBe(true);
  });

  it('auto without release tags follows the remote HEAD', async () => {
    const untagged = await server.createRepo('untagged.git');
    const r2 = await RepoBuilder.create();
    try {
      r2.writeSimpleStack('edge');
      const head = await r2.commit();
      await r2.tag('not-semver');
      await r2.push(untagged.path);
      const src = createGitSource({ repo: untagged.url, dataDir, auth: AUTH, timeoutMs: 30_000 });
      const polled = await src.poll({ kind: 'auto' });
      expect(polled.revision).toEqual({ commit: head, ref: 'HEAD', refKind: 'head' });
      expect(existsSync(path.join(polled.snapshot.dir, 'stacks/edge/compose.yaml'))).toBe(true);
    } finally {
      r2.cleanup();
    }
  });

  it('a server that accepts but never answers times out as GitUnreachable', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as net.AddressInfo;
      const src = createGitSource({ repo: `http://127.0.0.1:${port}/r.git`, dataDir, timeoutMs: 300 });
      const started = Date.now();
      const err = await rejection(src.listRefs());
      expect(err.code).toBe('GitUnreachable');
      expect(err.message).toMatch(/timed out/);
      const budget = loadScaledBudget(5000);
      expect(Date.now() - started, budget.note).toBeLessThan(budget.ms);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('connection refused on a closed port and an unresolvable host are GitUnreachable', async () => {
    await server.stop();
    const refused = createGitSource({ repo: served.url, dataDir, timeoutMs: 30_000 });
    const e1 = await rejection(refused.listRefs());
    expect(e1.code).toBe('GitUnreachable');
    // "reset" when a pooled keep-alive socket was cut by the shutdown.
    expect(e1.message).toMatch(/connection (refused|reset)/);
    const dns = createGitSource({ repo: 'http://no-such-host.invalid/r.git', dataDir, timeoutMs: 30_000 });
    const e2 = await rejection(dns.listRefs());
    expect(e2.code).toBe('GitUnreachable');
  });
});
