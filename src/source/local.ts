/**
 * Local path repos are read straight from their object store, never through the working tree
 * or the index: driftd must see exactly what is committed, and must not disturb the user.
 */
import { dict } from '../util/dict.js';
import fs from 'node:fs';
import path from 'node:path';
import { DriftdError } from '../errors/index.js';
import { isoGit } from './git-lib.js';
import { peel, type ObjectStore } from './object-store.js';
import type { RepoRefs } from './refs.js';

function isGitdir(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'HEAD')) && fs.existsSync(path.join(dir, 'objects')) && fs.existsSync(path.join(dir, 'refs'));
}

/**
 * The Git directory of a checkout (`<repo>/.git`, or the dir a `.git` file points to, as in
 * submodules) or of a bare repo (`<repo>` itself). For a linked worktree the shared (common)
 * dir is used: its objects and refs are the repo's, and HEAD is the main worktree's.
 */
export function findGitdir(repo: string): string {
  const dotGit = path.join(repo, '.git');
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(dotGit);
  } catch {
    stat = undefined;
  }
  if (stat?.isDirectory()) return dotGit;
  if (stat?.isFile()) {
    const m = /^gitdir:\s*(.+?)\s*$/m.exec(fs.readFileSync(dotGit, 'utf8'));
    if (m?.[1]) {
      const gitdir = path.resolve(repo, m[1]);
      const commondir = path.join(gitdir, 'commondir');
      const resolved = fs.existsSync(commondir) ? path.resolve(gitdir, fs.readFileSync(commondir, 'utf8').trim()) : gitdir;
      if (isGitdir(resolved)) return resolved;
    }
  }
  if (isGitdir(repo)) return repo;
  throw new DriftdError('RepoNotFound', `${repo} is not a Git repository; pass a clone or bare repo with --repo, or run driftd inside a checkout`, { repo });
}

async function resolveAll(store: ObjectStore, prefix: 'refs/heads' | 'refs/tags'): Promise<[string, string][]> {
  // packed-refs' peeled lines come back as "<tag>^{}": peeling is done below, from the objects.
  const git = await isoGit();
  const names = (await git.listRefs({ fs, gitdir: store.gitdir, filepath: prefix })).filter((n) => !n.endsWith('^{}'));
  return Promise.all(
    names.map(async (name): Promise<[string, string]> => [name, await git.resolveRef({ fs, gitdir: store.gitdir, ref: `${prefix}/${name}` })]),
  );
}

/** The same view of refs a remote advertisement gives, read from a local Git directory. */
export async function listLocalRefs(store: ObjectStore): Promise<RepoRefs> {
  const refs: RepoRefs = { branches: dict(await resolveAll(store, 'refs/heads')), tags: dict() };
  for (const [name, object] of await resolveAll(store, 'refs/tags')) {
    refs.tags[name] = { object, commit: await peel(store, object) };
  }
  try {
    refs.head = await (await isoGit()).resolveRef({ fs, gitdir: store.gitdir, ref: 'HEAD' });
  } catch {
    // unborn branch: no HEAD commit yet
  }
  return refs;
}
