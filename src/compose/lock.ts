import { z } from 'zod';
import type { LockFile } from './model.js';
import { composeError } from './errors.js';
import { schemaError } from './schema-error.js';

const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/, 'must be "sha256:" followed by 64 lowercase hex digits');

/** DESIGN §5: `locks/<stack>.lock.json`. Shared by the reader here and the lock writer. */
export const lockEntrySchema = z
  .object({
    digest,
    platform: z.string().min(1).optional(),
    indexDigest: digest.optional(),
  })
  .strict();

export const lockFileSchema = z
  .object({
    version: z.literal(1),
    stack: z.string().min(1),
    composeSha256: z.string().regex(/^[a-f0-9]{64}$/, 'must be 64 lowercase hex digits'),
    images: z.record(z.string().min(1), lockEntrySchema),
  })
  .strict();

export function lockPath(stack: string): string {
  return `locks/${stack}.lock.json`;
}

function jsonErrorLine(text: string, message: string): number | undefined {
  const pos = /position (\d+)/.exec(message)?.[1];
  if (pos === undefined) return undefined;
  return text.slice(0, Number(pos)).split('\n').length;
}

/** Parses and validates a lock file; every problem is a clear error naming the file. */
export function parseLockFile(text: string, stack: string): LockFile {
  const file = lockPath(stack);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    const line = jsonErrorLine(text, (e as Error).message);
    throw composeError('SchemaError', `${file} is not valid JSON (${(e as Error).message}); regenerate it with \`driftd lock\``, {
      file,
      ...(line !== undefined ? { line } : {}),
    });
  }
  const parsed = lockFileSchema.safeParse(raw);
  if (!parsed.success) throw schemaError(parsed.error, file);
  if (parsed.data.stack !== stack) {
    throw composeError('SchemaError', `${file} says it locks stack ${JSON.stringify(parsed.data.stack)}, not ${JSON.stringify(stack)}; regenerate it with \`driftd lock\``, { file });
  }
  return parsed.data;
}

/**
 * `name:tag@digest` for an image with a lock entry (the platform manifest digest), keyed by the
 * image reference exactly as written after interpolation. References that already carry a
 * digest are left alone.
 */
export function pinnedReference(image: string, lock: LockFile | undefined): string | undefined {
  if (!lock || image.includes('@')) return undefined;
  const entry = lock.images[image];
  return entry ? `${image}@${entry.digest}` : undefined;
}
