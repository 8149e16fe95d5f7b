/**
 * Materialization: a commit's desired state (stacks/, locks/, fleet.yaml) becomes an immutable
 * directory `<dataDir>/snapshots/<commit>/`, written to a temp dir and renamed into place, so a
 * snapshot is complete or absent. Everything downstream (compose loading, hashing, deploy)
 * reads files from a snapshot, never from Git.
 *
 * Unsafe content fails alone (docs/design.md §7): a symlink leaving its stack folder, a file over the
 * size limit or a submodule is left out and reported as a problem of its stack; the other
 * stacks are materialized. Only a bad `fleet.yaml` (shared by every stack) fails the snapshot.
 */
import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { TreeEntry } from 'isomorphic-git';
import { z } from 'zod';
import { lazy } from '../util/lazy.js';
import { dictOf } from '../util/dict-schema.js';
import { DriftdError, describeError, errnoCode } from '../errors/index.js';
import { checkTree, removeSafely, SafeDir, type TreeNode } from '../util/safe-write.js';
import { readJsonFile } from '../util/json-file.js';
import { commitTree, readBlobBytes, readTreeEntries, type ObjectStore } from './object-store.js';
import { shortCommit } from '../util/text.js';

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
/** 2: trees checked as a whole (duplicates, link chains). Snapshots of older versions are written again. */
const MANIFEST_VERSION = 2;
const COMMIT_PATTERN = /^[0-9a-f]{40}$/;
const TMP_PREFIX = '.tmp-';
/** A temp dir this old belongs to a crashed run, not to one still writing. */
const STALE_TMP_MS = 60 * 60 * 1000;

const manifestSchema = lazy(() =>
  z.object({
    version: z.literal(MANIFEST_VERSION),
    commit: z.string().regex(COMMIT_PATTERN),
    problems: z.array(
      z.object({
        stack: z.string().optional(),
        file: z.string(),
        code: z.enum(['UnsafePath', 'FileTooLarge']),
        message: z.string(),
      }),
    ),
    oids: dictOf(z.string(), z.string().regex(/^[0-9a-f]{40}$/)).optional(),
    maxFileBytes: z.number().int().positive().optional(),
  }),
);

const MODE_EXECUTABLE = '100755';
const MODE_SYMLINK = '120000';
/** Folders and files of a snapshot: stack files keep Git's modes (containers read them through bind mounts as any user); the data dir above is 0700. */
const DIR_MODE = 0o755;

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

