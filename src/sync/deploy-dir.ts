import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { fileSystemError } from '../util/fs-errors.js';

export const DEPLOY_COMPOSE_FILE = 'driftd.compose.yaml';

/** Files the deploy dir never takes from the stack folder: Compose must read only driftd's resolved file. */
const NOT_COPIED = new Set(['.env', 'compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml', 'compose.override.yaml', 'compose.override.yml', 'docker-compose.override.yaml', 'docker-compose.override.yml']);

export function deployDirFor(dataDir: string, stack: string): string {
  return path.join(dataDir, 'deploy', stack);
}

function digestFile(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

function listFiles(root: string, rel = ''): string[] {
  const dir = path.join(root, rel);
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(root, r));
    else if (entry.isFile()) out.push(r);
  }
  return out;
}

function writeAtomic(file: string, content: Buffer | string, mode?: number): void {
  const tmp = `${file}.driftd-tmp`;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(tmp, content);
    if (mode !== undefined) chmodSync(tmp, mode);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw fileSystemError(file, 'write', e);
  }
}

export interface DeployDirResult {
  dir: string;
  written: string[];
  removed: string[];
}

/**
 * Makes `<dataDir>/deploy/<stack>/` hold exactly the stack's files plus driftd's resolved compose file.
 * The path never changes between revisions, and a file whose content is unchanged is not rewritten
 * (same inode), so Compose sees the same bind sources and recreates only what really changed.
 */
export function syncDeployDir(opts: { dataDir: string; stack: string; stackDir: string; composeYaml: string }): DeployDirResult {
  const dir = deployDirFor(opts.dataDir, opts.stack);
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  const wanted = new Map<string, { source?: string; content?: string }>();
  for (const rel of listFiles(opts.stackDir)) {
    if (!NOT_COPIED.has(rel)) wanted.set(rel, { source: path.join(opts.stackDir, rel) });
  }
  wanted.set(DEPLOY_COMPOSE_FILE, { content: opts.composeYaml });

  const written: string[] = [];
  for (const [rel, spec] of wanted) {
    const dest = path.join(dir, rel);
    const content = spec.content !== undefined ? Buffer.from(spec.content) : readFileSync(spec.source as string);
    const mode = spec.source ? statSync(spec.source).mode & 0o777 : 0o640;
    if (digestFile(dest) === createHash('sha256').update(content).digest('hex')) {
      if ((statSync(dest).mode & 0o777) !== mode) chmodSync(dest, mode);
      continue;
    }
    writeAtomic(dest, content, mode);
    written.push(rel);
  }
  const removed: string[] = [];
  for (const rel of listFiles(dir)) {
    if (!wanted.has(rel)) {
      rmSync(path.join(dir, rel), { force: true });
      removed.push(rel);
    }
  }
  return { dir, written: written.sort(), removed: removed.sort() };
}

export function removeDeployDir(dataDir: string, stack: string): void {
  rmSync(deployDirFor(dataDir, stack), { recursive: true, force: true });
}

/** Stacks this data dir deployed (each has a deploy dir holding driftd's compose file). */
export function deployedStackDirs(dataDir: string): string[] {
  const root = path.join(dataDir, 'deploy');
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(root, e.name, DEPLOY_COMPOSE_FILE)))
    .map((e) => e.name)
    .sort();
}
