import { scrub } from '../util/scrub.js';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DriftdError, describeError, errnoCode } from '../errors/index.js';
import { SafeDir } from '../util/safe-write.js';

export interface ExportFile {
  /** A plain file name ("drift_report.json"): no folders, no leading dot. */
  name: string;
  content: string;
}

export interface WriteRuntimeExportOptions {
  auditDir: string;
  now: Date;
  files: readonly ExportFile[];
  /** How many export folders to keep, the new one included (config `exportRetention`). Default 200. */
  retention?: number;
  /** A `.tmp-*` folder older than this is stale even if its writer's pid is alive (pid reuse). Default 1 h. */
  staleTmpMs?: number;
  /** Mode of the audit dir, `runtime/` and export folders (config `exportMode`); files get it without execute bits. Default 0o700. */
  mode?: number;
}

export interface RuntimeExportResult {
  /** Absolute path of the new folder, `<auditDir>/runtime/<timestamp>[-n]`. */
  dir: string;
  /** Its name, e.g. "20261121T101500Z" or "20261121T101500Z-1". */
  name: string;
  /** Names of the export folders removed by retention, oldest first. */
  pruned: string[];
}

export const DEFAULT_EXPORT_RETENTION = 200;
const DEFAULT_STALE_TMP_MS = 60 * 60 * 1000;
const TMP_PREFIX = '.tmp-';
const TMP_NAME = /^\.tmp-(\d+)-[0-9a-f]+$/;
const EXPORT_NAME = /^(\d{8}T\d{6}Z)(?:-(\d+))?$/;
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Temp folders this process is writing now: never stale, whatever their age. */
const activeTmp = new Set<string>();

