/**
 * Every failure the user can see is a DriftdError with a stable `code`, a `data` payload
 * and a one-sentence message that says what to do next. The CLI maps `exitCode` to the
 * process exit status and prints only `message` (the stack only at --log-level debug).
 */
export type ErrorCode =
  | 'UsageError'
  | 'ConfigError'
  | 'DockerUnreachable'
  | 'DockerApiError'
  | 'ComposeNotFound'
  | 'ComposeFailed'
  | 'GitUnreachable'
  | 'GitAuthRefused'
  | 'GitRefNotFound'
  | 'RepoNotFound'
  | 'InvalidStackName'
  | 'InvalidRef'
  | 'ComposeLoadError'
  | 'InterpolationError'
  | 'YamlError'
  | 'SchemaError'
  | 'UnsafePath'
  | 'FileTooLarge'
  | 'StateError'
  | 'LockBusy'
  | 'RegistryError'
  | 'InvalidImageRef'
  | 'InvalidLockFile'
  | 'LockWriteError'
  | 'ExportError'
  | 'FileSystemError'
  | 'NotFound'
  | 'RevisionUnverified'
  | 'Internal';

export class DriftdError<D extends object = Record<string, unknown>> extends Error {
  readonly code: ErrorCode;
  readonly data: D;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, data: D = {} as D, options: { cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = code;
    this.code = code;
    this.data = data;
    this.exitCode = options.exitCode ?? 1;
  }
}

export const isDriftdError = (e: unknown): e is DriftdError => e instanceof DriftdError;

export function configError(key: string, reason: string, file?: string): DriftdError {
  const where = file ? ` in ${file}` : '';
  return new DriftdError('ConfigError', `invalid config${where}: ${key}: ${reason}`, { key, reason, file });
}

/** Any error → one sentence for the user (its message; anything else thrown as text), never a stack. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** The `code` of a thrown value (`ENOENT`, `EACCES`, a SQLite or DriftdError code), when it has one. */
export function errnoCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
