/**
 * Lock pinning for the loader. The lock file format and its lookup rules belong to src/lock
 * (one schema for reader and writer); this only turns an entry into the reference to deploy.
 */
import { findLockEntry } from '../lock/lock-file.js';
import type { LockFile } from '../lock/model.js';

/**
 * `name:tag@digest` (the platform manifest digest) for an image with a lock entry — matched as
 * written, or as the same normalized reference. References that already carry a digest are left alone.
 */
export function pinnedReference(image: string, lock: LockFile | undefined): string | undefined {
  if (image.includes('@')) return undefined;
  const entry = findLockEntry(lock, image);
  return entry ? `${image}@${entry.digest}` : undefined;
}
