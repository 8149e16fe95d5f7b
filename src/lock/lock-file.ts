/**
 * `locks/<stack>.lock.json` (docs/design.md §5): validated on read, written deterministically
 * (sorted keys, two-space indent, trailing newline), atomically, and only when the bytes change.
 */
import { own } from '../util/dict.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { dictOf } from '../util/dict-schema.js';
import type { LockEntry, LockFile } from './model.js';
import { DriftdError, describeError, errnoCode } from '../errors/index.js';
import { stableStringify } from '../util/hash.js';
import { SafeDir } from '../util/safe-write.js';
import { DIGEST, normalizeImageRef } from '../image/reference.js';

const STACK_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const lockEntrySchema = z
  .object({
    digest: z.string().regex(DIGEST, 'not a digest (algorithm:hex)'),
    platform: z
      .string()
      .regex(/^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/, 'not a platform (os/arch[/variant])')
      .optional(),
    indexDigest: z.string().regex(DIGEST, 'not a digest (algorithm:hex)').optional(),
  })
  .strict();

export const lockFileSchema = z
  .object({
    version: z.literal(1),
    stack: z.string().regex(STACK_NAME, 'not a valid stack name'),
    composeSha256: z.string().regex(/^(?:sha256:)?[a-f0-9]{64}$/, 'not a sha256'),
    images: dictOf(z.string().min(1), lockEntrySchema),
  })
  .strict();

/** Repo-relative path of a stack's lock file. */
export function lockFilePath(stack: string): string {
  return `locks/${stack}.lock.json`;
}

function lineOfPosition(text: string, message: string): number | undefined {
  const m = /position (\d+)/.exec(message);
  if (!m) return undefined;
  return text.slice(0, Number(m[1])).split('\n').length;
}

function invalidLock(file: string, reason: string, line?: number): DriftdError {
  const where = line !== undefined ? `${file}:${line}` : file;
  return new DriftdError('InvalidLockFile', `${where}: ${reason}; fix the file or regenerate it with driftd lock`, {
    file,
    reason,
    ...(line !== undefined ? { line } : {}),
  });
}

/**
 * Parses and validates a lock file's text. `file` is the repo-relative path used in messages;
 * `stack` (when given) must match the file's `stack`.
 */
export function parseLockFile(text: string, file: string, stack?: string): LockFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw invalidLock(file, `not valid JSON (${describeError(e)})`, lineOfPosition(text, describeError(e)));
  }
  const parsed = lockFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    throw invalidLock(file, `${at}: ${issue?.message ?? 'invalid'}`);
  }
  if (stack !== undefined && parsed.data.stack !== stack) {
    throw invalidLock(file, `it is the lock of stack "${parsed.data.stack}", not "${stack}"`);
  }
  return parsed.data;
}

/** The one byte form of a lock: sorted keys at every level, two-space indent, trailing newline. */
export function renderLockFile(lock: LockFile): string {
  return `${stableStringify(lock, 2)}\n`;
}

/** Reads `<root>/locks/<stack>.lock.json`; undefined when the file does not exist. */
export async function readLockFile(root: string, stack: string): Promise<LockFile | undefined> {
  const rel = lockFilePath(stack);
  let text: string;
  try {
    text = await readFile(path.join(root, rel), 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw invalidLock(rel, `cannot be read (${errnoCode(e) ?? describeError(e)})`);
  }
  return parseLockFile(text, rel, stack);
}

/**
 * Writes the lock atomically (temp file in the same folder, then rename) unless the file already
 * holds exactly these bytes. Returns whether it wrote.
 */
export async function writeLockFile(root: string, lock: LockFile): Promise<'written' | 'unchanged'> {
  const rel = lockFilePath(lock.stack);
  const target = path.join(root, rel);
  const bytes = Buffer.from(renderLockFile(lock), 'utf8');
  try {
    const current = await readFile(target).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (current?.equals(bytes)) return 'unchanged';
    // The checkout is the operator's, but its content is the repo's: a `locks` symlink is not followed.
    const repo = SafeDir.openRoot(root);
    try {
      repo.withDir('locks', { create: 0o700 }, (d) => d.writeFile(path.basename(target), bytes, { mode: 0o600 }));
    } finally {
      repo.close();
    }
    return 'written';
  } catch (e) {
    throw new DriftdError('LockWriteError', `cannot write ${rel} under ${root}: ${errnoCode(e) ?? describeError(e)}; check that locks/ is a writable folder`, {
      file: rel,
    });
  }
}

/** The entry for an image: the key as written first, then any key naming the same image. */
export function findLockEntry(lock: LockFile | undefined, image: string): LockEntry | undefined {
  if (!lock) return undefined;
  const exact = own(lock.images, image);
  if (exact) return exact;
  let wanted: string;
  try {
    wanted = normalizeImageRef(image);
  } catch {
    return undefined;
  }
  for (const [key, entry] of Object.entries(lock.images)) {
    try {
      if (normalizeImageRef(key) === wanted) return entry;
    } catch {
      // A key that is not an image reference names nothing.
    }
  }
  return undefined;
}
