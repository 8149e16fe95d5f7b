import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { lazy } from '../util/lazy.js';
import { DriftdError } from '../errors/index.js';
import { writeFileAtomic } from '../util/safe-write.js';
import { toStateError } from './errors.js';
import { identityPid, isProcessAlive, processIdentity } from './process-identity.js';

/**
 * Host-level mutual exclusion across processes (docs/design.md §7: one reconcile at a time per
 * host). Called a mutex in the code so that "lock" means image lock files (src/lock/) only; the
 * user-visible words stay as released: the error code `LockBusy`, its message, and the files
 * `<dataDir>/locks/<name>.lock` (an older driftd on the same data dir must still exclude this one).
 *
 * A mutex is an exclusive SQLite transaction (`BEGIN EXCLUSIVE`) on `<dataDir>/locks/<name>.lock`.
 * SQLite holds it with POSIX record locks, which the kernel drops when the holder dies, even
 * by SIGKILL: there is no stale-lock detection to get wrong and no pid-reuse race. Lock files
 * are never deleted (deleting one while another process waits on its inode would let two
 * holders in). `<name>.owner` beside it tells a waiting command who holds the lock; it is
 * information only, never trusted for exclusion.
 */
export type ReleaseMutex = () => void;

export interface MutexOptions {
  /** Wait until the lock is free (polling, not spinning) instead of failing with LockBusy. */
  wait?: boolean;
  /** With `wait`: give up with LockBusy after this long (default: wait as long as it takes). */
  timeoutMs?: number;
}

const LOCK_NAME = /^[a-z0-9][a-z0-9_.-]{0,127}$/;
const FIRST_POLL_MS = 20;
const MAX_POLL_MS = 250;

/** Holds the open handles so a held lock is never closed by garbage collection. */
const held = new Set<Database.Database>();

const Owner = lazy(() => z.object({ identity: z.string(), host: z.string(), since: z.string() }));
type Owner = z.infer<ReturnType<typeof Owner>>;

export function mutexPath(dataDir: string, name: string): string {
  return path.join(dataDir, 'locks', `${name}.lock`);
}

/**
 * Takes the lock `name` (e.g. "reconcile", "stack-edge") and resolves to its release
 * function (idempotent). Throws LockBusy when it is held and `wait` is false, or when
 * `timeoutMs` passes; a lock in the same process is as busy as one in another process.
 */
export async function acquireHostMutex(dataDir: string, name: string, opts: MutexOptions = {}): Promise<ReleaseMutex> {
  if (!LOCK_NAME.test(name)) {
    throw new DriftdError('Internal', `invalid lock name "${name}": use lower-case letters, digits, ".", "_" and "-"`, { name });
  }
  const file = mutexPath(dataDir, name);
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  } catch (e) {
    throw toStateError(file, 'creating the locks directory', e);
  }
  const deadline = opts.wait ? Date.now() + (opts.timeoutMs ?? Infinity) : 0;
  for (let pause = FIRST_POLL_MS; ; pause = Math.min(MAX_POLL_MS, Math.ceil(pause * 1.5))) {
    const release = tryLock(file);
    if (release) return release;
    const left = deadline - Date.now();
    if (left <= 0) throw busy(name, file, opts.wait === true);
    await sleep(Math.min(pause, left));
  }
}

function tryLock(file: string): ReleaseMutex | undefined {
  let db: Database.Database | undefined;
  try {
    db = new Database(file);
    db.pragma('busy_timeout = 0');
    db.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    db?.close();
    if (e instanceof Database.SqliteError && /^SQLITE_(BUSY|LOCKED)/.test(e.code)) return undefined;
    if (e instanceof Database.SqliteError && e.code === 'SQLITE_NOTADB') {
      throw new DriftdError('StateError', `lock file ${file} is damaged: delete it while no driftd is running`, { file }, { cause: e });
    }
    throw toStateError(file, 'taking a lock', e);
  }
  held.add(db);
  writeOwner(file);
  const lock = db;
  return () => {
    if (!held.delete(lock)) return;
    // The owner file goes first, while the lock still keeps the next holder from writing its own.
    rmSync(ownerPath(file), { force: true });
    lock.exec('ROLLBACK');
    lock.close();
  };
}

function ownerPath(file: string): string {
  return file.replace(/\.lock$/, '.owner');
}

function writeOwner(file: string): void {
  const owner: Owner = { identity: processIdentity(), host: hostname(), since: new Date().toISOString() };
  try {
    writeFileAtomic(ownerPath(file), `${JSON.stringify(owner)}\n`);
  } catch {
    // Only used for messages; the lock itself is held.
  }
}

function readOwner(file: string): Owner | undefined {
  try {
    const parsed = Owner().safeParse(JSON.parse(readFileSync(ownerPath(file), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function busy(name: string, file: string, waited: boolean): DriftdError {
  const owner = readOwner(file);
  const pid = owner ? identityPid(owner.identity) : undefined;
  const holder =
    owner && pid !== undefined && (owner.host !== hostname() || isProcessAlive(owner.identity))
      ? ` (pid ${pid}${owner.host === hostname() ? '' : ` on ${owner.host}`} since ${owner.since})`
      : '';
  const what = waited ? `timed out waiting for lock "${name}", held` : `lock "${name}" is held`;
  return new DriftdError(
    'LockBusy',
    `${what} by another driftd run${holder}: wait for it to finish and retry`,
    { name, file, pid, since: owner?.since },
  );
}
