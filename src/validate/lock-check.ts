/** locks/<stack>.lock.json files: each must parse with the lock schema and belong to an existing stack. */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { readRepoFile } from '../compose/safe-fs.js';
import { parseLockFile } from '../lock/lock-file.js';
import { finding } from './finding.js';
import { findingFromError } from './load-errors.js';
import type { ValidateFinding } from './model.js';

const LOCK_FILE = /^(.+)\.lock\.json$/;

export function checkLocks(root: string, maxBytes: number, stacks: ReadonlySet<string>): ValidateFinding[] {
  let names: string[];
  try {
    names = readdirSync(path.join(root, 'locks')).sort();
  } catch {
    return [];
  }
  const out: ValidateFinding[] = [];
  for (const name of names) {
    const stack = LOCK_FILE.exec(name)?.[1];
    if (stack === undefined) continue;
    const rel = `locks/${name}`;
    try {
      const text = readRepoFile(root, rel, maxBytes);
      if (text === undefined) continue;
      parseLockFile(text.toString('utf8'), rel, stack);
    } catch (e) {
      out.push(findingFromError(e, rel));
      continue;
    }
    if (!stacks.has(stack)) {
      out.push(finding('lock-orphan', 'warning', rel, undefined, `there is no stacks/${stack}/ folder for this lock; delete the file, or rename it after the stack it belongs to`));
    }
  }
  return out;
}
