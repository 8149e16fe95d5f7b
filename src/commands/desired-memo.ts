/**
 * The agent's memory of the last desired state it loaded. A poll that finds the same commit
 * reuses it instead of reading and parsing every compose file again, as long as nothing else
 * the load depends on changed: the host-local env files (by identity: size, mtime, inode), the
 * process environment when compose files may read it, and the load options. In memory only:
 * the model holds resolved secrets, which never go to disk outside the deploy dirs.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { DesiredState } from '../compose/model.js';
import { hashObject } from '../util/hash.js';

export interface DesiredMemoInputs {
  commit: string;
  host: string;
  envDir: string;
  allowProcessEnv: boolean;
  maxFileBytes: number;
  stacks?: readonly string[];
}

/** Name, size, mtime and inode of every file in the env dir: a changed host-local value changes this. */
function envDirFingerprint(envDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(envDir).sort();
  } catch {
    return ['(unreadable)'];
  }
  return names.map((name) => {
    try {
      const s = statSync(path.join(envDir, name), { bigint: true });
      return `${name}:${s.size}:${s.mtimeNs}:${s.ino}`;
    } catch {
      return `${name}:(gone)`;
    }
  });
}

export class DesiredMemo {
  #key: string | undefined;
  #value: DesiredState | undefined;

  key(inputs: DesiredMemoInputs, env: NodeJS.ProcessEnv = process.env): string {
    return hashObject({
      ...inputs,
      stacks: inputs.stacks ? [...inputs.stacks].sort() : [],
      envFiles: envDirFingerprint(inputs.envDir),
      processEnv: inputs.allowProcessEnv ? Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : [],
    });
  }

  /** The state remembered under `key`, or undefined. */
  get(key: string): DesiredState | undefined {
    return this.#key === key ? this.#value : undefined;
  }

  /** Remembers one state only: the agent never needs an older one back. */
  set(key: string, value: DesiredState): void {
    this.#key = key;
    this.#value = value;
  }
}
