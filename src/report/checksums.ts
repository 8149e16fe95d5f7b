import { lstat, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DesiredStack } from '../compose/model.js';
import { DriftdError, describeError } from '../errors/index.js';
import { sha256 } from '../util/hash.js';

export interface ChecksumEntry {
  /** Repo-relative path with forward slashes. */
  path: string;
  sha256: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

function exportError(message: string, data: Record<string, unknown>, cause?: unknown): DriftdError {
  return new DriftdError('ExportError', message, data, { cause });
}

/** Refuses anything but a plain repo-relative path: compose_sha256.txt must only name files under the root. */
export function assertRelativePath(p: string): void {
  const parts = p.split('/');
  if (p === '' || p.startsWith('/') || p.includes('\0') || parts.some((s) => s === '' || s === '.' || s === '..')) {
    throw exportError(`cannot checksum "${p}": not a plain repo-relative path; this is a bug in the desired-state loader, please report it`, { path: p });
  }
}

/** GNU sha256sum's escaping: a name with a backslash, newline or CR gets a leading "\" and those characters escaped. */
function sumLine(entry: ChecksumEntry): string {
  if (!/[\\\n\r]/.test(entry.path)) return `${entry.sha256}  ${entry.path}`;
  const escaped = entry.path.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  return `\\${entry.sha256}  ${escaped}`;
}

/**
 * compose_sha256.txt: `<sha256>  <path>` lines (sha256sum format, two spaces), sorted by path,
 * one per file, trailing newline; `sha256sum -c` verifies it from the snapshot (repo) root. Pure.
 */
export function formatSha256Sums(entries: readonly ChecksumEntry[]): string {
  const byPath = new Map<string, string>();
  for (const e of entries) {
    assertRelativePath(e.path);
    if (!HEX64.test(e.sha256)) throw exportError(`cannot checksum "${e.path}": "${e.sha256}" is not a sha256 hex digest`, { path: e.path });
    const seen = byPath.get(e.path);
    if (seen !== undefined && seen !== e.sha256) {
      throw exportError(`cannot checksum "${e.path}": two different digests for one file`, { path: e.path });
    }
    byPath.set(e.path, e.sha256);
  }
  const lines = [...byPath.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([p, sha]) => sumLine({ path: p, sha256: sha }));
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** Repo-relative paths of a stack's desired inputs: `files` (compose, .env, mounted files) and its lock. */
export function stackInputPaths(stack: DesiredStack): string[] {
  const paths = stack.files.map((f) => f.path);
  if (stack.lock) paths.push(`locks/${stack.name}.lock.json`);
  return paths;
}

/** A file left out of compose_sha256.txt, with why (the export goes on without it). */
export interface ChecksumSkip {
  path: string;
  reason: string;
}

/** The folder a stack's input may resolve into: its own stack folder, or locks/ for its lock. */
function scopeOf(rel: string): string {
  const [top, name] = rel.split('/');
  return top === 'stacks' && name ? `stacks/${name}` : (top ?? '');
}

async function hashFile(root: string, rel: string): Promise<ChecksumEntry | ChecksumSkip> {
  assertRelativePath(rel);
  const abs = path.join(root, ...rel.split('/'));
  try {
    const st = await lstat(abs);
    if (st.isSymbolicLink()) {
      // A link of the snapshot was checked to end at a regular file of its own stack folder; hash that
      // file, and skip (not fail the whole export) anything else.
      const real = await realpath(abs).catch(() => undefined);
      const scope = await realpath(path.join(root, scopeOf(rel))).catch(() => undefined);
      if (!real || !scope || !real.startsWith(`${scope}${path.sep}`) || !(await stat(real)).isFile()) {
        return { path: rel, reason: `${rel} is a symlink that does not end at a regular file inside ${scopeOf(rel)}/; left out of compose_sha256.txt` };
      }
      return { path: rel, sha256: sha256(await readFile(real)) };
    }
    if (!st.isFile()) throw exportError(`cannot checksum ${rel} under ${root}: not a regular file`, { path: rel, root });
    return { path: rel, sha256: sha256(await readFile(abs)) };
  } catch (e) {
    if (e instanceof DriftdError) throw e;
    const reason = describeError(e);
    throw exportError(`cannot checksum ${rel} under ${root}: ${reason}; the snapshot changed or was removed, run the export again`, { path: rel, root }, e);
  }
}

/**
 * Hashes the selected stacks' input files as they are in the snapshot at `snapshotRoot` (the bytes
 * `sha256sum -c` will read; a symlink is hashed as the file it ends at inside its stack folder).
 * A link that does not end at a regular file of its stack folder is left out and named in
 * `skipped`; the other stacks' files are still hashed. Throws ExportError naming a file that
 * cannot be read (the snapshot changed).
 */
export async function checksumStackFiles(stacks: readonly DesiredStack[], snapshotRoot: string, skipped: ChecksumSkip[] = []): Promise<ChecksumEntry[]> {
  const paths = [...new Set(stacks.flatMap(stackInputPaths))].sort();
  const out: ChecksumEntry[] = [];
  const batch = 16;
  for (let i = 0; i < paths.length; i += batch) {
    for (const r of await Promise.all(paths.slice(i, i + batch).map((p) => hashFile(snapshotRoot, p)))) {
      if ('sha256' in r) out.push(r);
      else skipped.push(r);
    }
  }
  return out;
}
