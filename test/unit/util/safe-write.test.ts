import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkTree, SafeDir, writeFileAtomic, type TreeNode } from '../../../src/util/safe-write.js';

const scopeOf = (p: string): string | undefined => {
  const parts = p.split('/');
  if (parts[0] === 'stacks' && parts[1]) return `stacks/${parts[1]}`;
  if (parts[0] === 'locks') return 'locks';
  return undefined;
};

const dir = (p: string): TreeNode => ({ path: p, kind: 'dir' });
const file = (p: string): TreeNode => ({ path: p, kind: 'file' });
const link = (p: string, target: string): TreeNode => ({ path: p, kind: 'link', target });

/** A tree with stacks/edge (conf/, a file) and stacks/other. */
function base(...more: TreeNode[]): TreeNode[] {
  return [dir('stacks'), dir('stacks/edge'), dir('stacks/edge/conf'), file('stacks/edge/compose.yaml'), file('stacks/edge/conf/b.conf'), dir('stacks/other'), file('stacks/other/compose.yaml'), dir('locks'), file('locks/app.lock.json'), ...more];
}

function verdict(nodes: TreeNode[], p: string): string | undefined {
  return checkTree(nodes, scopeOf).get(p);
}

describe('checkTree: links are resolved against the tree', () => {
  const kept: [string, string][] = [
    ['stacks/edge/current.yaml', 'compose.yaml'],
    ['stacks/edge/conf/a.conf', './b.conf'],
    ['stacks/edge/conf/a.conf', '../compose.yaml'],
    ['stacks/edge/conf/a.conf', '../conf/./b.conf'],
    ['locks/edge.lock.json', 'app.lock.json'],
  ];
  for (const [p, target] of kept) it(`${p} → ${target}: kept`, () => expect(verdict(base(link(p, target)), p)).toBeUndefined());

  const refused: [string, string, RegExp][] = [
    ['stacks/edge/x', '../other/compose.yaml', /leaves its stack folder stacks\/edge\//],
    ['stacks/edge/x', '../../fleet.yaml', /leaves its stack folder/],
    ['stacks/edge/conf/x', '../../../etc/passwd', /leaves/],
    ['stacks/edge/x', '/etc/passwd', /absolute path/],
    ['stacks/edge/x', '/dev/null', /absolute path/],
    ['stacks/edge/x', 'a/../../edge2/y', /points to nothing|leaves/],
    ['stacks/edge/x', '..', /leaves/],
    ['stacks/edge/x', '.', /a folder/],
    ['stacks/edge/x', 'conf', /a folder/],
    ['stacks/edge/x', 'conf/', /a folder/],
    ['stacks/edge/x', 'missing', /points to nothing/],
    ['stacks/edge/x', '', /empty/],
    ['stacks/third', 'edge', /only inside a stack folder/],
    ['locks/edge.lock.json', '../stacks/edge/compose.yaml', /leaves/],
    ['fleet.yaml', 'stacks/edge/compose.yaml', /only inside a stack folder/],
  ];
  for (const [p, target, why] of refused) it(`${p} → ${JSON.stringify(target)}: refused`, () => expect(verdict(base(link(p, target)), p)).toMatch(why));

  it('refuses the escape from the issue: u -> ., x -> u/u/../../<abs>, and a file also named x', () => {
    const deep = `${'u/'.repeat(20)}${'../'.repeat(25)}tmp/owned`;
    const nodes = base(link('stacks/edge/u', '.'), link('stacks/edge/x', deep), file('stacks/edge/x'));
    const out = checkTree(nodes, scopeOf);
    expect(out.get('stacks/edge/x')).toMatch(/appears twice/);
    expect(out.get('stacks/edge/u')).toMatch(/a folder/);
    // Without the duplicate, the link alone is refused too: it passes through the link u.
    expect(verdict(base(link('stacks/edge/u', '.'), link('stacks/edge/x', deep)), 'stacks/edge/x')).toMatch(/passes through the symlink stacks\/edge\/u/);
  });

  it('follows chains: a chain that escapes only at its last hop is refused, one that stays is kept', () => {
    const nodes = base(link('stacks/edge/a', 'b'), link('stacks/edge/b', 'conf/c'), link('stacks/edge/conf/c', '../../other/compose.yaml'));
    const out = checkTree(nodes, scopeOf);
    expect(out.get('stacks/edge/a')).toMatch(/leaves its stack folder/);
    expect(out.get('stacks/edge/b')).toMatch(/leaves/);
    const ok = base(link('stacks/edge/a', 'b'), link('stacks/edge/b', 'conf/c'), link('stacks/edge/conf/c', 'b.conf'));
    expect(checkTree(ok, scopeOf).size).toBe(0);
  });

  it('refuses a loop and a chain to a folder', () => {
    expect(verdict(base(link('stacks/edge/a', 'b'), link('stacks/edge/b', 'a')), 'stacks/edge/a')).toMatch(/loop/);
    expect(verdict(base(link('stacks/edge/a', 'b'), link('stacks/edge/b', 'conf')), 'stacks/edge/a')).toMatch(/a folder/);
  });

  it('refuses a path named twice and everything below it, in that stack only', () => {
    const nodes = base(dir('stacks/edge/d'), file('stacks/edge/d/f'), file('stacks/edge/d'), link('stacks/edge/l', 'd/f'));
    const out = checkTree(nodes, scopeOf);
    expect(out.get('stacks/edge/d')).toMatch(/appears twice/);
    expect(out.get('stacks/edge/l')).toMatch(/points to nothing/);
    expect([...out.keys()].every((p) => p.startsWith('stacks/edge/'))).toBe(true);
  });

  it('refuses names that are not plain file names', () => {
    expect(verdict(base(file('stacks/edge/..')), 'stacks/edge/..')).toMatch(/not a plain file name/);
    expect(verdict(base(file('stacks/edge/a\0b')), 'stacks/edge/a\0b')).toMatch(/not a plain file name/);
  });
});

describe('SafeDir', () => {
  let work: string;
  let outside: string;
  beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'driftd-safe-'));
    outside = path.join(work, 'outside');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'victim'), 'original\n');
    fs.mkdirSync(path.join(work, 'target'));
  });
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

  const victim = () => fs.readFileSync(path.join(outside, 'victim'), 'utf8');

  it('replaces a planted symlink at the file name instead of writing through it', () => {
    fs.symlinkSync(path.join(outside, 'victim'), path.join(work, 'target', 'f'));
    writeFileAtomic(path.join(work, 'target', 'f'), 'new\n');
    expect(victim()).toBe('original\n');
    expect(fs.lstatSync(path.join(work, 'target', 'f')).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(work, 'target', 'f'), 'utf8')).toBe('new\n');
  });

  it('never opens a planted temp name (random, O_EXCL): the old predictable name is left alone', () => {
    fs.symlinkSync(path.join(outside, 'victim'), path.join(work, 'target', 'f.driftd-tmp'));
    writeFileAtomic(path.join(work, 'target', 'f'), 'new\n');
    expect(victim()).toBe('original\n');
  });

  it('refuses a folder swapped for a symlink, or replaces it when asked; nothing outside is written', () => {
    fs.symlinkSync(outside, path.join(work, 'target', 'sub'));
    const root = SafeDir.openRoot(path.join(work, 'target'));
    try {
      expect(() => root.withDir('sub', { create: 0o755 }, (d) => d.writeFile('victim', 'x'))).toThrow(/symlink or a file where a folder is expected/);
      root.withDir('sub', { create: 0o755, replace: true }, (d) => d.writeFile('victim', 'x'));
    } finally {
      root.close();
    }
    expect(victim()).toBe('original\n');
    expect(fs.lstatSync(path.join(work, 'target', 'sub')).isDirectory()).toBe(true);
    expect(fs.readdirSync(outside)).toEqual(['victim']);
  });

  it('removes a tree without following links in it', () => {
    fs.mkdirSync(path.join(work, 'target', 'd'));
    fs.symlinkSync(outside, path.join(work, 'target', 'd', 'l'));
    const root = SafeDir.openRoot(path.join(work, 'target'));
    try {
      root.remove('d');
    } finally {
      root.close();
    }
    expect(fs.existsSync(path.join(work, 'target', 'd'))).toBe(false);
    expect(victim()).toBe('original\n');
  });

  it('sets exact modes whatever the umask', () => {
    const old = process.umask(0o022);
    try {
      const root = SafeDir.openRoot(path.join(work, 'target'));
      try {
        root.withDir('a/b', { create: 0o700 }, (d) => d.writeFile('f', 'x', { mode: 0o600 }));
        root.writeFile('g', 'y', { mode: 0o644 });
      } finally {
        root.close();
      }
    } finally {
      process.umask(old);
    }
    expect(fs.statSync(path.join(work, 'target', 'a')).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(work, 'target', 'a', 'b', 'f')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(work, 'target', 'g')).mode & 0o777).toBe(0o644);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: random trees of files, links and duplicates.

const NAMES = ['a', 'b', 'u', 'x', 'conf'];
const segment = fc.constantFrom(...NAMES);
const targetPart = fc.constantFrom(...NAMES, '..', '.', '');

const nodeArb: fc.Arbitrary<TreeNode> = fc.oneof(
  fc.tuple(fc.array(segment, { minLength: 1, maxLength: 3 })).map(([p]) => ({ path: `stacks/s/${p.join('/')}`, kind: 'file' as const })),
  fc.tuple(fc.array(segment, { minLength: 1, maxLength: 3 })).map(([p]) => ({ path: `stacks/s/${p.join('/')}`, kind: 'dir' as const })),
  fc
    .tuple(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.array(targetPart, { minLength: 1, maxLength: 12 }), fc.boolean())
    .map(([p, t, abs]) => ({ path: `stacks/s/${p.join('/')}`, kind: 'link' as const, target: `${abs ? '/OUTSIDE/' : ''}${t.join('/')}` })),
);

/** Adds the parent folders a Git tree implies for each node (as `git` would list them). */
function withParents(nodes: TreeNode[]): TreeNode[] {
  const out: TreeNode[] = [dir('stacks'), dir('stacks/s')];
  const seen = new Set(['stacks', 'stacks/s']);
  for (const n of nodes) {
    const parts = n.path.split('/');
    for (let i = 3; i < parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (!seen.has(p)) {
        seen.add(p);
        out.push(dir(p));
      }
    }
    out.push(n);
  }
  return out;
}

function snapshotOf(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(root, p)] = e.isSymbolicLink() ? `-> ${fs.readlinkSync(p)}` : createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(root);
  return out;
}

