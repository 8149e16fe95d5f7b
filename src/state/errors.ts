import Database from 'better-sqlite3';
import { ZodError } from 'zod';
import path from 'node:path';
import { DriftdError, isDriftdError, describeError, errnoCode } from '../errors/index.js';
import { diskFull } from '../util/fs-errors.js';

const ADVICE: [RegExp, string, string][] = [
  [
    /^SQLITE_(NOTADB|CORRUPT)/,
    'is corrupt or not a SQLite database',
    'stop driftd, move the file aside (driftd then starts with an empty state) or restore it from a backup',
  ],
  [/^(SQLITE_CANTOPEN|ENOTDIR|EEXIST|ENOENT)/, 'cannot be opened', 'check that the data dir exists and is readable and writable by this user'],
  [/^(SQLITE_(READONLY|PERM|AUTH)|EACCES|EPERM|EROFS)/, 'cannot be written', 'check the permissions of the data dir and its files, or run driftd as their owner'],
  [/^(SQLITE_FULL|ENOSPC)/, 'cannot grow: the disk is full', 'free disk space on the data dir’s file system'],
  [/^SQLITE_(BUSY|LOCKED)/, 'is busy', 'another driftd holds it too long; retry when it has finished'],
  [/^SQLITE_IOERR/, 'had an I/O error', 'check the disk and the file system of the data dir'],
];

/** Any failure of a state-database call → a StateError naming the file and what to do next. */
export function toStateError(file: string, doing: string, e: unknown): DriftdError {
  if (isDriftdError(e)) return e;
  if (e instanceof ZodError) {
    const issue = e.issues[0];
    const where = issue ? `${issue.path.join('.') || 'row'}: ${issue.message}` : e.message;
    return new DriftdError(
      'StateError',
      `state database ${file} holds a row driftd cannot read while ${doing} (${where}): it was edited by hand or by another driftd version; restore a backup or move it aside`,
      { file, doing, reason: 'invalid-row' },
      { cause: e },
    );
  }
  // SQLite result codes, or Node's errno codes for the data dir itself.
  const code = e instanceof Database.SqliteError ? e.code : errnoCode(e);
  const detail = describeError(e);
  // SQLite reports a write into a full file system as a bare "disk I/O error" (SQLITE_IOERR_*) as
  // often as SQLITE_FULL: look at the file system before blaming the disk itself.
  const full = code !== undefined && /^(SQLITE_IOERR|SQLITE_FULL|ENOSPC)/.test(code) && diskFull(path.dirname(file));
  const [, problem, advice] = (full ? ADVICE.find(([re]) => re.test('SQLITE_FULL')) : undefined) ?? ADVICE.find(([re]) => code !== undefined && re.test(code)) ?? [
    undefined,
    'failed',
    'run `driftd` with --log-level debug and report the error',
  ];
  return new DriftdError('StateError', `state database ${file} ${problem} (${detail}) while ${doing}: ${advice}`, {
    file,
    doing,
    code,
    ...(full ? { reason: 'disk-full' } : {}),
  }, { cause: e });
}
