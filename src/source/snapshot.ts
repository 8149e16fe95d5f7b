/**
 * Materialization: a commit's desired state (stacks/, locks/, fleet.yaml) becomes an immutable
 * directory `<dataDir>/snapshots/<commit>/`, written to a temp dir and renamed into place, so a
 * snapshot is complete or absent. Everything downstream (compose loading, hashing, deploy)
 * reads files from a snapshot, never from Git.
 *
 * Unsafe content fails alone (DESIGN §7): a symlink leaving its stack folder, a file over the
 * size limit or a submodule is left out and reported as a problem of its stack; the other
 * stacks are materialized. Only a bad `fleet.yaml` (shared by every stack) fails the snapshot.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readdir, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TreeEntry } from 'isomorphic-git';
import { z } from 'zod';
import { DriftdError } from '../errors/index.js';
import { readJsonFile, writeJsonAtomic } from './json-file.js';
import { commitTree, readBlobBytes, readTreeEntries, type ObjectStore } from './object-store.js';

export interface SnapshotProblem {
  /** The stack the file belongs to (stacks/<stack>/… or locks/<stack>.lock.json); absent for other files. */
  stack?: string;
  /** Repo-relative path of the refused file. */
  file: string;
  code: 'UnsafePath' | 'FileTooLarge';
  message: string;
}

export interface Snapshot {
  commit: string;
  /** Holds stacks/, locks/ and fleet.yaml as they are at `commit` (each only if the commit has it). */
  dir: string;
  /** Files left out; each stack named here must be treated as failed for this revision. */
  problems: SnapshotProblem[];
  /**
   * Git object ids of `stacks/<name>` (trees), `locks/<file>` and `fleet.yaml` (blobs): equal ids
   * mean equal content at any commit, so a caller can reuse what it derived from them. Absent in
   * snapshots written by older driftd versions.
   */
  oids?: Record<string, string>;
  /** The size limit the snapshot was written with (files over it were refused). */
  maxFileBytes?: number;
}

/** Written inside each snapshot, so a reused snapshot reports the same problems. */
const MANIFEST = '.driftd-snapshot.json';
const COMMIT_PATTERN = /^[0-9a-f]{40}$/;
const TMP_PREFIX = '.tmp-';
/** A temp dir this old belongs to a crashed run, not to one still writing. */
const STALE_TMP_MS = 60 * 60 * 1000;

const manifestSchema = z.object({
  version: z.literal(1),
  commit: z.string().regex(COMMIT_PATTERN),
  problems: z.array(
    z.object({
      stack: z.string().optional(),
      file: z.string(),
      code: z.enum(['UnsafePath', 'FileTooLarge']),
      message: z.string(),
    }),
  ),
  oids: z.record(z.string(), z.string().regex(/^[0-9a-f]{40}$/)).optional(),
  maxFileBytes: z.number().int().positive().optional(),
});

const MODE_EXECUTABLE = '100755';
const MODE_SYMLINK = '120000';

function snapshotsDir(dataDir: string): string {
  return path.join(dataDir, 'snapshots');
}

/** The stack a repo path belongs to, and the folder its symlinks must stay inside. */
function ownerOf(file: string): { stack?: string; scope?: string } {
  const parts = file.split('/');
  if (parts[0] === 'stacks' && parts[1]) return { stack: parts[1], scope: `stacks/${parts[1]}` };
  if (parts[0] === 'locks') {
    const m = /^([^/]+)\.lock\.json$/.exec(parts.slice(1).join('/'));
    return { ...(m?.[1] ? { stack: m[1] } : {}), scope: 'locks' };
  }
  return {};
}

/** A symlink is kept only when its target, resolved inside the repo, stays in the link's stack folder (or in locks/). */
export function symlinkEscapes(file: string, target: string): boolean {
  const { scope } = ownerOf(file);
  // The stack folder itself must be a real folder.
  if (!scope || file === scope || target.startsWith('/') || target.includes('\0')) return true;
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), target));
  return resolved !== scope && !resolved.startsWith(`${scope}/`);
}

