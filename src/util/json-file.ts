/** Small JSON state files under the data dir: validated on read, replaced atomically on write. */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { fileSystemError } from './fs-errors.js';
import { writeFileAtomic } from './safe-write.js';
import { errnoCode } from '../errors/index.js';

/** The file's validated content, or undefined when it does not exist. Throws when it is unreadable or invalid. */
export async function readJsonFile<S extends z.ZodType>(file: string, schema: S): Promise<z.infer<S> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new Error(`${file} has an unexpected format: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** Replaces `file` atomically with the safe writer (mode 0600): readers see the old or the new content, never half. */
// eslint-disable-next-line @typescript-eslint/require-await -- async so that a throw is a rejection, as callers expect
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  try {
    writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
  } catch (e) {
    // The safe writer removed its temp file; say which file and why (a bare ENOSPC names neither).
    throw fileSystemError(file, 'write', e);
  }
}

/** Temp files of the safe writer (`.driftd-tmp-<hex>`) and of older driftd versions (`<file>.<pid>.<hex>.tmp`). */
const TEMP_NAME = /^\.driftd-tmp-[0-9a-f]+$|\.\d+\.[0-9a-f]{8}\.tmp$/;
/** Older than this, no writer is still busy with it (a write takes milliseconds). */
const STALE_TEMP_MS = 60_000;

/**
 * Removes temp files in `dir` that a write interrupted by a kill or a full disk left behind;
 * run under the reconcile lock at the start of a sync. Returns the names removed.
 */
export async function removeStaleTempFiles(dir: string, now = Date.now()): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names.filter((n) => TEMP_NAME.test(n))) {
    const full = path.join(dir, name);
    const st = await stat(full).catch(() => undefined);
    if (!st?.isFile() || now - st.mtimeMs < STALE_TEMP_MS) continue;
    await rm(full, { force: true }).catch(() => undefined);
    removed.push(name);
  }
  return removed;
}
