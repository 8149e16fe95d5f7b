/**
 * Local path repos are read from their object store only: the working tree, the index and the
 * refs of the user's checkout are left exactly as they were.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DriftdError } from '../../src/errors/index.js';
import { createGitSource } from '../../src/source/index.js';
import { execFileCapture } from '../../src/util/exec.js';
import { RepoBuilder } from '../support/repo-builder.js';
import { rejection } from '../support/rejection.js';

function fileState(file: string): { sha: string; mtimeMs: number } {
  return { sha: createHash('sha256').update(readFileSync(file)).digest('hex'), mtimeMs: statSync(file).mtimeMs };
}

describe('Git source on a local path', () => {
  let repo: RepoBuilder;
  let dataDir: string;
  const extraDirs: string[] = [];

  beforeEach(async () => {
    repo = await RepoBuilder.create();
    repo.writeSimpleStack('edge').writeSimpleStack('app');
    await repo.commit('first');
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-data-'));
  });

  afterEach(() => {
    repo.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
    for (const d of extraDirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('reads the committed state and never touches the working tree, index or refs', async () => {
    await repo.tag('v1.0.0', { annotated: true });
    const tagged = await repo.head();
    // A dirty checkout: a modified tracked file, a staged change, an untracked file.
    // (`git --no-optional-locks status` does not refresh the index, so only driftd could change it.)
    repo.write('stacks/edge/.env', 'MODE=uncommitted\n');
    repo.write('stacks/app/.env', 'MODE=staged\n');
    await repo.git('add', 'stacks/app/.env');
    repo.write('stacks/new/compose.yaml', 'services: {}\n');
    const statusBefore = await repo.git('--no-optional-locks', 'status', '--porcelain=v2', '--branch', '--untracked-files=all');
    const indexBefore = fileState(path.join(repo.dir, '.git/index'));
    const refsBefore = await repo.git('for-each-ref');

    const source = createGitSource({ repo: repo.dir, dataDir, timeoutMs: 30_000 });
    expect(source.isLocal).toBe(true);
    const polled = await source.poll({ kind: 'auto' });
    expect(polled.revision).toEqual({ commit: tagged, ref: 'v1.0.0', refKind: 'tag' });
    expect(readFileSync(path.join(polled.snapshot.dir, 'stacks/edge/.env'), 'utf8')).toBe('MODE=prod\n');
    expect(readFileSync(path.join(polled.snapshot.dir, 'stacks/app/.env'), 'utf8')).toBe('MODE=prod\n');

    expect(await repo.git('--no-optional-locks', 'status', '--porcelain=v2', '--branch', '--untracked-files=all')).toBe(statusBefore);
    expect(fileState(path.join(repo.dir, '.git/index'))).toEqual(indexBefore);
    expect(await repo.git('for-each-ref')).toBe(refsBefore);
  });

  it('without release tags, auto follows the committed HEAD', async () => {
    const head = await repo.head();
    const source = createGitSource({ repo: repo.dir, dataDir, timeoutMs: 30_000 });
    expect(await source.resolve({ kind: 'auto' })).toEqual({ commit: head, ref: 'HEAD', refKind: 'head', warnings: [] });
  });

  it('reads packed refs and packed objects (after git gc), and peels annotated tags', async () => {
    await repo.tag('v1.0.0', { annotated: true });
    await repo.tag('v1.1.0');
    repo.writeSimpleStack('edge', { env: 'MODE=two\n' });
    const second = await repo.commit();
    await repo.tag('release/2.0.0', { annotated: true });
    await repo.git('gc', '--quiet', '--prune=now');
    const source = createGitSource({ repo: repo.dir, dataDir, timeoutMs: 30_000 });
    const refs = await source.listRefs();
    expect(Object.keys(refs.tags).sort()).toEqual(['release/2.0.0', 'v1.0.0', 'v1.1.0']);
    expect(refs.tags['release/2.0.0']?.commit).toBe(second);
    expect(refs.branches.main).toBe(second);
    expect(await source.resolve({ kind: 'semver', range: '>=2', prefix: 'release/' })).toMatchObject({ commit: second, ref: 'release/2.0.0' });
    const snap = await source.materialize(second);
    expect(readFileSync(path.join(snap.dir, 'stacks/edge/.env'), 'utf8')).toBe('MODE=two\n');
  });

  it('--ref-semver without --tag-prefix selects v-tags; an explicit prefix keeps its exact meaning and names the near misses', async () => {
    await repo.tag('v1.0.0');
    repo.writeSimpleStack('edge', { env: 'MODE=v11\n' });
    const v11 = await repo.commit();
    await repo.tag('v1.1.0', { annotated: true });
    const source = createGitSource({ repo: repo.dir, dataDir, timeoutMs: 30_000 });
    expect(await source.resolve({ kind: 'semver', range: '>=1.0.0' })).toMatchObject({ commit: v11, ref: 'v1.1.0', refKind: 'tag' });
    const err = await rejection(source.resolve({ kind: 'semver', range: '>=1.0.0', prefix: '' }));
    expect(err.code).toBe('GitRefNotFound');
    expect(err.message).toBe(`no tag in ${repo.dir} matches semver range ">=1.0.0"; tags v1.1.0, v1.0.0 exist: did you mean --tag-prefix v?`);
  });

  it('works on a bare repo and on a linked worktree', async () => {
    await repo.tag('v1.0.0');
    const bare = mkdtempSync(path.join(os.tmpdir(), 'driftd-bare-'));
    extraDirs.push(bare);
    await execFileCapture('git', ['clone', '--quiet', '--bare', repo.dir, bare]);
    expect((await createGitSource({ repo: bare, dataDir, timeoutMs: 30_000 }).resolve({ kind: 'tag', tag: 'v1.0.0' })).commit).toBe(await repo.head());

    const worktree = path.join(mkdtempSync(path.join(os.tmpdir(), 'driftd-wt-')), 'wt');
    extraDirs.push(path.dirname(worktree));
    await repo.git('worktree', 'add', '--quiet', '--detach', worktree);
    expect((await createGitSource({ repo: worktree, dataDir, timeoutMs: 30_000 }).resolve({ kind: 'tag', tag: 'v1.0.0' })).commit).toBe(await repo.head());
  });

  it('a local tag that moves is reported', async () => {
    const first = await repo.head();
    await repo.tag('v1.0.0');
    const source = createGitSource({ repo: repo.dir, dataDir, timeoutMs: 30_000 });
    await source.resolve({ kind: 'tag', tag: 'v1.0.0' });
    repo.writeSimpleStack('edge', { env: 'MODE=moved\n' });
    const second = await repo.commit();
    await repo.moveTag('v1.0.0', second);
    const r = await source.resolve({ kind: 'tag', tag: 'v1.0.0' });
    expect(r.commit).toBe(second);
    expect(r.warnings).toEqual([expect.objectContaining({ kind: 'tag-moved', tag: 'v1.0.0', from: first, to: second })]);
  });

  it('a path that is not a Git repository is RepoNotFound', async () => {
    const plain = mkdtempSync(path.join(os.tmpdir(), 'driftd-plain-'));
    extraDirs.push(plain);
    const err = await createGitSource({ repo: plain, dataDir, timeoutMs: 30_000 })
      .listRefs()
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DriftdError);
    expect((err as DriftdError).code).toBe('RepoNotFound');
    expect((err as DriftdError).message).toContain(plain);
  });

  it('ssh and other URL schemes are refused with a ConfigError', () => {
    for (const repoUrl of ['ssh://git@host/r.git', 'git@github.com:org/r.git', 'git://host/r.git']) {
      expect(() => createGitSource({ repo: repoUrl, dataDir, timeoutMs: 30_000 })).toThrow(/only http:\/\/ and https:\/\/ URLs and local paths/);
    }
  });
});
