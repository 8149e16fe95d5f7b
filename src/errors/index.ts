/**
 * Every failure the user can see is a DriftdError with a stable `code`, a `data` payload
 * and a one-sentence message that says what to do next. The CLI maps `exitCode` to the
 * process exit status and prints only `message` (the stack only at --log-level debug).
 */
export type ErrorCode =
  | 'UsageError'
  | 'ConfigError'
  | 'NotImplemented'
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

export function usageError(message: string): DriftdError {
  return new DriftdError('UsageError', message);
}

export function configError(key: string, reason: string, file?: string): DriftdError {
  const where = file ? ` in ${file}` : '';
  return new DriftdError('ConfigError', `invalid config${where}: ${key}: ${reason}`, { key, reason, file });
}

export function notImplemented(command: string): DriftdError {
  return new DriftdError('NotImplemented', `driftd ${command}: not implemented yet`, { command });
}

/** Any error → one sentence for the user. Unknown errors keep their message, never a stack. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
