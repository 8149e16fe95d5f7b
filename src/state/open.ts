import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DriftdError } from '../errors/index.js';
import { toStateError } from './errors.js';
import { assertNotNewer, migrate, schemaVersion, SCHEMA_VERSION } from './migrations.js';
import { StateStore } from './store.js';

export const STATE_FILE = 'state.db';

export interface OpenStateOptions {
  /** For commands that only read (status, history): nothing is created, migrated or written. */
  readonly?: boolean;
  /** The clock for every timestamp written; tests inject their own. */
  now?: () => Date;
  /** How long a write waits for another process's write transaction (default 5 s). */
  busyTimeoutMs?: number;
}

/**
 * How long opening waits for other driftd processes (default 60 s). Opening is rare and may have to
 * wait for another process's whole migration or its creation of the file; on a host busy with
 * image pulls those fsyncs took longer than the 5 s a running write waits (seen: "database is
 * locked" while four processes opened a fresh data dir at once).
 */
export const OPEN_BUSY_TIMEOUT_MS = 60_000;

export function statePath(dataDir: string): string {
  return path.join(dataDir, STATE_FILE);
}

/**
 * Opens `<dataDir>/state.db`: creates the data dir (0700) and the database when missing,
 * switches to WAL, applies pending migrations. Throws a StateError naming the file when it is
 * missing (read-only), corrupt, unreadable, or from a newer (or, read-only, older) driftd.
 */
export function openState(dataDir: string, opts: OpenStateOptions = {}): StateStore {
  const file = statePath(dataDir);
  const readonly = opts.readonly === true;
  if (readonly && !existsSync(file)) {
    throw new DriftdError(
      'StateError',
      `no state database at ${file} yet: nothing was synced with this data dir (check --data-dir, or run \`driftd sync\` first)`,
      { file, reason: 'missing' },
    );
  }
  refuseEmptyFile(file);
  // SQLite's busy_timeout does not cover every wait: when two processes switch a fresh file to WAL
  // at once, the one that read page 1 first and then finds the other holding RESERVED gets
  // SQLITE_BUSY at once (waiting could deadlock, so SQLite does not). The whole open is idempotent,
  // so it is retried until OPEN_BUSY_TIMEOUT_MS has passed.
  const deadline = Date.now() + OPEN_BUSY_TIMEOUT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return openOnce(file, dataDir, opts);
    } catch (e) {
      if (!isBusy(e) || Date.now() >= deadline) throw toStateError(file, 'opening it', e);
      Atomics.wait(SLEEPER, 0, 0, Math.min(200, 10 * attempt) + Math.floor(Math.random() * 20));
    }
  }
}

function isBusy(e: unknown): boolean {
  return e instanceof Database.SqliteError && /^SQLITE_BUSY/.test(e.code);
}

function openOnce(file: string, dataDir: string, opts: OpenStateOptions): StateStore {
  const readonly = opts.readonly === true;
  let db: Database.Database | undefined;
  try {
    if (!readonly) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    db = new Database(file, { readonly, fileMustExist: readonly });
    const writeBusyMs = Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000));
    db.pragma(`busy_timeout = ${Math.max(writeBusyMs, OPEN_BUSY_TIMEOUT_MS)}`);
    if (readonly) {
      checkReadableVersion(schemaVersion(db), file);
    } else {
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') {
        throw new DriftdError(
          'StateError',
          `state database ${file} cannot use WAL mode (it stays in "${String(mode)}" mode): put the data dir on a local file system`,
          { file, reason: 'no-wal' },
        );
      }
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      migrate(db, file);
    }
    db.pragma(`busy_timeout = ${writeBusyMs}`);
    return new StateStore(db, file, opts.now ?? (() => new Date()));
  } catch (e) {
    db?.close();
    throw e;
  }
}

const EMPTY_GRACE_MS = 3000;
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

/**
 * SQLite takes a 0-byte file for a new, empty database. driftd never leaves one (it writes its
 * schema at creation), so an empty state.db was truncated: starting over silently would forget
 * every deployment, pin and failed revision.
 */
function refuseEmptyFile(file: string): void {
  const size = (): number | undefined => {
    try {
      return statSync(file).size;
    } catch {
      return undefined;
    }
  };
  if (size() !== 0) return;
  // Another driftd creating the database right now leaves it at 0 bytes for a moment (between
  // SQLite's open and its first write): an empty file that grows is that, not a truncated one.
  const until = Date.now() + EMPTY_GRACE_MS;
  while (Date.now() < until) {
    Atomics.wait(SLEEPER, 0, 0, 50);
    if (size() !== 0) return;
  }
  throw new DriftdError(
    'StateError',
    `state database ${file} is empty (0 bytes): it was truncated, and driftd will not silently start over without its history, pins and failed revisions; restore it from a backup, or move it aside to start with an empty state (a running agent does that itself and re-records the live stacks)`,
    { file, reason: 'empty' },
  );
}

/**
 * Moves a broken state.db (and its -wal/-shm) aside as `state.db.<why>-<time>` so that a new one can
 * be created; returns the new name. The agent uses it after it logged why.
 */
export function moveStateAside(dataDir: string, why: string, now = new Date()): string | undefined {
  const file = statePath(dataDir);
  const aside = `${file}.${why}-${now.toISOString().replace(/[:.]/g, '')}`;
  let moved: string | undefined;
  for (const suffix of ['', '-wal', '-shm']) {
    try {
      renameSync(`${file}${suffix}`, `${aside}${suffix}`);
      if (suffix === '') moved = aside;
    } catch {
      // absent
    }
  }
  return moved;
}

function checkReadableVersion(found: number, file: string): void {
  assertNotNewer(found, SCHEMA_VERSION, file);
  if (found < SCHEMA_VERSION) {
    throw new DriftdError(
      'StateError',
      `state database ${file} has an older schema (${found}, this driftd needs ${SCHEMA_VERSION}): run a driftd command that writes (e.g. \`driftd sync --dry-run\`) once to upgrade it`,
      { file, found, known: SCHEMA_VERSION, reason: 'older-schema' },
    );
  }
}
