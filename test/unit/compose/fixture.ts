import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type Tree = Record<string, string | { symlink: string }>;

const made: string[] = [];

/** A desired-state tree in a fresh temp dir: paths relative to the root → content (or a symlink). */
export function makeTree(files: Tree): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'driftd-compose-'));
  made.push(root);
  writeTree(root, files);
  return root;
}

export function writeTree(root: string, files: Tree): void {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    if (typeof content === 'string') writeFileSync(abs, content);
    else symlinkSync(content.symlink, abs);
  }
}

export function cleanupTrees(): void {
  for (const root of made.splice(0)) rmSync(root, { recursive: true, force: true });
}
