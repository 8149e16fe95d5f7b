import { randomBytes } from 'node:crypto';
import { access, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DriftdError } from '../errors/index.js';

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

function errorCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : undefined;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
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

async function fsyncPath(p: string): Promise<void> {
  const fh = await open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeDurably(file: string, content: string): Promise<void> {
  const fh = await open(file, 'wx');
  try {
    await fh.writeFile(content, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errorCode(e) === 'EPERM';
  }
}

/** A temp folder is stale when its writer is gone (or is us, not writing it), or it is older than `maxAgeMs`. */
async function isStaleTmp(dir: string, name: string, maxAgeMs: number, nowMs: number): Promise<boolean> {
  const m = TMP_NAME.exec(name);
  if (!m) return true;
  const pid = Number(m[1]);
  if (pid === process.pid ? !activeTmp.has(name) : !processAlive(pid)) return true;
  try {
    const st = await stat(path.join(dir, name));
    return nowMs - st.mtimeMs > maxAgeMs;
  } catch (e) {
    // Its writer renamed or removed it meanwhile.
    if (errorCode(e) === 'ENOENT') return false;
    throw e;
  }
}

/** Removes `.tmp-*` folders left by a writer that crashed. */
async function removeStaleTmp(runtimeDir: string, maxAgeMs: number): Promise<void> {
  const nowMs = Date.now();
  for (const name of await readdir(runtimeDir)) {
    if (name.startsWith(TMP_PREFIX) && (await isStaleTmp(runtimeDir, name, maxAgeMs, nowMs))) {
      await rm(path.join(runtimeDir, name), { recursive: true, force: true });
    }
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
async function prune(runtimeDir: string, keep: string, retention: number): Promise<string[]> {
  const entries = await readdir(runtimeDir, { withFileTypes: true });
  const others = entries
    .filter((e) => e.isDirectory() && e.name !== keep && EXPORT_NAME.test(e.name))
    .map((e) => e.name)
    .sort(exportOrder);
  const doomed = others.slice(0, Math.max(0, others.length - (retention - 1)));
  for (const name of doomed) await rm(path.join(runtimeDir, name), { recursive: true, force: true });
  return doomed;
}

/** Renames the finished temp folder to the first free `<timestamp>[-n]` name. */
async function publish(runtimeDir: string, tmp: string, base: string): Promise<string> {
  for (let n = 0; n < 1000; n++) {
    const name = n === 0 ? base : `${base}-${n}`;
    const target = path.join(runtimeDir, name);
    if (await exists(target)) continue;
    try {
      await rename(tmp, target);
      return name;
    } catch (e) {
      // Another writer took the name between the check and the rename.
      if (!['EEXIST', 'ENOTEMPTY', 'ENOTDIR'].includes(errorCode(e) ?? '')) throw e;
    }
  }
  throw new DriftdError('ExportError', `cannot name the runtime export: ${base} and its 999 suffixes are taken in ${runtimeDir}; prune old exports`, { runtimeDir });
}

/**
 * Writes `<auditDir>/runtime/<UTC timestamp>/` complete or not at all (DESIGN §4): the files go
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
  const tmp = path.join(runtimeDir, tmpName);
  activeTmp.add(tmpName);
  let name: string;
  try {
    await mkdir(runtimeDir, { recursive: true });
    await removeStaleTmp(runtimeDir, opts.staleTmpMs ?? DEFAULT_STALE_TMP_MS);
    await mkdir(tmp);
    for (const f of opts.files) await writeDurably(path.join(tmp, f.name), f.content);
    await fsyncPath(tmp);
    name = await publish(runtimeDir, tmp, base);
    await fsyncPath(runtimeDir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (e instanceof DriftdError) throw e;
    throw new DriftdError('ExportError', `cannot write the runtime export in ${runtimeDir}: ${describe(e)}; check free space and permissions`, { runtimeDir }, { cause: e });
  } finally {
    activeTmp.delete(tmpName);
  }
  let pruned: string[];
  try {
    pruned = await prune(runtimeDir, name, retention);
  } catch (e) {
    throw new DriftdError('ExportError', `wrote ${path.join(runtimeDir, name)} but could not prune old exports: ${describe(e)}; check permissions`, { runtimeDir, dir: path.join(runtimeDir, name) }, { cause: e });
  }
  return { dir: path.join(runtimeDir, name), name, pruned };
}
