/**
 * The one safe filesystem writer (docs/design.md §8). Every file driftd writes — snapshots, deploy dirs,
 * runtime exports, lock files, JSON state and caches — goes through here, because two kinds of
 * input are hostile: a Git tree (a tag pusher can push trees `git add` cannot make: duplicate
 * names, symlink chains) and a deploy dir (a container with a read-write bind mount of it can
 * plant symlinks at any time, also between a check and a write).
 *
 * Two halves:
 * - `checkTree` (pure): refuses duplicate entries and resolves every symlink against the tree
 *   itself, through every other link; a link is kept only when it ends at a regular file inside its
 *   own folder without ever leaving it.
 * - `SafeDir` (file system): a directory held open by descriptor. Children are reached as
 *   `/proc/self/fd/<fd>/<name>` — Node has no `openat`, and this magic path resolves through the
 *   already-open directory, never by name again — so a folder swapped for a symlink after a check is
 *   never followed. Folders are opened with O_DIRECTORY|O_NOFOLLOW one component at a time, files are
 *   created with O_CREAT|O_EXCL|O_NOFOLLOW under a random temp name and renamed into place (a rename
 *   replaces a planted link, it does not follow it), modes are set with fchmod on the descriptor.
 *   Without /proc (not Linux) the same calls run on plain paths, after an lstat of each component.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DriftdError, errnoCode } from '../errors/index.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY } = fs.constants;

// ---------------------------------------------------------------------------------------------
// Pure: checking a tree before anything of it is written.

export type TreeNodeKind = 'file' | 'dir' | 'link' | 'other';

export interface TreeNode {
  /** Slash-separated path relative to the tree root, e.g. "stacks/web/conf/app.conf". */
  path: string;
  kind: TreeNodeKind;
  /** A link's target, as stored in the tree. */
  target?: string;
}

/** How many links one resolution may pass through (Linux's own limit is 40). */
const MAX_LINK_HOPS = 40;

function plainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

function isUnder(p: string, folder: string): boolean {
  return p === folder || p.startsWith(`${folder}/`);
}

/**
 * Checks a whole tree (every entry, with its full path) and returns the refused paths with the
 * reason, in the words of an error message ("appears twice in its Git tree"). `scopeOf` names the
 * folder a link at `path` must stay inside (its stack folder); undefined means links are not
 * allowed there at all. A refused folder refuses everything below it (those are not reported).
 *
 * Rules: a path named twice is refused (and all below it). A link is kept only when following it —
 * through further links, as the kernel would — ends at a regular file of the tree inside its scope
 * and never leaves the scope at any step; every folder on the way must be a real folder of the tree
 * (a link to a folder is refused, so no link is ever passed through as a folder).
 */
export function checkTree(nodes: readonly TreeNode[], scopeOf: (p: string) => string | undefined): Map<string, string> {
  const refused = new Map<string, string>();
  const byPath = new Map<string, TreeNode>();
  const twice = new Set<string>();
  for (const n of nodes) {
    if (byPath.has(n.path)) twice.add(n.path);
    else byPath.set(n.path, n);
  }
  const dropped: string[] = [];
  for (const p of twice) {
    refused.set(p, 'appears twice in its Git tree');
    dropped.push(p);
  }
  for (const n of nodes) {
    if (!n.path.split('/').every(plainName) && !refused.has(n.path)) {
      refused.set(n.path, 'has a name that is not a plain file name');
      dropped.push(n.path);
    }
  }
  // Everything below a refused folder goes with it.
  for (const p of [...byPath.keys()]) {
    if (dropped.some((d) => p !== d && p.startsWith(`${d}/`))) byPath.delete(p);
    if (dropped.includes(p)) byPath.delete(p);
  }
  for (const n of byPath.values()) {
    if (n.kind !== 'link') continue;
    const why = linkProblem(n, byPath, scopeOf(n.path));
    if (why) refused.set(n.path, why);
  }
  return refused;
}

