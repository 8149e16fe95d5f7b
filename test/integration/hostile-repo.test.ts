/**
 * The trust boundary against a hostile desired-state repo (issue 11, docs/design.md §8): a corpus of trees
 * built from raw Git objects (duplicate entries, the `u -> .` + `x -> u/u/…/../..` + file `x`
 * escape, chains that escape only after resolution, absolute links, links to `..`, to devices and
 * FIFOs, links into another stack, a gitlink, names git itself rejects, names with newlines and
 * leading dashes, huge and deep files), served over the loopback Git server and run through
 * `render`, `drift-check --export`, `sync` and one agent poll. Nothing outside the data dir may
 * change (a watched host folder is listed and hashed before and after), each offending stack fails
 * alone with an error naming the path, the others proceed. Run under umask 022, it also checks the
 * modes of everything driftd wrote (docs/design.md §8: 0700/0600).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent/daemon.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { createLogger } from '../../src/util/logger.js';
import { useDockerTestScope } from '../support/docker.js';
import { GitServer } from '../support/git-server.js';
import { commitTree, type HostileEntry } from '../support/hostile-repo.js';
import { DriftHost, ensureBuilt, exportFolders, projectContainers, stackOf, tinyStackFiles, type JsonReport } from './drift-support.js';

/** Every entry under `dir` (not following links): type, mode, and content hash or link target. */
function listing(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = lstatSync(p);
      const rel = path.relative(dir, p);
      if (st.isDirectory()) {
        out[rel] = `dir ${(st.mode & 0o7777).toString(8)}`;
        walk(p);
      } else if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(p)}`;
      else if (st.isFile()) out[rel] = `file ${(st.mode & 0o7777).toString(8)} ${createHash('sha256').update(readFileSync(p)).digest('hex')} ${st.mtimeMs}`;
      else out[rel] = `special ${st.mode.toString(8)}`;
    }
  };
  walk(dir);
  return out;
}

const mode = (p: string): string => (statSync(p).mode & 0o777).toString(8).padStart(4, '0');

describe('a hostile desired-state repo (raw Git objects) cannot write outside the data dir', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  const S = {
    good: env.project(),
    names: env.project(),
    deep: env.project(),
    dupe: env.project(),
    chain: env.project(),
    abs: env.project(),
    dotdot: env.project(),
    cross: env.project(),
    sub: env.project(),
    dotgit: env.project(),
    big: env.project(),
  };
  const proceeding = [S.good, S.names, S.deep];
  /** Each offending stack and the path its error must name. */
  const offending: Record<string, string> = {
    [S.dupe]: `stacks/${S.dupe}/x`, // named after the first refused file (u, the link to ".")
    [S.chain]: `stacks/${S.chain}/a`,
    [S.abs]: `stacks/${S.abs}/passwd`,
    [S.dotdot]: `stacks/${S.dotdot}/up`,
    [S.cross]: `stacks/${S.cross}/theirs.yaml`,
    [S.sub]: `stacks/${S.sub}/vendor`,
    [S.dotgit]: `stacks/${S.dotgit}/inner`,
    [S.big]: `stacks/${S.big}/huge.bin`,
  };
  let server: GitServer;
  let host: DriftHost;
  let watched: string;
  let before: Record<string, string>;
  let oldUmask: number;

  beforeAll(async () => {
    await ensureBuilt();
    oldUmask = process.umask(0o022);
    watched = mkdtempSync(path.join(os.tmpdir(), 'driftd-watched-'));
    writeFileSync(path.join(watched, 'victim'), 'host file\n');
    mkdirSync(path.join(watched, 'sub'));
    writeFileSync(path.join(watched, 'sub', 'x'), 'another host file\n');
    expect(spawnSync('mkfifo', [path.join(watched, 'fifo')]).status).toBe(0);
    before = listing(watched);

    server = await GitServer.start();
    const served = await server.createRepo('hostile.git');
    host = new DriftHost(served.url);
    // Older data and audit dirs with wide modes (made by hand, or by an older driftd).
    mkdirSync(host.dataDir, { recursive: true, mode: 0o755 });
    mkdirSync(host.auditDir, { recursive: true, mode: 0o755 });
    chmodSync(host.dataDir, 0o755);

    const compose = (): HostileEntry => ({ name: 'compose.yaml', file: tinyStackFiles(env.labels, { sharedNetwork: true })['compose.yaml'] as string });
    // 20 hops of u plus x stay under the kernel's 40-symlink limit: with 40 the old writer hit
    // ELOOP and the escape never happened, so the test did not prove the fix. With 20 the old
    // writer (before the safe writer) wrote PWNED into the watched file (checked on b00514e^).
    const hops = 20;
    const up = '../'.repeat(hops);
    const deep: HostileEntry[] = [{ name: 'leaf.txt', file: 'deep\n' }];
    let nested: HostileEntry = { name: 'd', tree: deep };
    for (let i = 0; i < 60; i++) nested = { name: 'd', tree: [nested] };
    const stacks: HostileEntry[] = [
      { name: S.good, tree: [compose(), { name: 'app.conf', file: 'good\n' }, { name: 'current.conf', link: 'app.conf' }] },
      { name: S.names, tree: [compose(), { name: 'new\nline.txt', file: 'nl\n' }, { name: '-rf', file: 'dash\n' }, { name: '--help', file: 'dash\n' }] },
      { name: S.deep, tree: [compose(), nested] },
      // The escape from the issue: u -> ., a link x through u out to the watched folder, and a file also named x.
      {
        name: S.dupe,
        tree: [compose(), { name: 'u', link: '.' }, { name: 'x', link: `${'u/'.repeat(hops)}${up}${watched.slice(1)}/victim` }, { name: 'x', file: 'PWNED\n' }],
      },
      // Escapes only after resolution: a -> b -> sub/c -> ../../<other stack>/compose.yaml.
      { name: S.chain, tree: [compose(), { name: 'a', link: 'b' }, { name: 'b', link: 'sub/c' }, { name: 'sub', tree: [{ name: 'c', link: `../../${S.good}/compose.yaml` }] }] },
      { name: S.abs, tree: [compose(), { name: 'passwd', link: `${watched}/victim` }, { name: 'null', link: '/dev/null' }, { name: 'fifo', link: `${watched}/fifo` }] },
      { name: S.dotdot, tree: [compose(), { name: 'up', link: '..' }, { name: 'fleet', link: '../../fleet.yaml' }] },
      { name: S.cross, tree: [compose(), { name: 'theirs.yaml', link: `../${S.good}/app.conf` }] },
      { name: S.sub, tree: [compose(), { name: 'vendor', gitlink: '1'.repeat(40) }] },
      { name: S.dotgit, tree: [compose(), { name: 'inner', tree: [{ name: '..', file: 'dotdot\n' }, { name: '.git', tree: [{ name: 'config', file: '[core]\n' }] }] }] },
      { name: S.big, tree: [compose(), { name: 'huge.bin', file: Buffer.alloc(3 * 1024 * 1024, 7) }] },
    ];
    commitTree(served.path, [{ name: 'stacks', tree: stacks }], 'v1.0.0');
  }, 600_000);

  afterAll(async () => {
    process.umask(oldUmask);
    await server?.close();
    host?.cleanup();
    if (watched) rmSync(watched, { recursive: true, force: true });
  });

  function expectWatchedUnchanged(): void {
    expect(listing(watched)).toEqual(before);
    expect(lstatSync(path.join(watched, 'fifo')).isFIFO()).toBe(true);
  }

  it('render: the offending stacks fail, each naming its path; the others render', async () => {
    const r = await host.run('render', ['--ref-tag', 'v1.0.0']);
    const out = r.stdout + r.stderr;
    expect(r.code).toBe(1);
    for (const [stack, file] of Object.entries(offending)) expect(out, stack).toContain(file);
    for (const stack of proceeding) expect(r.stdout).toContain(`# stack ${stack} for host`);
    for (const stack of Object.keys(offending)) expect(r.stdout).not.toContain(`# stack ${stack} for host`);
    expectWatchedUnchanged();
  });

  it('drift-check --export: offending stacks Unknown with the path, the others evaluated and exported', async () => {
    const r = await host.run('drift-check', ['--ref-tag', 'v1.0.0', '--json', '--export']);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(r.code).toBe(1);
    for (const [stack, file] of Object.entries(offending)) {
      const s = stackOf(report, stack);
      expect(s.sync, stack).toBe('Unknown');
      expect(`${s.reason ?? ''} ${s.findings.map((f) => f.message).join(' ')}`, stack).toContain(file);
    }
    for (const stack of proceeding) expect(stackOf(report, stack).findings.map((f) => f.kind)).toContain('stack-missing');
    const exported = exportFolders(host.auditDir);
    expect(exported).toHaveLength(1);
    expectWatchedUnchanged();
  });

  it('sync: the offending stacks fail alone, the others are deployed', async () => {
    const r = await host.run('sync', ['--ref-tag', 'v1.0.0'], { timeoutMs: 600_000 });
    expect(r.code, r.stdout + r.stderr).toBe(2);
    for (const stack of proceeding) expect((await projectContainers(env.docker, stack)).length, stack).toBe(1);
    for (const stack of Object.keys(offending)) expect(await projectContainers(env.docker, stack), stack).toEqual([]);
    for (const file of Object.values(offending)) expect(r.stdout + r.stderr).toContain(file);
    expect(readFileSync(path.join(host.deployDir(S.good), 'current.conf'), 'utf8')).toBe('good\n');
    expectWatchedUnchanged();
  });

  it('one agent poll: same outcome, nothing written outside', async () => {
    const config = resolveConfig({ flags: { repo: host.repo, dataDir: host.dataDir, auditDir: host.auditDir, host: host.host, refTag: 'v1.0.0' }, env: {} });
    const agent = await startAgent({ config, logger: createLogger({ level: 'silent' }), runAtStart: false, intervalMs: 3_600_000 });
    try {
      await agent.trigger('schedule');
      expect(agent.cycles).toBeGreaterThanOrEqual(1);
    } finally {
      await agent.stop();
    }
    for (const stack of proceeding) expect((await projectContainers(env.docker, stack)).length, stack).toBe(1);
    expectWatchedUnchanged();
  });

  it('every link in every snapshot ends at a regular file inside its own stack folder', () => {
    const root = path.join(host.dataDir, 'snapshots');
    const snaps = readdirSync(root).filter((n) => /^[0-9a-f]{40}$/.test(n));
    expect(snaps.length).toBeGreaterThan(0);
    for (const snap of snaps) {
      for (const [rel, what] of Object.entries(listing(path.join(root, snap)))) {
        if (!what.startsWith('link ')) continue;
        const stackDir = realpathSync(path.join(root, snap, ...rel.split('/').slice(0, 2)));
        const real = realpathSync(path.join(root, snap, rel));
        expect(real.startsWith(`${stackDir}/`), rel).toBe(true);
        expect(statSync(real).isFile(), rel).toBe(true);
      }
    }
  });

  it('under umask 022 everything driftd wrote is private: 0700 folders, 0600 files (wider old folders tightened)', () => {
    const d = host.dataDir;
    expect(mode(d)).toBe('0700');
    expect(mode(path.join(d, 'snapshots'))).toBe('0700');
    expect(mode(path.join(d, 'git', 'mirror'))).toBe('0700');
    expect(mode(path.join(d, 'state.db'))).toBe('0600');
    expect(mode(path.join(d, 'deploy'))).toBe('0700');
    for (const f of readdirSync(path.join(d, 'cache'))) expect(mode(path.join(d, 'cache', f)), f).toBe('0600');
    expect(mode(host.auditDir)).toBe('0700');
    expect(mode(path.join(host.auditDir, 'runtime'))).toBe('0700');
    const [exported] = exportFolders(host.auditDir);
    const dir = path.join(host.auditDir, 'runtime', exported as string);
    expect(mode(dir)).toBe('0700');
    for (const f of readdirSync(dir)) expect(mode(path.join(dir, f)), f).toBe('0600');
    // Git objects in the mirror are driftd's alone too.
    const objects = path.join(d, 'git', 'mirror', 'objects');
    const files = readdirSync(objects, { recursive: true }).map(String).filter((p) => statSync(path.join(objects, p)).isFile());
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(statSync(path.join(objects, f)).mode & 0o077, f).toBe(0);
  });
});
