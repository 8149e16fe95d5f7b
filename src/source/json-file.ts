/** Small JSON state files under the data dir: validated on read, replaced atomically on write. */
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { writeFileAtomic } from '../util/safe-write.js';

/** The file's validated content, or undefined when it does not exist. Throws when it is unreadable or invalid. */
export async function readJsonFile<S extends z.ZodType>(file: string, schema: S): Promise<z.infer<S> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
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
export function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
  return Promise.resolve();
}
