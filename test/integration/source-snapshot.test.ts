/**
 * Materialized snapshots: complete-or-absent, immutable, reused, garbage-collected; unsafe
 * content fails alone; and the 200-stack performance budget.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitSource, type GitSource } from '../../src/source/index.js';
import { RepoBuilder } from '../support/repo-builder.js';
import { rejection } from '../support/rejection.js';
import { loadScaledBudget } from '../support/budget.js';


describe('snapshots', () => {
  let repo: RepoBuilder;
  let dataDir: string;
  let source: GitSource;

  beforeEach(async () => {
    repo = await RepoBuilder.create();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-data-'));
    source = createGitSource({ repo: repo.dir, dataDir, timeoutMs: 30_000, maxFileBytes: 4096 });
  });

  afterEach(() => {
    repo.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('holds exactly stacks/, locks/ and fleet.yaml, with file modes and in-stack symlinks', async () => {
    repo
      .writeSimpleStack('edge')
      .write('stacks/edge/scripts/entry.sh', '#!/bin/sh\nexec "$@"\n', 0o755)
      .write('stacks/edge/conf/site.conf', 'listen 80;\n')
      .symlink('stacks/edge/conf/current.conf', 'site.conf')
      .writeLock('edge', { version: 1, stack: 'edge', composeSha256: 'x', images: {} })
      .writeFleet('hosts:\n  "*": [edge]\n')
      .write('README.md', '# not desired state\n')
      .write('docs/x.md', 'no\n');
    const commit = await repo.commit();
    const snap = await source.materialize(commit);
    // Object ids of each stack folder, lock and fleet.yaml, as Git has them (equal id = equal content at any commit).
    const oid = (p: string): string => execFileSync('git', ['-C', repo.dir, 'rev-parse', `${commit}:${p}`], { encoding: 'utf8' }).trim();
    const oids = { 'fleet.yaml': oid('fleet.yaml'), 'locks/edge.lock.json': oid('locks/edge.lock.json'), 'stacks/edge': oid('stacks/edge') };
    expect(snap).toEqual({ commit, dir: path.join(dataDir, 'snapshots', commit), problems: [], oids, maxFileBytes: 4096 });
    // A reused snapshot reports them too.
    expect((await createGitSource({ repo: repo.dir, dataDir, timeoutMs: 30_000, maxFileBytes: 4096 }).materialize(commit)).oids).toEqual(oids);
    expect(readdirSync(snap.dir).sort()).toEqual(['.driftd-snapshot.json', 'fleet.yaml', 'locks', 'stacks']);
    expect(statSync(path.join(snap.dir, 'stacks/edge/scripts/entry.sh')).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(snap.dir, 'stacks/edge/compose.yaml')).mode & 0o777).toBe(0o644);
    expect(readlinkSync(path.join(snap.dir, 'stacks/edge/conf/current.conf'))).toBe('site.conf');
    expect(readFileSync(path.join(snap.dir, 'stacks/edge/conf/current.conf'), 'utf8')).toBe('listen 80;\n');
    expect(JSON.parse(readFileSync(path.join(snap.dir, 'locks/edge.lock.json'), 'utf8'))).toMatchObject({ stack: 'edge' });
  });

  it.each([0o077, 0o000])('file and folder modes do not depend on the process umask (%o)', async (umask) => {
    repo.writeSimpleStack('edge').write('stacks/edge/run.sh', '#!/bin/sh\n', 0o755);
    const commit = await repo.commit();
    const saved = process.umask(umask);
    try {
      const snap = await source.materialize(commit);
      expect(statSync(path.join(snap.dir, 'stacks/edge')).mode & 0o777).toBe(0o755);
      expect(statSync(path.join(snap.dir, 'stacks/edge/run.sh')).mode & 0o777).toBe(0o755);
      expect(statSync(path.join(snap.dir, 'stacks/edge/compose.yaml')).mode & 0o777).toBe(0o644);
    } finally {
      process.umask(saved);
    }
  });

  describe('a new revision links the stack folders that did not change from the last good one', () => {
    const inode = (dir: string, file: string): number => statSync(path.join(dir, file)).ino;

    it('unchanged folders are hard links (modes, symlinks, nested files intact); changed ones are written from Git', async () => {
      repo
        .writeSimpleStack('same')
        .write('stacks/same/bin/run.sh', '#!/bin/sh\n', 0o755)
        .symlink('stacks/same/current.yaml', 'compose.yaml')
        .writeSimpleStack('edited');
      await repo.commit();
      await repo.tag('v1');
      const first = (await source.poll({ kind: 'tag', tag: 'v1' })).snapshot;
      repo.write('stacks/edited/compose.yaml', 'services:\n  app:\n    image: nginx:1.28\n');
      await repo.commit();
      await repo.tag('v2');
      const second = (await source.poll({ kind: 'tag', tag: 'v2' })).snapshot;

      expect(inode(second.dir, 'stacks/same/compose.yaml')).toBe(inode(first.dir, 'stacks/same/compose.yaml'));
      expect(inode(second.dir, 'stacks/same/bin/run.sh')).toBe(inode(first.dir, 'stacks/same/bin/run.sh'));
      expect(statSync(path.join(second.dir, 'stacks/same/bin/run.sh')).mode & 0o777).toBe(0o755);
      expect(readlinkSync(path.join(second.dir, 'stacks/same/current.yaml'))).toBe('compose.yaml');
      expect(inode(second.dir, 'stacks/edited/compose.yaml')).not.toBe(inode(first.dir, 'stacks/edited/compose.yaml'));
      expect(readFileSync(path.join(second.dir, 'stacks/edited/compose.yaml'), 'utf8')).toContain('nginx:1.28');
      // Removing the old snapshot leaves the new one whole.
      rmSync(first.dir, { recursive: true, force: true });
      expect(readFileSync(path.join(second.dir, 'stacks/same/bin/run.sh'), 'utf8')).toBe('#!/bin/sh\n');
    });

    it('a base whose folders are gone or replaced by symlinks is never followed: those folders are written from Git', async () => {
      repo.writeSimpleStack('same').writeSimpleStack('planted').writeSimpleStack('edited');
      await repo.commit();
      await repo.tag('v1');
      const first = (await source.poll({ kind: 'tag', tag: 'v1' })).snapshot;
      // Another local user cannot do this (the data dir is 0700), but a damaged data dir can look like it.
      const outside = mkdtempSync(path.join(os.tmpdir(), 'driftd-outside-'));
      try {
        writeFileSync(path.join(outside, 'compose.yaml'), 'services:\n  app:\n    image: evil:1\n');
        rmSync(path.join(first.dir, 'stacks/planted'), { recursive: true });
        symlinkSync(outside, path.join(first.dir, 'stacks/planted'));
        repo.write('stacks/edited/compose.yaml', 'services:\n  app:\n    image: nginx:1.28\n');
        await repo.commit();
        await repo.tag('v2');
        const second = (await source.poll({ kind: 'tag', tag: 'v2' })).snapshot;
        expect(lstatSync(path.join(second.dir, 'stacks/planted')).isDirectory()).toBe(true);
        expect(readFileSync(path.join(second.dir, 'stacks/planted/compose.yaml'), 'utf8')).not.toContain('evil');
        expect(inode(second.dir, 'stacks/same/compose.yaml')).toBe(inode(first.dir, 'stacks/same/compose.yaml'));

        // The whole stacks/ folder of the base gone (its manifest still there): every folder comes from Git.
        rmSync(path.join(second.dir, 'stacks'), { recursive: true });
        repo.write('stacks/edited/compose.yaml', 'services:\n  app:\n    image: nginx:1.29\n');
        await repo.commit();
        await repo.tag('v3');
        const third = (await source.poll({ kind: 'tag', tag: 'v3' })).snapshot;
        expect(third.problems).toEqual([]);
        expect(readdirSync(path.join(third.dir, 'stacks')).sort()).toEqual(['edited', 'planted', 'same']);
        expect(readFileSync(path.join(third.dir, 'stacks/same/compose.yaml'), 'utf8')).toBe(readFileSync(path.join(first.dir, 'stacks/same/compose.yaml'), 'utf8'));
        expect(readFileSync(path.join(third.dir, 'stacks/edited/compose.yaml'), 'utf8')).toContain('nginx:1.29');
      } finally {
        rmSync(outside, { recursive: true, force: true });
      }
    });

    it('a linked folder keeps its refused files as problems; another size limit writes it afresh', async () => {
      repo.writeSimpleStack('big').write('stacks/big/blob.bin', 'x'.repeat(5000)).writeSimpleStack('other');
      await repo.commit();
      await repo.tag('v1');
      const first = (await source.poll({ kind: 'tag', tag: 'v1' })).snapshot;
      expect(first.problems.map((p) => p.file)).toEqual(['stacks/big/blob.bin']);
      repo.write('stacks/other/compose.yaml', 'services:\n  app:\n    image: nginx:1.28\n');
      await repo.commit();
      await repo.tag('v2');
      const second = (await source.poll({ kind: 'tag', tag: 'v2' })).snapshot;
      expect(second.problems).toEqual(first.problems);
      expect(inode(second.dir, 'stacks/big/compose.yaml')).toBe(inode(first.dir, 'stacks/big/compose.yaml'));

      repo.write('stacks/other/compose.yaml', 'services:\n  app:\n    image: nginx:1.29\n');
      await repo.commit();
      await repo.tag('v3');
      const roomier = createGitSource({ repo: repo.dir, dataDir, timeoutMs: 30_000, maxFileBytes: 8192 });
      const third = (await roomier.poll({ kind: 'tag', tag: 'v3' })).snapshot;
      expect(third.problems).toEqual([]);
      expect(readFileSync(path.join(third.dir, 'stacks/big/blob.bin'), 'utf8')).toHaveLength(5000);
      expect(inode(third.dir, 'stacks/big/compose.yaml')).not.toBe(inode(second.dir, 'stacks/big/compose.yaml'));
    });
  });

  it('a commit without fleet.yaml or locks/ materializes what it has', async () => {
    repo.writeSimpleStack('only');
    const snap = await source.materialize(await repo.commit());
    expect(readdirSync(snap.dir).sort()).toEqual(['.driftd-snapshot.json', 'stacks']);
  });

  it('unsafe files fail their own stack only: escaping symlinks, oversized files, submodules', async () => {
    repo
      .writeSimpleStack('good')
      .writeSimpleStack('linky')
      .symlink('stacks/linky/passwd', '/etc/passwd')
      .symlink('stacks/linky/sibling.yaml', '../good/compose.yaml')
      .writeSimpleStack('big')
      .write('stacks/big/blob.bin', Buffer.alloc(5000, 1))
      .write('locks/big.lock.json', `{"pad": "${'x'.repeat(5000)}"}\n`)
      .writeSimpleStack('sub');
    await repo.git('add', '--all');
    await repo.git('update-index', '--add', '--cacheinfo', `160000,${'1'.repeat(40)},stacks/sub/vendor`);
    // Committed without `add --all`, which would drop the gitlink (no checkout of it exists).
    await repo.git('commit', '--quiet', '-m', 'with a submodule');
    const commit = await repo.head();
    const snap = await source.materialize(commit);
    expect(snap.problems.map((p) => [p.stack, p.file, p.code])).toEqual([
      ['big', 'locks/big.lock.json', 'FileTooLarge'],
      ['big', 'stacks/big/blob.bin', 'FileTooLarge'],
      ['linky', 'stacks/linky/passwd', 'UnsafePath'],
      ['linky', 'stacks/linky/sibling.yaml', 'UnsafePath'],
      ['sub', 'stacks/sub/vendor', 'UnsafePath'],
    ]);
    expect(snap.problems[2]?.message).toBe('stacks/linky/passwd is a symlink to "/etc/passwd", an absolute path; symlinks must point to a file inside stacks/linky/; fix it in the repo');
    expect(snap.problems[0]?.message).toMatch(/over the 4096-byte limit/);
    expect(existsSync(path.join(snap.dir, 'stacks/linky/passwd'))).toBe(false);
    expect(lstatSync(path.join(snap.dir, 'stacks/linky/compose.yaml')).isFile()).toBe(true);
    expect(existsSync(path.join(snap.dir, 'stacks/big/blob.bin'))).toBe(false);
    expect(readFileSync(path.join(snap.dir, 'stacks/good/compose.yaml'), 'utf8')).toContain('services:');
    // A reused snapshot reports the same problems.
    expect((await source.materialize(commit)).problems).toEqual(snap.problems);
  });

  it('a bad fleet.yaml fails the whole snapshot and leaves nothing behind', async () => {
    repo.writeSimpleStack('edge').write('fleet.yaml', `hosts: {}\n#${'x'.repeat(5000)}\n`);
    const tooBig = await repo.commit();
    const e1 = await rejection(source.materialize(tooBig));
    expect(e1.code).toBe('FileTooLarge');
    expect(e1.message).toMatch(/^fleet\.yaml is \d+ bytes/);
    repo.remove('fleet.yaml').symlink('fleet.yaml', 'stacks/edge/compose.yaml');
    const linked = await repo.commit();
    const e2 = await rejection(source.materialize(linked));
    expect(e2.code).toBe('UnsafePath');
    expect(e2.message).toBe('fleet.yaml is a symlink to "stacks/edge/compose.yaml", not a regular file; fix it in the repo');
    expect(readdirSync(path.join(dataDir, 'snapshots'))).toEqual([]);
  });

  it('unknown or malformed commits are refused clearly', async () => {
    repo.writeSimpleStack('edge');
    await repo.commit();
    expect((await rejection(source.materialize('f'.repeat(40)))).code).toBe('GitRefNotFound');
    expect((await rejection(source.materialize('HEAD'))).code).toBe('InvalidRef');
  });

  it('is reused, not rewritten, and concurrent materializations agree', async () => {
    repo.writeSimpleStack('edge');
    const commit = await repo.commit();
    const [a, b] = await Promise.all([source.materialize(commit), source.materialize(commit)]);
    expect(a.dir).toBe(b.dir);
    const file = path.join(a.dir, 'stacks/edge/compose.yaml');
    const mtime = statSync(file).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    await source.materialize(commit);
    expect(statSync(file).mtimeMs).toBe(mtime);
    expect(readdirSync(path.join(dataDir, 'snapshots'))).toEqual([commit]);
  });

  it('gc removes snapshots outside the keep list and stale temp dirs, never the last good one', async () => {
    repo.writeSimpleStack('edge');
    const c1 = await repo.commit();
    repo.writeSimpleStack('edge', { env: 'MODE=2\n' });
    const c2 = await repo.commit();
    repo.writeSimpleStack('edge', { env: 'MODE=3\n' });
    const c3 = await repo.commit();
    await source.poll({ kind: 'auto' }); // last good = c3 (HEAD)
    await source.materialize(c1);
    await source.materialize(c2);
    const stale = path.join(dataDir, 'snapshots', `.tmp-${c1}-dead`);
    const fresh = path.join(dataDir, 'snapshots', `.tmp-${c2}-live`);
    mkdirSync(stale);
    mkdirSync(fresh);
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    utimesSync(stale, old, old);

    expect(await source.gc([c1])).toEqual([c2]);
    expect(readdirSync(path.join(dataDir, 'snapshots')).sort()).toEqual([`.tmp-${c2}-live`, c1, c3].sort());
  });

  it('changedFiles: added, deleted, mode and lock changes; binary and oversized content omitted', async () => {
    repo
      .writeSimpleStack('edge')
      .write('stacks/edge/run.sh', '#!/bin/sh\n')
      .write('stacks/edge/logo.png', Buffer.from([0x89, 0x50, 0x00, 0x01]))
      .write('stacks/edge/old.conf', 'a\n')
      .writeLock('edge', { version: 1 });
    const from = await repo.commit();
    repo
      .write('stacks/edge/run.sh', '#!/bin/sh\n', 0o755)
      .write('stacks/edge/logo.png', Buffer.from([0x89, 0x50, 0x00, 0x02]))
      .remove('stacks/edge/old.conf')
      .write('stacks/edge/conf/new.conf', 'b\n')
      .write('stacks/edge/huge.txt', 'y'.repeat(5000))
      .writeLock('edge', { version: 1, changed: true })
      .writeSimpleStack('other', { env: 'X=1\n' });
    const to = await repo.commit();
    const changes = await source.changedFiles(from, to, 'edge');
    expect(changes.map((c) => ({ path: c.path, status: c.status, oldMode: c.oldMode, newMode: c.newMode, omitted: c.omitted }))).toEqual([
      { path: 'locks/edge.lock.json', status: 'modified', oldMode: '100644', newMode: '100644', omitted: undefined },
      { path: 'stacks/edge/conf/new.conf', status: 'added', oldMode: undefined, newMode: '100644', omitted: undefined },
      { path: 'stacks/edge/huge.txt', status: 'added', oldMode: undefined, newMode: '100644', omitted: 'too-large' },
      { path: 'stacks/edge/logo.png', status: 'modified', oldMode: '100644', newMode: '100644', omitted: 'binary' },
      { path: 'stacks/edge/old.conf', status: 'deleted', oldMode: '100644', newMode: undefined, omitted: undefined },
      { path: 'stacks/edge/run.sh', status: 'modified', oldMode: '100644', newMode: '100755', omitted: undefined },
    ]);
    const added = changes.find((c) => c.path === 'stacks/edge/conf/new.conf');
    expect(added).toMatchObject({ newContent: 'b\n' });
    expect(added?.oldContent).toBeUndefined();
    expect(changes.find((c) => c.path === 'stacks/edge/old.conf')).toMatchObject({ oldContent: 'a\n' });
    expect(await source.changedFiles(from, to, 'gone')).toEqual([]);
    expect((await rejection(source.changedFiles(from, to, '../edge'))).code).toBe('InvalidStackName');
  });

  it('performance: materializes 200 stacks well under a second', async () => {
    for (let i = 0; i < 200; i++) {
      repo.writeStack(`stack-${i}`, {
        'compose.yaml': `services:\n  web-${i}:\n    image: registry.example/app:1.${i}.0\n    ports: ["${10000 + i}:80"]\n    env_file: .env\n`,
        '.env': `INSTANCE=${i}\nMODE=prod\n`,
      });
    }
    const commit = await repo.commit();
    await repo.git('gc', '--quiet');
    const started = performance.now();
    const snap = await source.materialize(commit);
    const ms = performance.now() - started;
    console.log(`materialized 200 stacks (400 files) in ${ms.toFixed(0)} ms`);
    expect(readdirSync(path.join(snap.dir, 'stacks'))).toHaveLength(200);
    // The budget is "well under a second"; the bound leaves room for a loaded 2-core CI box.
    expect(ms, loadScaledBudget(1500).note).toBeLessThan(loadScaledBudget(1500).ms);
    const reuse = performance.now();
    await source.materialize(commit);
    expect(performance.now() - reuse, loadScaledBudget(50).note).toBeLessThan(loadScaledBudget(50).ms);
  });
});