function linkProblem(link: TreeNode, tree: ReadonlyMap<string, TreeNode>, scope: string | undefined): string | undefined {
  const first = JSON.stringify(link.target ?? '');
  if (!scope || link.path === scope) return `is a symlink to ${first}; symlinks are allowed only inside a stack folder`;
  let current: TreeNode = link;
  for (let hops = 0; hops < MAX_LINK_HOPS; hops++) {
    const target = current.target ?? '';
    if (target === '' || target.includes('\0')) return `is a symlink with an empty or invalid target`;
    if (target.startsWith('/')) return `is a symlink to ${JSON.stringify(target)}, an absolute path; symlinks must point to a file inside ${scope}/`;
    if (target.endsWith('/')) return `is a symlink to ${JSON.stringify(target)}, a folder; symlinks may point only to a regular file inside ${scope}/`;
    const parts = current.path.split('/').slice(0, -1);
    const comps = target.split('/');
    for (let i = 0; i < comps.length; i++) {
      const c = comps[i] as string;
      if (c === '' || c === '.') continue;
      if (c === '..') parts.pop();
      else parts.push(c);
      const at = parts.join('/');
      if (!isUnder(at, scope)) return `is a symlink to ${first} that leaves its stack folder ${scope}/ (after following the links in the tree)`;
      // The stack folder itself is a real folder (a link there is refused above).
      if (at === scope) continue;
      const node = tree.get(at);
      if (!node) return `is a symlink to ${first} that points to nothing in the tree (at ${at})`;
      if (i < comps.length - 1 && node.kind !== 'dir') {
        return node.kind === 'link'
          ? `is a symlink to ${first} that passes through the symlink ${at}; symlinks may not be followed as folders`
          : `is a symlink to ${first} that points to nothing in the tree (${at} is not a folder)`;
      }
    }
    const end = tree.get(parts.join('/'));
    if (!end) return `is a symlink to ${first} that points to nothing in the tree`;
    if (end.kind === 'file') return undefined;
    if (end.kind !== 'link') return `is a symlink to ${first}, which is not a regular file (${end.kind === 'dir' ? 'a folder' : 'a submodule'}); symlinks may point only to a regular file inside ${scope}/`;
    current = end;
  }
  return `is a symlink to ${first} in a chain of more than ${MAX_LINK_HOPS} links (a loop)`;
}

// ---------------------------------------------------------------------------------------------
// File system: a directory held open by descriptor.

const PROC_FD = (() => {
  try {
    return fs.statSync('/proc/self/fd').isDirectory();
  } catch {
    return false;
  }
})();

function unsafe(where: string, reason: string): DriftdError {
  return new DriftdError('UnsafePath', `${where} ${reason}; driftd never writes through a symlink`, { file: where });
}

/** A random name for a file being written; created exclusively, so a planted name is never opened. */
export function tempName(): string {
  return `.driftd-tmp-${randomBytes(8).toString('hex')}`;
}

export interface OpenDirOptions {
  /** Create missing folders with this mode (exact, set with fchmod). */
  create?: number;
  /**
   * Where a folder is expected but something else is (a symlink, a file): remove that entry and
   * create the folder. For folders others can write into (deploy dirs); elsewhere it is refused.
   */
  replace?: boolean;
}

export interface WriteOptions {
  /** Exact mode of the file (default 0600). */
  mode?: number;
  /** fsync the file before it is renamed into place (exports, state). */
  sync?: boolean;
}

export class SafeDir {
  private closed = false;

  private constructor(
    /** The open descriptor of this directory. */
    readonly fd: number,
    /** Its path, for messages (and the only way in without /proc). */
    readonly path: string,
  ) {}

  /**
   * Opens a trusted root folder by path (the data dir, the audit dir: the operator chose them, so a
   * symlink in *their* path is followed). With `create`, missing folders are made with that mode.
   */
  static openRoot(dir: string, opts: { create?: number } = {}): SafeDir {
    const abs = path.resolve(dir);
    if (opts.create !== undefined) fs.mkdirSync(abs, { recursive: true, mode: opts.create });
    return new SafeDir(fs.openSync(abs, O_RDONLY | O_DIRECTORY), abs);
  }