/** `20261121T101500Z`: the UTC time to the second, safe in file names and sorting as text. */
export function exportTimestamp(now: Date): string {
  if (Number.isNaN(now.getTime())) throw new DriftdError('ExportError', 'cannot name the runtime export: the clock gave an invalid date', {});
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

function validate(opts: WriteRuntimeExportOptions): number {
  const retention = opts.retention ?? DEFAULT_EXPORT_RETENTION;
  if (!Number.isInteger(retention) || retention < 1) {
    throw new DriftdError('ExportError', `export retention must be a whole number of at least 1, got ${retention}; fix exportRetention in the config`, { retention });
  }
  const names = new Set<string>();
  for (const f of opts.files) {
    if (!FILE_NAME.test(f.name) || names.has(f.name)) {
      throw new DriftdError('ExportError', `cannot write export file "${f.name}": names must be unique plain file names; this is a bug, please report it`, { name: f.name });
    }
    names.add(f.name);
  }
  return retention;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}

/** A temp folder is stale when its writer is gone (or is us, not writing it), or it is older than `maxAgeMs`. */
function isStaleTmp(dir: SafeDir, name: string, maxAgeMs: number, nowMs: number): boolean {
  const m = TMP_NAME.exec(name);
  if (!m) return true;
  const pid = Number(m[1]);
  if (pid === process.pid ? !activeTmp.has(name) : !processAlive(pid)) return true;
  // Undefined: its writer renamed or removed it meanwhile.
  const st = dir.lstat(name);
  return st !== undefined && nowMs - st.mtimeMs > maxAgeMs;
}

/** Removes `.tmp-*` folders left by a writer that crashed. */
function removeStaleTmp(runtime: SafeDir, maxAgeMs: number): void {
  const nowMs = Date.now();
  for (const d of runtime.list()) {
    if (d.name.startsWith(TMP_PREFIX) && isStaleTmp(runtime, d.name, maxAgeMs, nowMs)) runtime.remove(d.name);
  }
}

function exportOrder(a: string, b: string): number {
  const ma = EXPORT_NAME.exec(a);
  const mb = EXPORT_NAME.exec(b);
  const ta = ma?.[1] ?? '';
  const tb = mb?.[1] ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return Number(ma?.[2] ?? -1) - Number(mb?.[2] ?? -1);
}

/** Keeps the newest `retention` export folders (the one just written always among them); returns the removed names. */
function prune(runtime: SafeDir, keep: string, retention: number): string[] {
  const others = runtime
    .list()
    .filter((e) => e.isDirectory() && e.name !== keep && EXPORT_NAME.test(e.name))
    .map((e) => e.name)
    .sort(exportOrder);
  const doomed = others.slice(0, Math.max(0, others.length - (retention - 1)));
  for (const name of doomed) runtime.remove(name);
  return doomed;
}

/** Renames the finished temp folder to the first free `<timestamp>[-n]` name. */
function publish(runtime: SafeDir, tmp: string, base: string): string {
  for (let n = 0; n < 1000; n++) {
    const name = n === 0 ? base : `${base}-${n}`;
    if (runtime.lstat(name)) continue;
    try {
      runtime.rename(tmp, runtime, name);
      return name;
    } catch (e) {
      // Another writer took the name between the check and the rename.
      if (!['EEXIST', 'ENOTEMPTY', 'ENOTDIR'].includes(errnoCode(e) ?? '')) throw e;
    }
  }
  throw new DriftdError('ExportError', `cannot name the runtime export: ${base} and its 999 suffixes are taken in ${runtime.path}; prune old exports`, { runtimeDir: runtime.path });
}

/**
 * Writes `<auditDir>/runtime/<UTC timestamp>/` complete or not at all (docs/design.md §4): the files go
 * into a `.tmp-<pid>-<random>` folder beside it, each fsynced, and the folder is renamed into
 * place. A name already taken gets a `-1`, `-2`… suffix. Afterwards it removes temp folders left
 * by crashed writers and the oldest export folders beyond `retention`.
 * Throws ExportError (exit 1) naming the folder when the disk refuses; nothing half-written remains.
 */
export async function writeRuntimeExport(opts: WriteRuntimeExportOptions): Promise<RuntimeExportResult> {
  const retention = validate(opts);
  const base = exportTimestamp(opts.now);
  const runtimeDir = path.resolve(opts.auditDir, 'runtime');
  const tmpName = `${TMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`;
  activeTmp.add(tmpName);
  const dirMode = opts.mode ?? 0o700;
  const fileMode = dirMode & 0o666;
  let runtime: SafeDir | undefined;
  let name: string;
  try {
    const audit = SafeDir.openRoot(opts.auditDir, { create: dirMode });
    try {
      runtime = audit.openDir('runtime', { create: dirMode });
    } finally {
      audit.close();
    }
    removeStaleTmp(runtime, opts.staleTmpMs ?? DEFAULT_STALE_TMP_MS);
    runtime.mkdir(tmpName, dirMode);
    const tmp = runtime.openDir(tmpName);
    try {
      for (const f of opts.files) await tmp.writeFileAsync(f.name, scrub(f.content), { mode: fileMode, sync: true });
      tmp.sync();
    } finally {
      tmp.close();
    }
    name = publish(runtime, tmpName, base);
    runtime.sync();
  } catch (e) {
    try {
      runtime?.remove(tmpName);
    } catch {
      // Best effort: a stale temp folder is removed by the next export.
    }
    runtime?.close();
    if (e instanceof DriftdError && e.code === 'ExportError') throw e;
    throw new DriftdError('ExportError', `cannot write the runtime export in ${runtimeDir}: ${describeError(e)}; check free space and permissions`, { runtimeDir }, { cause: e });
  } finally {
    activeTmp.delete(tmpName);
  }
  let pruned: string[];
  try {
    pruned = prune(runtime, name, retention);
  } catch (e) {
    throw new DriftdError('ExportError', `wrote ${path.join(runtimeDir, name)} but could not prune old exports: ${describeError(e)}; check permissions`, { runtimeDir, dir: path.join(runtimeDir, name) }, { cause: e });
  } finally {
    runtime.close();
  }
  return { dir: path.join(runtimeDir, name), name, pruned };
}
