/**
 * File-system failures of the data dir as one sentence that names the path and the cause:
 * a bare "ENOSPC: no space left on device, write" names neither the file nor what to do.
 */
import { statfsSync } from 'node:fs';
import path from 'node:path';
import { DriftdError, errnoCode, isDriftdError } from '../errors/index.js';

const CAUSES: Record<string, [string, string]> = {
  ENOSPC: ['the disk is full', 'free disk space on that file system'],
  EDQUOT: ['the disk quota is exhausted', 'free space or raise the quota'],
  EROFS: ['the file system is read-only', 'remount it read-write or move the data dir'],
  EIO: ['the disk reported an I/O error', 'check the disk and the file system'],
  EACCES: ['permission denied', 'check the owner and mode of the data dir'],
  EPERM: ['permission denied', 'check the owner and mode of the data dir'],
};

/** True when the file system holding `target` (or its nearest existing parent) has no space left for this user. */
export function diskFull(target: string): boolean {
  let dir = target;
  for (;;) {
    try {
      const s = statfsSync(dir);
      return s.bavail === 0;
    } catch {
      const up = path.dirname(dir);
      if (up === dir) return false;
      dir = up;
    }
  }
}

/** `e` from writing `file` → a FileSystemError naming the file and the cause; other errors pass unchanged. */
export function fileSystemError(target: string, doing: string, e: unknown): unknown {
  if (isDriftdError(e)) return e;
  const code = errnoCode(e);
  // Node names the file for open/mkdir failures, not for write(2): prefer its path when it has one.
  const errPath = (e as NodeJS.ErrnoException | undefined)?.path;
  const file = typeof errPath === 'string' && errPath !== '' ? errPath : target;
  if (typeof code !== 'string') return e;
  const known = CAUSES[code];
  if (!known) return e;
  // EIO while the file system has no space left is the full disk, not a broken one.
  const [cause, advice] = code === 'EIO' && diskFull(file) ? CAUSES.ENOSPC! : known;
  const reason = cause === CAUSES.ENOSPC![0] ? 'disk-full' : code;
  return new DriftdError('FileSystemError', `cannot ${doing} ${file}: ${cause} (${code}); ${advice}`, { path: file, code, reason }, { cause: e });
}