  /** The path through which a child is reached without resolving this folder's path again. */
  at(name: string): string {
    if (!plainName(name)) throw unsafe(path.join(this.path, name), 'is not a plain file name');
    return PROC_FD ? `/proc/self/fd/${this.fd}/${name}` : path.join(this.path, name);
  }

  private shown(name: string): string {
    return path.join(this.path, name);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }

  /** Runs `fn` with the folder at `rel` (slash-separated, below this one), then closes it. */
  withDir<T>(rel: string, opts: OpenDirOptions, fn: (dir: SafeDir) => T): T {
    const dir = this.openDir(rel, opts);
    try {
      return fn(dir);
    } finally {
      dir.close();
    }
  }

  /** Opens the folder at `rel` one component at a time, never following a symlink. The caller closes it. */
  openDir(rel: string, opts: OpenDirOptions = {}): SafeDir {
    const [first, ...rest] = rel.split('/').filter((p) => p !== '' && p !== '.');
    // A new descriptor even for "": the caller closes what it gets.
    if (first === undefined) return new SafeDir(fs.openSync(this.selfPath(), O_RDONLY | O_DIRECTORY), this.path);
    // The first component is opened through this folder's descriptor, not a copy of it: one open fewer per call.
    let current = this.child(first, opts);
    try {
      for (const part of rest) {
        const next = current.child(part, opts);
        current.close();
        current = next;
      }
      return current;
    } catch (e) {
      current.close();
      throw e;
    }
  }

  private selfPath(): string {
    return PROC_FD ? `/proc/self/fd/${this.fd}` : this.path;
  }

  private openChild(name: string): SafeDir {
    const p = this.at(name);
    if (!PROC_FD) {
      // Without openat: the lstat makes a link visible; O_NOFOLLOW refuses one that appears after it.
      if (fs.lstatSync(p).isSymbolicLink()) throw Object.assign(new Error('symlink'), { code: 'ELOOP' });
    }
    return new SafeDir(fs.openSync(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW), this.shown(name));
  }

