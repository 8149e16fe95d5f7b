import type { z } from 'zod';
import { composeError, formatPath, type Where } from './errors.js';

/** The first zod issue as a clear SchemaError naming the file, the key and (when known) the line. */
export function schemaError(error: z.ZodError, file: string, lineOf?: (path: (string | number)[]) => number | undefined) {
  const issue = error.issues[0];
  const path = (issue?.path ?? []).filter((p): p is string | number => typeof p !== 'symbol');
  let key = formatPath(path) || '(top level)';
  let reason = issue?.message ?? 'invalid';
  let at = path;
  if (issue?.code === 'unrecognized_keys') {
    const first = issue.keys[0] ?? '';
    key = formatPath([...path, first]);
    at = [...path, first];
    reason = `unknown key${issue.keys.length > 1 ? `s ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}` : ''}`;
  }
  const line = lineOf?.(at);
  const where: Where = { file, ...(line !== undefined ? { line } : {}) };
  return composeError('SchemaError', `${key}: ${reason}`, where);
}