/** Waits for every write (none keeps running after a failure, so the temp dir can be removed), then throws the first error. */
async function settleAll(work: Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

const STACK_FOLDER = /^stacks\/[^/]+$/;

/** The repo paths whose object ids a snapshot records (see Snapshot.oids). */
function recordsOid(file: string): boolean {
  return file === 'fleet.yaml' || STACK_FOLDER.test(file) || /^locks\/[^/]+$/.test(file);
}

/** A folder of an older snapshot copied by hard links (snapshots are never written after their rename). */
function linkTree(from: SafeDir, to: SafeDir): void {
  for (const d of from.list()) {
    if (d.isDirectory()) {
      const dst = to.makeDir(d.name, DIR_MODE);
      try {
        from.withDir(d.name, {}, (src) => linkTree(src, dst));
      } finally {
        dst.close();
      }
    } else if (d.isSymbolicLink()) to.symlink(readlinkSync(from.at(d.name)), d.name);
    else to.linkFrom(from, d.name, d.name);
  }
}

/** One entry of the commit's tree, with its full repo path. */
interface Planned extends TreeNode {
  oid: string;
  mode: string;
  /** A stack folder linked from the base snapshot instead of read from Git. */
  reuse?: boolean;
}

class Writer {
  readonly problems: SnapshotProblem[] = [];
  readonly oids: Record<string, string> = {};

  constructor(
    private readonly store: ObjectStore,
    private readonly root: SafeDir,
    private readonly maxFileBytes: number,
    /** An older snapshot whose stack folders with the same tree id are linked instead of read from Git. */
    private readonly base?: Snapshot,
  ) {}

  /**
   * `stacks/` of the base snapshot and of the one being written, each opened once for every stack
   * folder linked (a change of one stack links all the others: per-folder opens of the two roots
   * were most of that cost). Undefined: the base cannot be opened (then stacks are written from Git).
   */
  #stacks: { from: SafeDir; to: SafeDir } | undefined | null = null;

  private canReuse(file: string, oid: string): boolean {
    const base = this.base;
    return !!base && base.oids?.[file] === oid && base.maxFileBytes === this.maxFileBytes && STACK_FOLDER.test(file);
  }

  private stackRoots(): { from: SafeDir; to: SafeDir } | undefined {
    if (this.#stacks !== null) return this.#stacks;
    this.#stacks = undefined;
    const to = this.root.openDir('stacks');
    try {
      const base = SafeDir.openRoot((this.base as Snapshot).dir);
      try {
        this.#stacks = { from: base.openDir('stacks'), to };
      } finally {
        base.close();
      }
    } catch {
      to.close();
    }
    return this.#stacks;
  }

  /** Closes what the writer held open; call once the snapshot is written. */
  close(): void {
    if (!this.#stacks) return;
    this.#stacks.from.close();
    this.#stacks.to.close();
    this.#stacks = undefined;
  }

  /** Links `file` (a stack folder) from the base snapshot; false when it cannot (then it is written from Git). */
  private reuse(file: string): boolean {
    const base = this.base as Snapshot;
    const name = path.posix.basename(file);
    try {
      const roots = this.stackRoots();
      if (!roots) throw new Error('the base snapshot cannot be opened');
      const dst = roots.to.makeDir(name, DIR_MODE);
      try {
        roots.from.withDir(name, {}, (src) => linkTree(src, dst));
      } finally {
        dst.close();
      }
    } catch {
      // The base was removed meanwhile (or cannot be linked across file systems): write from Git.
      this.root.withDir(path.posix.dirname(file), {}, (d) => d.remove(path.posix.basename(file)));
      return false;
    }
    // Same content, same limit: the same files were refused.
    this.problems.push(...base.problems.filter((p) => p.file.startsWith(`${file}/`)));
    return true;
  }

  private refuse(file: string, code: SnapshotProblem['code'], reason: string): void {
    const { stack } = ownerOf(file);
    if (file === 'fleet.yaml' || file === 'stacks' || file === 'locks') throw new DriftdError(code, `${file} ${reason}; fix it in the repo`, { file });
    if (this.problems.some((p) => p.file === file)) return;
    this.problems.push({ ...(stack ? { stack } : {}), file, code, message: `${file} ${reason}; fix it in the repo` });
  }

  /** Reads the whole tree below `file` into `out` (nothing is written yet). */
  async collect(file: string, e: TreeEntry, out: Planned[], allowReuse = true): Promise<void> {
    if (recordsOid(file)) this.oids[file] = e.oid;
    if (e.type === 'commit') {
      out.push({ path: file, kind: 'other', oid: e.oid, mode: e.mode });
      return;
    }
    if (e.type === 'blob') {
      const target = e.mode === MODE_SYMLINK ? Buffer.from(await readBlobBytes(this.store, e.oid)).toString('utf8') : undefined;
      out.push({ path: file, kind: target === undefined ? 'file' : 'link', oid: e.oid, mode: e.mode, ...(target === undefined ? {} : { target }) });
      return;
    }
    const reuse = allowReuse && this.canReuse(file, e.oid);
    if (reuse) {
      out.push({ path: file, kind: 'dir', oid: e.oid, mode: e.mode, reuse });
      return;
    }
    let entries: TreeEntry[];
    try {
      entries = await readTreeEntries(this.store, e.oid);
    } catch (err) {
      // isomorphic-git refuses "..", ".git" and "/" in names and unknown modes: this folder alone fails.
      out.push({ path: file, kind: 'other', oid: e.oid, mode: e.mode });
      return this.refuse(file, 'UnsafePath', `is a Git tree driftd cannot read safely (${describeError(err)})`);
    }
    out.push({ path: file, kind: 'dir', oid: e.oid, mode: e.mode });
    await settleAll(entries.map((c) => this.collect(`${file}/${c.path}`, c, out, allowReuse)));
  }

  /** Checks the collected tree as a whole (duplicates, link chains), then writes what is safe. */
  async write(nodes: readonly Planned[]): Promise<void> {
    const refused = checkTree(nodes, (p) => ownerOf(p).scope);
    for (const n of nodes) if (n.kind === 'other' && !refused.has(n.path)) refused.set(n.path, 'is a Git submodule, which driftd does not fetch');
    for (const [file, reason] of [...refused].sort(([a], [b]) => (a < b ? -1 : 1))) {
      this.refuse(file, 'UnsafePath', file === 'fleet.yaml' && reason.startsWith('is a symlink') ? `${reason.replace(/;.*$/, '')}, not a regular file` : reason);
    }
    const gone = [...refused.keys()];
    const reused: string[] = [];
    const skipped = (p: string) => [...gone, ...reused].some((g) => p === g || p.startsWith(`${g}/`));
    const files: Planned[] = [];
    // Sorted by path, a folder comes before what is in it.
    for (const n of [...nodes].sort((a, b) => (a.path < b.path ? -1 : 1))) {
      if (skipped(n.path)) continue;
      const [parent, name] = [path.posix.dirname(n.path), path.posix.basename(n.path)];
      if (n.reuse && this.reuse(n.path)) {
        reused.push(n.path);
      } else if (n.reuse) {
        const fresh: Planned[] = [];
        await this.collect(n.path, { path: name, oid: n.oid, mode: n.mode, type: 'tree' }, fresh, false);
        await this.write(fresh);
        reused.push(n.path);
      } else if (n.kind === 'dir') {
        this.root.withDir(parent, {}, (d) => d.mkdir(name, DIR_MODE));
      } else if (n.kind === 'link') {
        this.root.withDir(parent, {}, (d) => d.symlink(n.target as string, name));
      } else if (n.kind === 'file') {
        files.push(n);
      }
    }
    // One open of each folder for all its files, after their blobs are read (no folder stays open across an await).
    const byFolder = new Map<string, Planned[]>();
    for (const n of files) byFolder.set(path.posix.dirname(n.path), [...(byFolder.get(path.posix.dirname(n.path)) ?? []), n]);
    await settleAll([...byFolder].map(([folder, list]) => this.writeFiles(folder, list)));
  }

  private async writeFiles(folder: string, list: readonly Planned[]): Promise<void> {
    const contents = await Promise.all(list.map((n) => readBlobBytes(this.store, n.oid)));
    this.root.withDir(folder, {}, (d) => {
      list.forEach((n, i) => {
        const content = contents[i] as Uint8Array;
        if (content.length > this.maxFileBytes) {
          return this.refuse(n.path, 'FileTooLarge', `is ${content.length} bytes, over the ${this.maxFileBytes}-byte limit (validate.maxFileBytes)`);
        }
        d.writeFile(path.posix.basename(n.path), content, { mode: n.mode === MODE_EXECUTABLE ? 0o755 : 0o644 });
      });
    });
  }
}

async function readManifest(dir: string): Promise<Snapshot | undefined> {
  try {
    const m = await readJsonFile(path.join(dir, MANIFEST), manifestSchema());
    return m ? { commit: m.commit, dir, problems: m.problems, ...(m.oids ? { oids: m.oids } : {}), ...(m.maxFileBytes ? { maxFileBytes: m.maxFileBytes } : {}) } : undefined;
  } catch {
    return undefined;
  }
}

/** The snapshot of `commit` if it was materialized before. */
export function existingSnapshot(dataDir: string, commit: string): Promise<Snapshot | undefined> {
  return readManifest(path.join(snapshotsDir(dataDir), commit));
}

async function writeSnapshot(store: ObjectStore, commit: string, tmp: SafeDir, maxFileBytes: number, base?: Snapshot): Promise<Pick<Snapshot, 'problems' | 'oids' | 'maxFileBytes'>> {
  const tree = await commitTree(store, commit);
  const writer = new Writer(store, tmp, maxFileBytes, base);
  const wanted = (await readTreeEntries(store, tree)).filter((e) => ['stacks', 'locks', 'fleet.yaml'].includes(e.path));
  for (const e of wanted) {
    if (e.path !== 'fleet.yaml' && e.type !== 'tree') {
      throw new DriftdError('UnsafePath', `${e.path} must be a folder at commit ${shortCommit(commit)}; fix it in the repo`, { file: e.path });
    }
    if (e.path === 'fleet.yaml' && e.type !== 'blob') {
      throw new DriftdError('UnsafePath', `fleet.yaml must be a file at commit ${shortCommit(commit)}; fix it in the repo`, { file: e.path });
    }
  }
  const nodes: Planned[] = [];
  await settleAll(wanted.map((e) => writer.collect(e.path, e, nodes)));
  try {
    await writer.write(nodes);
  } finally {
    writer.close();
  }
  const problems = writer.problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const oids = Object.fromEntries(Object.entries(writer.oids).sort(([a], [b]) => (a < b ? -1 : 1)));
  tmp.writeFile(MANIFEST, `${JSON.stringify({ version: MANIFEST_VERSION, commit, problems, oids, maxFileBytes }, null, 2)}\n`, { mode: 0o644 });
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

  const root = SafeDir.openRoot(snapshotsDir(dataDir), { create: 0o700 });
  try {
    const tmpName = `${TMP_PREFIX}${commit}-${randomBytes(4).toString('hex')}`;
    root.mkdir(tmpName, 0o755);
    let written: Pick<Snapshot, 'problems' | 'oids' | 'maxFileBytes'>;
    try {
      const baseSnapshot = await base();
      const tmp = root.openDir(tmpName);
      try {
        written = await writeSnapshot(store, commit, tmp, maxFileBytes, baseSnapshot);
      } finally {
        tmp.close();
      }
    } catch (e) {
      root.remove(tmpName);
      throw e;
    }
    try {
      root.rename(tmpName, root, commit);
    } catch {
      // Another process materialized the same commit first: theirs is identical.
      const theirs = await readManifest(dir);
      if (theirs) {
        root.remove(tmpName);
        return theirs;
      }
      // A dir without a (current) manifest was not made by a completed rename of this version: replace it.
      root.remove(commit);
      root.rename(tmpName, root, commit);
    }
    return { commit, dir, ...written };
  } finally {
    root.close();
  }
}

/** Removes every snapshot whose commit is not in `keep`, and temp dirs left by crashed runs. Returns the removed commits. */
export async function removeSnapshots(dataDir: string, keep: ReadonlySet<string>, now: number): Promise<string[]> {
  const root = snapshotsDir(dataDir);
  let names: string[];
  try {
    names = await readdir(root);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw e;
  }
  const removed: string[] = [];
  for (const name of names.sort()) {
    const full = path.join(root, name);
    if (COMMIT_PATTERN.test(name) && !keep.has(name)) {
      removeSafely(root, name);
      removed.push(name);
    } else if (name.startsWith(TMP_PREFIX) && now - (await stat(full)).mtimeMs > STALE_TMP_MS) {
      removeSafely(root, name);
    }
  }
  return removed;
}
