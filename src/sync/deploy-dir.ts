/**
 * Deploy dirs `<dataDir>/deploy/<stack>/`: the stack's files plus driftd's resolved compose file.
 * They are bind-mounted into containers, so a container may plant symlinks in them at any time:
 * every write goes through the safe writer (folders walked without following links, a planted
 * link where a folder or file belongs is replaced, random exclusive temp names, fchmod).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fchmodSync, fstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileSystemError } from '../util/fs-errors.js';
import { removeSafely, SafeDir } from '../util/safe-write.js';

export const DEPLOY_COMPOSE_FILE = 'driftd.compose.yaml';

/** Files the deploy dir never takes from the stack folder: Compose must read only driftd's resolved file. */
const NOT_COPIED = new Set(['.env', 'compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml', 'compose.override.yaml', 'compose.override.yml', 'docker-compose.override.yaml', 'docker-compose.override.yml']);

/** `deploy/` itself is driftd's alone; a stack's folder is readable by its group as before, its subfolders by containers. */
const DEPLOY_ROOT_MODE = 0o700;
const STACK_DIR_MODE = 0o750;
const SUBDIR_MODE = 0o755;
const COMPOSE_FILE_MODE = 0o600;

export function deployDirFor(dataDir: string, stack: string): string {
  return path.join(dataDir, 'deploy', stack);
}

function sha(content: Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

/**
 * Files of a snapshot's stack folder (trusted: every link in it was checked to end at a regular file
 * inside the folder), so a link is copied as the file it points to.
 */
function snapshotFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  let entries;
  try {
    entries = readdirSync(path.join(root, rel), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const r = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...snapshotFiles(root, r));
    else if (entry.isFile() || (entry.isSymbolicLink() && statSync(path.join(root, r), { throwIfNoEntry: false })?.isFile())) out.push(r);
  }
  return out;
}

/** Regular files in a deploy dir, walked without following links (a planted link is not a file of ours). */
function deployedFiles(dir: SafeDir, rel = ''): string[] {
  const out: string[] = [];
  for (const entry of dir.list()) {
    const r = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isFile()) out.push(r);
    else if (entry.isDirectory()) {
      try {
        out.push(...dir.withDir(entry.name, {}, (sub) => deployedFiles(sub, r)));
      } catch {
        // Swapped for a link meanwhile: nothing of ours is in it.
      }
    }
  }
  return out;
}

/** Writes one file unless it already holds `content` with `mode` (then its inode stays). Returns whether it wrote. */
function putFile(dir: SafeDir, name: string, content: Uint8Array, mode: number): boolean {
  const fd = dir.openFile(name);
  if (fd !== undefined) {
    try {
      const current = readFileSync(fd);
      if (sha(current) === sha(content)) {
        // fchmod on the descriptor we read: the file itself, never a link planted after the check.
        if ((fstatSync(fd).mode & 0o777) !== mode) fchmodSync(fd, mode);
        return false;
      }
    } catch {
      // Swapped while we looked: write it afresh.
    } finally {
      closeQuietly(fd);
    }
  }
  dir.writeFile(name, content, { mode, replace: true });
  return true;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}

export interface DeployDirResult {
  dir: string;
  written: string[];
  removed: string[];
}

/**
 * Makes `<dataDir>/deploy/<stack>/` hold exactly the stack's files plus driftd's resolved compose file.
 * The path never changes between revisions, and a file whose content is unchanged is not rewritten
 * (same inode), so Compose sees the same bind sources and recreates only what really changed.
 */
export function syncDeployDir(opts: { dataDir: string; stack: string; stackDir: string; composeYaml: string }): DeployDirResult {
  const wanted = new Map<string, { source?: string; content?: string }>();
  for (const rel of snapshotFiles(opts.stackDir)) {
    if (!NOT_COPIED.has(rel)) wanted.set(rel, { source: path.join(opts.stackDir, rel) });
  }
  wanted.set(DEPLOY_COMPOSE_FILE, { content: opts.composeYaml });

  const data = SafeDir.openRoot(opts.dataDir, { create: 0o700 });
  try {
    return data.withDir('deploy', { create: DEPLOY_ROOT_MODE, replace: true }, (deploy) =>
      deploy.withDir(opts.stack, { create: STACK_DIR_MODE, replace: true }, (root) => {
        const written: string[] = [];
        for (const [rel, spec] of wanted) {
          const content = spec.content !== undefined ? Buffer.from(spec.content) : readFileSync(spec.source as string);
          const mode = spec.source ? statSync(spec.source).mode & 0o777 : COMPOSE_FILE_MODE;
          const changed = root.withDir(path.posix.dirname(rel), { create: SUBDIR_MODE, replace: true }, (d) => putFile(d, path.posix.basename(rel), content, mode));
          if (changed) written.push(rel);
        }
        const removed: string[] = [];
        for (const rel of deployedFiles(root)) {
          if (wanted.has(rel)) continue;
          try {
            root.withDir(path.posix.dirname(rel), {}, (d) => d.remove(path.posix.basename(rel)));
            removed.push(rel);
          } catch {
            // Its folder was swapped for a link meanwhile: nothing to remove through it.
          }
        }
        return { dir: deployDirFor(opts.dataDir, opts.stack), written: written.sort(), removed: removed.sort() };
      }),
    );
  } catch (e) {
    // A full disk names the deploy dir and says so, instead of a bare "ENOSPC … write".
    throw fileSystemError(deployDirFor(opts.dataDir, opts.stack), 'write', e);
  } finally {
    data.close();
  }
}

/** Writes an empty model into the stack's deploy dir when it holds none (a prune after the data dir was wiped). */
export function ensureDeployCompose(dataDir: string, stack: string): void {
  const data = SafeDir.openRoot(dataDir, { create: 0o700 });
  try {
    data.withDir(`deploy/${stack}`, { create: STACK_DIR_MODE, replace: true }, (d) => {
      if (!d.lstat(DEPLOY_COMPOSE_FILE)?.isFile()) d.writeFile(DEPLOY_COMPOSE_FILE, 'services: {}\n', { mode: COMPOSE_FILE_MODE, replace: true });
    });
  } finally {
    data.close();
  }
}

export function removeDeployDir(dataDir: string, stack: string): void {
  removeSafely(path.join(dataDir, 'deploy'), stack);
}

/** Stacks this data dir deployed (each has a deploy dir holding driftd's compose file). */
export function deployedStackDirs(dataDir: string): string[] {
  const root = path.join(dataDir, 'deploy');
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(root, e.name, DEPLOY_COMPOSE_FILE)))
    .map((e) => e.name)
    .sort();
}
