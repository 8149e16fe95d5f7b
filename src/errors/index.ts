/**
 * Every failure the user can see is a DriftdError with a stable `code`, a `data` payload
 * and a one-sentence message that says what to do next. The CLI maps `exitCode` to the
 * process exit status and prints only `message` (the stack only at --log-level debug).
 */

/** Where a stack-load problem is and the bare sentence (the message adds "file:line: " in front). */
export interface LoadErrorData {
  stack?: string;
  /** Repo-relative file. */
  file?: string;
  /** 1-based line. */
  line?: number;
  /** Path in the YAML model ("services", "web", "ports", 0); used to find the line after merging. */
  path?: (string | number)[];
  /** The sentence without the location prefix (what StackLoadError.message carries). */
  reason: string;
}

/** Why the state database could not be used (data.reason of a StateError). */
export type StateErrorReason = 'invalid-row' | 'disk-full' | 'missing' | 'no-wal' | 'empty' | 'older-schema' | 'newer-schema';

/**
 * The `data` each code carries: `new DriftdError(code, message, data)` is checked against it, and
 * `isDriftdError(e) && e.code === 'X'` gives `e.data` its type without a cast. Keys are what
 * JSON output and the audit trail show, so they are stable like the codes.
 */
export interface ErrorDataMap {
  UsageError: { input?: string };
  ConfigError: { key?: string; reason?: string; file?: string; line?: number; address?: string; repo?: string; hub?: string };
  DockerUnreachable: { address: string; operation?: string; reason?: string };
  DockerApiError: { address: string; operation: string; status?: number; path?: string };
  ComposeNotFound: { command: string | readonly string[]; version?: string; tried?: string[] };
  ComposeFailed: { action: string; project: string; code: number; timedOut: boolean; cause?: string; stderr: string };
  GitUnreachable: { repo: string; reason: string };
  GitAuthRefused: { repo: string; status?: number };
  GitRefNotFound: { repo?: string; ref?: string; commit?: string; oid?: string; range?: string; prefix?: string | null };
  RepoNotFound: { repo?: string; root?: string };
  InvalidStackName: { stack?: string } & Partial<LoadErrorData>;
  InvalidRef: { revision?: string; stack?: string; oid?: string; name?: string; range?: string; commit?: string };
  ComposeLoadError: LoadErrorData;
  InterpolationError: LoadErrorData;
  YamlError: LoadErrorData;
  SchemaError: LoadErrorData;
  UnsafePath: Partial<LoadErrorData>;
  FileTooLarge: Partial<LoadErrorData>;
  StateError: {
    file?: string;
    doing?: string;
    reason?: StateErrorReason;
    /** SQLite's or the OS's code (SQLITE_FULL, ENOSPC). */
    code?: string;
    found?: number;
    known?: number;
    id?: number;
    what?: string;
    issues?: unknown[];
  };
  LockBusy: { name: string; file: string; pid?: number; since?: string };
  RegistryError: { image: string; reason?: string; registry?: string; platform?: string; offered?: string[]; status?: number; [key: string]: unknown };
  InvalidImageRef: { ref: string; reason: string };
  InvalidLockFile: { file: string; reason: string; line?: number };
  LockWriteError: { file: string };
  ExportError: { [key: string]: unknown };
  FileSystemError: { path: string; code: string; reason: string };
  NotFound: { stack?: string } & Partial<LoadErrorData>;
  /** The refused verdict without its message (verify/model.ts RevisionVerdict). */
  RevisionUnverified: { reason: string; commit: string; ref?: string; fingerprint?: string; object?: string; [key: string]: unknown };
  Internal: { name?: string };
}

export type ErrorCode = keyof ErrorDataMap;

type ErrorOptions = { cause?: unknown; exitCode?: number };
/** `data` may be left out only for codes whose fields are all optional. */
type DataArgs<C extends ErrorCode> = object extends ErrorDataMap[C] ? [data?: ErrorDataMap[C], options?: ErrorOptions] : [data: ErrorDataMap[C], options?: ErrorOptions];

export class DriftdError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly data: ErrorDataMap[C];
  readonly exitCode: number;

  constructor(code: C, message: string, ...[data, options = {}]: DataArgs<C>) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = code;
    this.code = code;
    this.data = data ?? ({} as ErrorDataMap[C]);
    this.exitCode = options.exitCode ?? 1;
  }
}

/** One DriftdError per code: checking `code` narrows `data`. */
export type AnyDriftdError = { [C in ErrorCode]: DriftdError<C> }[ErrorCode];

export const isDriftdError = (e: unknown): e is AnyDriftdError => e instanceof DriftdError;

/** True when `data` says where a stack-load problem is (LoadErrorData). */
export function isLoadErrorData(data: unknown): data is LoadErrorData {
  return typeof data === 'object' && data !== null && typeof (data as { reason?: unknown }).reason === 'string';
}

/** A stack-load problem: whatever its code, its data says where it is. */
export type LoadError = AnyDriftdError & { readonly data: LoadErrorData };

/**
 * The loader keeps the code a problem was thrown with (an UnsafePath stays UnsafePath) and gives
 * it a location: the one place a payload is set without its code known statically.
 */
export function loadError(code: ErrorCode, message: string, data: LoadErrorData): LoadError {
  return new DriftdError(code, message, data) as LoadError;
}

/** The same error with a longer message and the last revision driftd could read (a source failure). */
export function withLastKnown(e: AnyDriftdError, message: string, lastKnown: unknown): AnyDriftdError {
  return new DriftdError(e.code, message, { ...e.data, ...(lastKnown !== undefined ? { lastKnown } : {}) }, { cause: e }) as AnyDriftdError;
}

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
