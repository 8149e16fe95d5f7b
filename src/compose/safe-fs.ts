import { lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { sha256 } from '../util/hash.js';
import { composeError } from './errors.js';
import { errnoCode } from '../errors/index.js';

export const STACK_NAME_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;

export function isValidStackName(name: string): boolean {
  return STACK_NAME_RE.test(name);
}

export function assertStackName(name: string): void {
  if (!isValidStackName(name)) {
    throw composeError(
      'InvalidStackName',
      `invalid stack folder name ${JSON.stringify(name)} in stacks/: rename it to match ^[a-z0-9][a-z0-9_-]{0,62}$ (lowercase letters, digits, "_" and "-")`,
      { file: `stacks/${name}` },
    );
  }
}

function isInside(parent: string, child: string): boolean {
  return child === parent || child.startsWith(parent + path.sep);
}

function tooLarge(file: string, size: number, max: number) {
  return composeError(
    'FileTooLarge',
    `${file} is ${size} bytes, over the ${max}-byte limit; keep large files out of the desired-state repo or raise validate.maxFileBytes`,
    { file },
  );
}

/*
 * File access here is synchronous on purpose: a revision is thousands of tiny files, and the
 * async API queues each of them on the libuv thread pool (measured: loading 200 stacks took twice as long).
 */

/** Reads a regular file of the repo: refuses symlinks, non-files and files over the size limit. */
export function readRepoFile(root: string, rel: string, maxBytes: number): Buffer | undefined {
  const abs = path.join(root, rel);
  let st;
  try {
    st = lstatSync(abs);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
  if (st.isSymbolicLink()) throw composeError('UnsafePath', `${rel} is a symlink; driftd reads only regular files here — replace it with the file itself`, { file: rel });
  if (!st.isFile()) throw composeError('UnsafePath', `${rel} is not a regular file`, { file: rel });
  if (st.size > maxBytes) throw tooLarge(rel, st.size, maxBytes);
  return readFileSync(abs);
}

export interface StackFile {
  /** Stack-relative path with forward slashes ("conf/nginx.conf"). */
  rel: string;
  sha256: string;
  content: Buffer;
}

export interface StackTree {
  /** Absolute, symlink-free path of the stack folder. */
  realDir: string;
  /** Every file, keyed by stack-relative path (symlinks to files appear under their own path). */
  files: Map<string, StackFile>;
}

/**
 * Reads every file of a stack folder. Symlinks must resolve inside the folder (symlinked
 * directories are not descended: their files are listed under their real path); anything that
 * leaves the folder, dangles, or is over the size limit is refused.
 */
export function readStackTree(stackDir: string, repoPrefix: string, maxBytes: number): StackTree {
  const top = lstatSync(stackDir);
  if (top.isSymbolicLink() || !top.isDirectory()) {
    throw composeError('UnsafePath', `${repoPrefix} must be a plain directory, not a symlink or a file`, { file: repoPrefix });
  }
  const realDir = realpathSync(stackDir);
  const files = new Map<string, StackFile>();

  const addFile = (abs: string, rel: string, size: number): void => {
    const shown = `${repoPrefix}/${rel}`;
    if (size > maxBytes) throw tooLarge(shown, size, maxBytes);
    const content = readFileSync(abs);
    files.set(rel, { rel, sha256: sha256(content), content });
  };

  const walk = (dirAbs: string, dirRel: string): void => {
    for (const ent of readdirSync(dirAbs, { withFileTypes: true })) {
      const abs = path.join(dirAbs, ent.name);
      const rel = dirRel ? `${dirRel}/${ent.name}` : ent.name;
      if (ent.isDirectory()) walk(abs, rel);
      else if (ent.isFile()) addFile(abs, rel, lstatSync(abs).size);
      else if (ent.isSymbolicLink()) {
        const shown = `${repoPrefix}/${rel}`;
        let target: string;
        try {
          target = realpathSync(abs);
        } catch {
          throw composeError('UnsafePath', `${shown} is a symlink to a missing path; remove it or point it at a file inside the stack`, { file: shown });
        }
        if (!isInside(realDir, target)) {
          throw composeError('UnsafePath', `${shown} is a symlink that leaves the stack folder; symlinks must stay inside ${repoPrefix}/`, { file: shown });
        }
        const st = lstatSync(target);
        if (st.isFile()) addFile(target, rel, st.size);
      }
      // sockets and fifos are skipped: Git cannot hold them
    }
  };
  walk(stackDir, '');
  return { realDir, files };
}

/**
 * A stack-relative path ("./conf", "conf/x") normalized; refused when it leaves the stack.
 * Returns "" for the stack folder itself.
 */
export function stackRelative(p: string, where: { file?: string; path?: (string | number)[] }, what: string): string {
  const norm = path.posix.normalize(p.replace(/\\/g, '/'));
  if (norm === '..' || norm.startsWith('../') || path.posix.isAbsolute(norm)) {
    throw composeError('UnsafePath', `${what} ${JSON.stringify(p)} leaves the stack folder; keep repo files inside the stack (or use an absolute host path)`, where);
  }
  return norm === '.' || norm === './' ? '' : norm.replace(/\/$/, '');
}

/** Files of the tree at or under a stack-relative path, following a symlinked directory. */
export function filesUnder(tree: StackTree, stackDir: string, rel: string): string[] {
  let realRel = rel;
  try {
    const real = realpathSync(path.join(stackDir, rel));
    if (!isInside(tree.realDir, real)) throw composeError('UnsafePath', `${rel} resolves outside the stack folder`, {});
    realRel = path.relative(tree.realDir, real).split(path.sep).join('/');
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
    return [];
  }
  const out: string[] = [];
  for (const key of tree.files.keys()) {
    if (key === rel || key === realRel || realRel === '' || key.startsWith(`${realRel}/`)) out.push(key);
  }
  return out.sort();
}