describe('property: a checked tree written with SafeDir never reaches outside its folder', () => {
  it('every kept link resolves to a regular file inside its stack folder; every write lands inside the target', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'driftd-prop-'));
    const outside = path.join(work, 'OUTSIDE');
    fs.mkdirSync(path.join(outside, 'a', 'b'), { recursive: true });
    fs.writeFileSync(path.join(outside, 'x'), 'x');
    fs.writeFileSync(path.join(outside, 'a', 'b', 'x'), 'x');
    const before = snapshotOf(outside);
    let run = 0;
    try {
      fc.assert(
        fc.property(fc.array(nodeArb, { maxLength: 14 }), (raw) => {
          // Absolute targets point into the watched folder; relative ones may climb out of it.
          const nodes = withParents(raw).map((n) => (n.target?.startsWith('/OUTSIDE/') ? { ...n, target: path.join(outside, n.target.slice(9)) } : n));
          const target = path.join(work, `t${run++}`, 'root');
          fs.mkdirSync(target, { recursive: true });
          const refused = checkTree(nodes, scopeOf);
          const gone = [...refused.keys()];
          const skip = (p: string) => gone.some((g) => p === g || p.startsWith(`${g}/`));
          const root = SafeDir.openRoot(target);
          const written: string[] = [];
          try {
            // Kept entries in tree order, then — as an attacker would — every refused or duplicate entry
            // forced through the writer anyway: the writer itself must not follow a link either.
            const order = [...nodes.filter((n) => !skip(n.path)), ...nodes.filter((n) => skip(n.path))];
            for (const n of order) {
              const [parent, name] = [path.posix.dirname(n.path), path.posix.basename(n.path)];
              try {
                root.withDir(parent, {}, (d) => {
                  if (n.kind === 'dir') d.mkdir(name, 0o755);
                  else if (n.kind === 'link') d.symlink(n.target ?? '', name);
                  else d.writeFile(name, `content of ${n.path}`, { mode: 0o644 });
                });
                if (n.kind === 'file') written.push(n.path);
              } catch {
                // Refused (EEXIST, a link where a folder is expected): fine, as long as nothing leaked.
              }
            }
          } finally {
            root.close();
          }
          const realTarget = fs.realpathSync(target);
          for (const p of written) {
            const real = fs.realpathSync(path.join(target, p));
            expect(real.startsWith(`${realTarget}/`)).toBe(true);
          }
          for (const n of nodes) {
            if (n.kind !== 'link' || skip(n.path)) continue;
            const real = fs.realpathSync(path.join(target, n.path));
            expect(real.startsWith(`${realTarget}/stacks/s/`)).toBe(true);
            expect(fs.statSync(real).isFile()).toBe(true);
          }
          expect(snapshotOf(outside)).toEqual(before);
        }),
        { numRuns: 200 },
      );
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);
});