  private child(name: string, opts: OpenDirOptions): SafeDir {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return this.openChild(name);
      } catch (e) {
        const code = errnoCode(e);
        if (code === 'ENOENT' && opts.create !== undefined) {
          try {
            fs.mkdirSync(this.at(name), { mode: opts.create });
          } catch (m) {
            if (errnoCode(m) !== 'EEXIST') throw m;
            continue;
          }
          const made = this.openChild(name);
          fs.fchmodSync(made.fd, opts.create);
          return made;
        }
        if (code === 'ELOOP' || code === 'ENOTDIR') {
          if (!opts.replace) throw unsafe(this.shown(name), 'is a symlink or a file where a folder is expected');
          this.remove(name);
          continue;
        }
        throw e;
      }
    }
    throw unsafe(this.shown(name), 'keeps changing while driftd opens it');
  }

  /** lstat of a child (never follows); undefined when it does not exist. */
  lstat(name: string): fs.Stats | undefined {
    try {
      return fs.lstatSync(this.at(name));
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Entries of this folder (names and lstat types). */
  list(): fs.Dirent[] {
    return fs.readdirSync(this.selfPath(), { withFileTypes: true });
  }

  /**
   * Opens a regular file for reading without following a symlink; undefined when it is missing,
   * a link or not a regular file. The caller closes the descriptor.
   */
  openFile(name: string): number | undefined {
    let fd: number;
    try {
      fd = fs.openSync(this.at(name), O_RDONLY | O_NOFOLLOW);
    } catch (e) {
      if (['ENOENT', 'ELOOP', 'ENXIO', 'EISDIR'].includes(errnoCode(e) ?? '')) return undefined;
      throw e;
    }
    if (!fs.fstatSync(fd).isFile()) {
      fs.closeSync(fd);
      return undefined;
    }
    return fd;
  }

  /** The content of a regular file (never through a link); undefined when there is none. */
  readFile(name: string): Buffer | undefined {
    const fd = this.openFile(name);
    if (fd === undefined) return undefined;
    try {
      return fs.readFileSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Replaces `name` with `content` atomically: a random temp file created O_EXCL|O_NOFOLLOW in this
   * folder, fchmod to the exact mode, written, renamed over `name` (which replaces a link or file
   * there, never follows it). A folder planted at `name` is removed first when `replace` is set.
   */
  writeFile(name: string, content: string | Uint8Array, opts: WriteOptions & { replace?: boolean } = {}): void {
    const mode = opts.mode ?? 0o600;
    const tmp = this.createExclusive(content, mode, opts.sync === true);
    try {
      this.renameIn(tmp, name, opts.replace === true);
    } catch (e) {
      this.unlinkQuiet(tmp);
      throw e;
    }
  }

  /**
   * `writeFile` with asynchronous I/O (the event loop keeps running while a large file is written
   * and fsynced): the same O_EXCL|O_NOFOLLOW random temp file, fchmod, rename.
   */
  async writeFileAsync(name: string, content: string | Uint8Array, opts: WriteOptions = {}): Promise<void> {
    const mode = opts.mode ?? 0o600;
    let tmp: string;
    let fh: fs.promises.FileHandle;
    for (;;) {
      tmp = tempName();
      try {
        fh = await fs.promises.open(this.at(tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
        break;
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw e;
      }
    }
    try {
      await fh.chmod(mode);
      await fh.writeFile(content);
      if (opts.sync) await fh.sync();
      await fh.close();
      await fs.promises.rename(this.at(tmp), this.at(name));
    } catch (e) {
      await fh.close().catch(() => undefined);
      this.unlinkQuiet(tmp);
      throw e;
    }
  }

  /** Creates a new file exclusively under a random name; returns the name. */
  createExclusive(content: string | Uint8Array, mode: number, sync: boolean): string {
    for (;;) {
      const tmp = tempName();
      let fd: number;
      try {
        fd = fs.openSync(this.at(tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
      } catch (e) {
        if (errnoCode(e) === 'EEXIST') continue;
        throw e;
      }
      try {
        fs.fchmodSync(fd, mode);
        fs.writeFileSync(fd, content);
        if (sync) fs.fsyncSync(fd);
      } catch (e) {
        fs.closeSync(fd);
        this.unlinkQuiet(tmp);
        throw e;
      }
      fs.closeSync(fd);
      return tmp;
    }
  }

  private renameIn(from: string, to: string, replace: boolean): void {
    try {
      fs.renameSync(this.at(from), this.at(to));
    } catch (e) {
      if (!replace || !['EISDIR', 'ENOTEMPTY', 'EEXIST', 'ENOTDIR'].includes(errnoCode(e) ?? '')) throw e;
      this.remove(to);
      fs.renameSync(this.at(from), this.at(to));
    }
  }

  /** Renames a child of this folder to `toName` in `to` (rename never follows the last component). */
  rename(name: string, to: SafeDir, toName: string): void {
    fs.renameSync(this.at(name), to.at(toName));
  }

  /** Creates a folder (exact mode); EEXIST is an error. */
  mkdir(name: string, mode: number): void {
    this.makeDir(name, mode).close();
  }

  /** `mkdir`, returning the new folder open (the caller closes it): no second open to write into it. */
  makeDir(name: string, mode: number): SafeDir {
    fs.mkdirSync(this.at(name), { mode });
    // Opened without following (a link planted in its place fails here), then the exact mode past the umask.
    const made = this.child(name, {});
    try {
      fs.fchmodSync(made.fd, mode);
    } catch (e) {
      made.close();
      throw e;
    }
    return made;
  }

  /** Creates a symlink `name` → `target` (the link itself; nothing is followed). */
  symlink(target: string, name: string): void {
    fs.symlinkSync(target, this.at(name));
  }

  /** Hard-links `from`'s child `name` here as `toName` (linkat without following: a link is linked as a link). */
  linkFrom(from: SafeDir, name: string, toName: string): void {
    fs.linkSync(from.at(name), this.at(toName));
  }

  /** Sets the mode of a child that is a regular file or folder, through a descriptor (never a link's target). */
  chmod(name: string, mode: number): void {
    const fd = fs.openSync(this.at(name), O_RDONLY | O_NOFOLLOW);
    try {
      fs.fchmodSync(fd, mode);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** fsyncs this folder (after a rename into it). */
  sync(): void {
    fs.fsyncSync(this.fd);
  }

  private unlinkQuiet(name: string): void {
    try {
      fs.unlinkSync(this.at(name));
    } catch {
      // Already gone.
    }
  }

  /** Removes a child and, for a folder, everything in it, without following any link. Missing is fine. */
  remove(name: string): void {
    for (let attempt = 0; attempt < 5; attempt++) {
      const st = this.lstat(name);
      if (!st) return;
      if (!st.isDirectory()) {
        try {
          fs.unlinkSync(this.at(name));
          return;
        } catch (e) {
          if (errnoCode(e) === 'ENOENT') return;
          if (errnoCode(e) === 'EISDIR' || errnoCode(e) === 'EPERM') continue;
          throw e;
        }
      }
      let dir: SafeDir;
      try {
        dir = this.openChild(name);
      } catch (e) {
        // Swapped for a link or a file after the lstat: take the new entry on the next round.
        if (['ELOOP', 'ENOTDIR', 'ENOENT'].includes(errnoCode(e) ?? '')) continue;
        throw e;
      }
      try {
        for (const d of dir.list()) dir.remove(d.name);
      } finally {
        dir.close();
      }
      try {
        fs.rmdirSync(this.at(name));
        return;
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') return;
        if (!['ENOTEMPTY', 'EEXIST', 'ENOTDIR'].includes(errnoCode(e) ?? '')) throw e;
      }
    }
    throw unsafe(this.shown(name), 'keeps changing while driftd removes it');
  }
}

/** Splits an absolute file path into its folder (a trusted root) and name. */
function splitFile(file: string): { dir: string; name: string } {
  const abs = path.resolve(file);
  return { dir: path.dirname(abs), name: path.basename(abs) };
}

/**
 * Replaces the file at `file` atomically (temp + rename, O_EXCL|O_NOFOLLOW, exact mode, default
 * 0600). Its folder is a trusted root (made with mode 0700 when missing).
 */
export function writeFileAtomic(file: string, content: string | Uint8Array, opts: WriteOptions = {}): void {
  const { dir, name } = splitFile(file);
  const root = SafeDir.openRoot(dir, { create: 0o700 });
  try {
    root.writeFile(name, content, opts);
  } finally {
    root.close();
  }
}

/** Removes `name` (recursively, never following a link) from the trusted folder `dir`; missing is fine. */
export function removeSafely(dir: string, name: string): void {
  let root: SafeDir;
  try {
    root = SafeDir.openRoot(dir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    throw e;
  }
  try {
    root.remove(name);
  } finally {
    root.close();
  }
}

/**
 * Takes away the bits of `path` (a folder or file, never through a symlink) that `mode` does not
 * allow; returns the old and new mode when it changed anything. Missing is fine.
 */
export function tightenMode(p: string, mode: number): { from: number; to: number } | undefined {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
  if (st.isSymbolicLink() || (!st.isDirectory() && !st.isFile())) return undefined;
  const from = st.mode & 0o777;
  const to = from & mode;
  if (to === from) return undefined;
  const fd = fs.openSync(p, O_RDONLY | O_NOFOLLOW | (st.isDirectory() ? O_DIRECTORY : 0));
  try {
    fs.fchmodSync(fd, to);
  } finally {
    fs.closeSync(fd);
  }
  return { from, to };
}