/** Waits for every write (none keeps running after a failure, so the temp dir can be removed), then throws the first error. */
async function settleAll(work: Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * mkdir and writeFile create with `mode` minus the process umask; a chmod is needed only when the
 * umask takes bits away (half the system calls of materializing a snapshot under the usual 022).
 */
function umaskKeeps(mode: number): boolean {
  return (mode & ~process.umask()) === mode;
}

function safeName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

const STACK_FOLDER = /^stacks\/[^/]+$/;

/** The repo paths whose object ids a snapshot records (see Snapshot.oids). */
function recordsOid(file: string): boolean {
  return file === 'fleet.yaml' || STACK_FOLDER.test(file) || /^locks\/[^/]+$/.test(file);
}

/** A folder of an older snapshot copied by hard links (snapshots are never written after their rename). */
async function linkTree(from: string, to: string): Promise<void> {
  await mkdir(to, { mode: 0o755 });
  if (!umaskKeeps(0o755)) await chmod(to, 0o755);
  const entries = await readdir(from, { withFileTypes: true });
  await settleAll(
    entries.map(async (d) => {
      const [src, dst] = [path.join(from, d.name), path.join(to, d.name)];
      if (d.isDirectory()) return linkTree(src, dst);
      if (d.isSymbolicLink()) return symlink(await readlink(src), dst);
      return link(src, dst);
    }),
  );
}

class Writer {
  readonly problems: SnapshotProblem[] = [];
  readonly oids: Record<string, string> = {};

  constructor(
    private readonly store: ObjectStore,
    private readonly root: string,
    private readonly maxFileBytes: number,
    /** An older snapshot whose stack folders with the same tree id are linked instead of read from Git. */
    private readonly base?: Snapshot,
  ) {}

  /** Links `file` (a stack folder) from the base snapshot when it has the same tree; false when it cannot. */
  private async reuse(file: string, oid: string): Promise<boolean> {
    const base = this.base;
    if (!base || base.oids?.[file] !== oid || base.maxFileBytes !== this.maxFileBytes || !STACK_FOLDER.test(file)) return false;
    try {
      await linkTree(path.join(base.dir, file), path.join(this.root, file));
    } catch {
      // The base was removed meanwhile (or cannot be linked across file systems): write from Git.
      await rm(path.join(this.root, file), { recursive: true, force: true });
      return false;
    }
    // Same content, same limit: the same files were refused.
    this.problems.push(...base.problems.filter((p) => p.file.startsWith(`${file}/`)));
    return true;
  }

  private refuse(file: string, code: SnapshotProblem['code'], reason: string): void {
    const { stack } = ownerOf(file);
    if (file === 'fleet.yaml') throw new DriftdError(code, `fleet.yaml ${reason}; fix it in the repo`, { file });
    this.problems.push({ ...(stack ? { stack } : {}), file, code, message: `${file} ${reason}; fix it in the repo` });
  }

  async tree(rel: string, oid: string): Promise<void> {
    const dir = path.join(this.root, rel);
    await mkdir(dir, { mode: 0o755 });
    if (!umaskKeeps(0o755)) await chmod(dir, 0o755);
    const entries = await readTreeEntries(this.store, oid);
    await settleAll(entries.map((e) => this.entry(`${rel}/${e.path}`, e)));
  }

  async entry(file: string, e: TreeEntry): Promise<void> {
    if (!safeName(e.path)) return this.refuse(file, 'UnsafePath', 'has a name that is not a plain file name');
    if (recordsOid(file)) this.oids[file] = e.oid;
    if (e.type === 'tree' && (await this.reuse(file, e.oid))) return;
    if (e.type === 'tree') return this.tree(file, e.oid);
    if (e.type === 'commit') return this.refuse(file, 'UnsafePath', 'is a Git submodule, which driftd does not fetch');
    const content = await readBlobBytes(this.store, e.oid);
    const full = path.join(this.root, file);
    if (e.mode === MODE_SYMLINK) {
      const target = Buffer.from(content).toString('utf8');
      if (file === 'fleet.yaml') return this.refuse(file, 'UnsafePath', `is a symlink to "${target}", not a regular file`);
      if (symlinkEscapes(file, target)) return this.refuse(file, 'UnsafePath', `is a symlink to "${target}" that leaves its stack folder`);
      await symlink(target, full);
      return;
    }
    if (content.length > this.maxFileBytes) {
      return this.refuse(file, 'FileTooLarge', `is ${content.length} bytes, over the ${this.maxFileBytes}-byte limit (validate.maxFileBytes)`);
    }
    const mode = e.mode === MODE_EXECUTABLE ? 0o755 : 0o644;
    await writeFile(full, content, { mode });
    if (!umaskKeeps(mode)) await chmod(full, mode);
  }
}

async function readManifest(dir: string): Promise<Snapshot | undefined> {
  try {
    const m = await readJsonFile(path.join(dir, MANIFEST), manifestSchema);
    return m ? { commit: m.commit, dir, problems: m.problems, ...(m.oids ? { oids: m.oids } : {}), ...(m.maxFileBytes ? { maxFileBytes: m.maxFileBytes } : {}) } : undefined;
  } catch {
    return undefined;
  }
}

/** The snapshot of `commit` if it was materialized before. */
export function existingSnapshot(dataDir: string, commit: string): Promise<Snapshot | undefined> {
  return readManifest(path.join(snapshotsDir(dataDir), commit));
}

async function writeSnapshot(store: ObjectStore, commit: string, tmp: string, maxFileBytes: number, base?: Snapshot): Promise<Pick<Snapshot, 'problems' | 'oids' | 'maxFileBytes'>> {
  const tree = await commitTree(store, commit);
  const writer = new Writer(store, tmp, maxFileBytes, base);
  const wanted = (await readTreeEntries(store, tree)).filter((e) => ['stacks', 'locks', 'fleet.yaml'].includes(e.path));
  for (const e of wanted) {
    if (e.path !== 'fleet.yaml' && e.type !== 'tree') {
      throw new DriftdError('UnsafePath', `${e.path} must be a folder at commit ${commit.slice(0, 12)}; fix it in the repo`, { file: e.path });
    }
    if (e.path === 'fleet.yaml' && e.type !== 'blob') {
      throw new DriftdError('UnsafePath', `fleet.yaml must be a file at commit ${commit.slice(0, 12)}; fix it in the repo`, { file: e.path });
    }
  }
  await settleAll(wanted.map((e) => writer.entry(e.path, e)));
  const problems = writer.problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const oids = Object.fromEntries(Object.entries(writer.oids).sort(([a], [b]) => (a < b ? -1 : 1)));
  await writeJsonAtomic(path.join(tmp, MANIFEST), { version: 1, commit, problems, oids, maxFileBytes });
  return { problems, oids, maxFileBytes };
}

/**
 * Materializes `commit` from `store` (reusing an existing snapshot; stack folders unchanged since
 * the snapshot `base` finds are hard-linked from it — looked up only when something is written).
 * Throws GitRefNotFound when the commit is not in the store.
 */
export async function materializeSnapshot(
  store: ObjectStore,
  dataDir: string,
  commit: string,
  maxFileBytes: number,
  base: () => Promise<Snapshot | undefined> = () => Promise.resolve(undefined),
): Promise<Snapshot> {
  if (!COMMIT_PATTERN.test(commit)) throw new DriftdError('InvalidRef', `"${commit}" is not a full 40-character commit id`, { commit });
  const dir = path.join(snapshotsDir(dataDir), commit);
  const existing = await readManifest(dir);
  if (existing) return existing;

  await mkdir(snapshotsDir(dataDir), { recursive: true });
  const tmp = path.join(snapshotsDir(dataDir), `${TMP_PREFIX}${commit}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  let written: Pick<Snapshot, 'problems' | 'oids' | 'maxFileBytes'>;
  try {
    written = await writeSnapshot(store, commit, tmp, maxFileBytes, await base());
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  try {
    await rename(tmp, dir);
  } catch {
    // Another process materialized the same commit first: theirs is identical.
    const theirs = await readManifest(dir);
    if (theirs) {
      await rm(tmp, { recursive: true, force: true });
      return theirs;
    }
    // A dir without a manifest was not made by a completed rename (someone edited it): replace it.
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  }
  return { commit, dir, ...written };
}

/** Removes every snapshot whose commit is not in `keep`, and temp dirs left by crashed runs. Returns the removed commits. */
export async function removeSnapshots(dataDir: string, keep: ReadonlySet<string>, now: number): Promise<string[]> {
  const root = snapshotsDir(dataDir);
  let names: string[];
  try {
    names = await readdir(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const removed: string[] = [];
  for (const name of names.sort()) {
    const full = path.join(root, name);
    if (COMMIT_PATTERN.test(name) && !keep.has(name)) {
      await rm(full, { recursive: true, force: true });
      removed.push(name);
    } else if (name.startsWith(TMP_PREFIX) && now - (await stat(full)).mtimeMs > STALE_TMP_MS) {
      await rm(full, { recursive: true, force: true });
    }
  }
  return removed;
}
