import { describeError, isDriftdError, isLoadErrorData, loadError, type ErrorCode, type LoadError, type LoadErrorData } from '../errors/index.js';
import type { StackLoadError } from './model.js';

/** Where a problem is: a repo-relative file, a 1-based line, and the path inside the compose model. */
export interface Where {
  file?: string;
  line?: number;
  /** Path in the YAML model ("services", "web", "ports", 0); used to find the line after merging. */
  path?: (string | number)[];
}

/** What a load error carries (errors/index.ts LoadErrorData). */
export type ComposeErrorData = LoadErrorData;

export function formatLocation(where: Where): string {
  if (!where.file) return '';
  return where.line !== undefined ? `${where.file}:${where.line}` : where.file;
}

/**
 * A load problem. `message` starts with "file:line: " when the location is known, because the
 * CLI prints only the message; `data.reason` holds the bare sentence.
 */
export function composeError(code: ErrorCode, reason: string, where: Where = {}, stack?: string): LoadError {
  const loc = formatLocation(where);
  const data: ComposeErrorData = { reason };
  if (stack !== undefined) data.stack = stack;
  if (where.file !== undefined) data.file = where.file;
  if (where.line !== undefined) data.line = where.line;
  if (where.path !== undefined) data.path = where.path;
  return loadError(code, loc ? `${loc}: ${reason}` : reason, data);
}

/** Re-issues an error with a location filled in (when it had none) and the stack name attached. */
export function withLocation(e: unknown, stack: string, locate?: (path: (string | number)[]) => Where): LoadError {
  if (isDriftdError(e) && isLoadErrorData(e.data)) {
    const data = e.data;
    let where: Where = { ...(data.file !== undefined ? { file: data.file } : {}), ...(data.line !== undefined ? { line: data.line } : {}) };
    if (where.file === undefined && data.path && locate) where = locate(data.path);
    if (data.path) where.path = data.path;
    return composeError(e.code, data.reason, where, stack);
  }
  if (isDriftdError(e)) return composeError(e.code, e.message, {}, stack);
  const message = describeError(e);
  return composeError('ComposeLoadError', `stack ${stack} could not be loaded: ${message}`, {}, stack);
}

export function toStackLoadError(e: unknown, stack: string): StackLoadError {
  const err = withLocation(e, stack);
  const out: StackLoadError = { stack, code: err.code, message: err.data.reason };
  if (err.data.file !== undefined) out.file = err.data.file;
  if (err.data.line !== undefined) out.line = err.data.line;
  return out;
}

/** "stack: file:line: message" for people. */
export function describeStackLoadError(e: StackLoadError): string {
  const loc = formatLocation(e);
  return `${e.stack}: ${loc ? `${loc}: ` : ''}${e.message}`;
}

/** "services.web.ports[0]" */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out;
}
