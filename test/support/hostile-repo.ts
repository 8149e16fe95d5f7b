/**
 * Hostile Git trees for tests, written as RAW objects into a bare repo: `git add` refuses to make
 * these (duplicate names, a name twice with different types, links chained through links,
 * gitlinks without a submodule, names git itself rejects), but `git push` to a bare repo with
 * receive-time fsck off (the default) accepts them. Trees are encoded by hand
 * (`<mode> <name>\0<20-byte oid>`, in the order given, duplicates kept) and stored with
 * `git hash-object -t tree --literally`.
 */
import { spawnSync } from 'node:child_process';

export type HostileEntry =
  | { name: string; file: string | Buffer; mode?: '100644' | '100755' }
  | { name: string; link: string }
  | { name: string; tree: HostileEntry[] }
  | { name: string; gitlink: string }
  | { name: string; rawMode: string; blob: string };

const GIT_ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'hostile',
  GIT_AUTHOR_EMAIL: 'hostile@driftd.invalid',
  GIT_AUTHOR_DATE: '@1700000000 +0000',
  GIT_COMMITTER_NAME: 'hostile',
  GIT_COMMITTER_EMAIL: 'hostile@driftd.invalid',
  GIT_COMMITTER_DATE: '@1700000000 +0000',
};

function git(bare: string, args: string[], input?: Buffer | string): string {
  const r = spawnSync('git', args, { cwd: bare, env: GIT_ENV, ...(input === undefined ? {} : { input }), maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr.toString()}`);
  return r.stdout.toString().trim();
}

export function writeBlob(bare: string, content: string | Buffer): string {
  return git(bare, ['hash-object', '-w', '--stdin'], content);
}

/** Writes a tree exactly as given (order, duplicates and all); returns its id. */
export function writeTree(bare: string, entries: readonly HostileEntry[]): string {
  const parts: Buffer[] = [];
  for (const e of entries) {
    let mode: string;
    let oid: string;
    if ('file' in e) [mode, oid] = [e.mode ?? '100644', writeBlob(bare, e.file)];
    else if ('link' in e) [mode, oid] = ['120000', writeBlob(bare, e.link)];
    else if ('tree' in e) [mode, oid] = ['40000', writeTree(bare, e.tree)];
    else if ('gitlink' in e) [mode, oid] = ['160000', e.gitlink];
    else [mode, oid] = [e.rawMode, writeBlob(bare, e.blob)];
    parts.push(Buffer.from(`${mode} ${e.name}\0`, 'utf8'), Buffer.from(oid, 'hex'));
  }
  return git(bare, ['hash-object', '-w', '-t', 'tree', '--literally', '--stdin'], Buffer.concat(parts));
}

/** Commits `root` (a tree) and points `refs/tags/<tag>` and `main` at it; returns the commit id. */
export function commitTree(bare: string, root: readonly HostileEntry[], tag: string): string {
  const tree = writeTree(bare, root);
  const commit = git(bare, ['commit-tree', tree, '-m', `hostile ${tag}`]);
  git(bare, ['update-ref', `refs/tags/${tag}`, commit]);
  git(bare, ['update-ref', 'refs/heads/main', commit]);
  return commit;
}
