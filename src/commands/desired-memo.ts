/**
 * The agent's memory of the desired state it loaded, at two levels:
 * - the whole state: a poll that finds the same commit reuses it instead of reading and parsing
 *   every compose file again;
 * - each stack: at a new commit, a stack whose folder and lock have the same Git object ids
 *   (recorded in the snapshot) is reused, so a tag that changes one stack loads one stack; its key
 *   is the stored no-change verdict's (stackKeyFor in verdict-cache.ts, docs/performance.md).
 * Both apply only while nothing else a load reads changed: the host-local env files (whole state:
 * by identity — size, mtime, inode; per stack: by content), the process environment when compose
 * files may read it, the fleet policy and the load options. In memory only: the model holds
 * resolved secrets, which never go to disk outside the deploy dirs.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { StackMemo } from '../compose/index.js';
import type { DesiredStack, DesiredState } from '../compose/model.js';
import type { Snapshot } from '../source/index.js';
import { policyHash } from '../sync/verdict.js';
import { hashObject } from '../util/hash.js';
import { stackKeyFor, type HostInputs, type NoChangeSlot } from './verdict-cache.js';

export interface DesiredMemoInputs {
  commit: string;
  host: string;
  envDir: string;
  allowProcessEnv: boolean;
  maxFileBytes: number;
  stacks?: readonly string[];
}

function fileIdentity(file: string): string {
  try {
    const s = statSync(file, { bigint: true });
    return `${s.size}:${s.mtimeNs}:${s.ino}`;
  } catch {
    return '(none)';
  }
}

/** Name and identity of every file in the env dir: a changed host-local value changes this. */
function envDirFingerprint(envDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(envDir).sort();
  } catch {
    return ['(unreadable)'];
  }
  return names.map((name) => `${name}:${fileIdentity(path.join(envDir, name))}`);
}

function processEnvFingerprint(allowed: boolean, env: NodeJS.ProcessEnv): string {
  return allowed ? hashObject(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : '';
}

export class DesiredMemo {
  #key: string | undefined;
  #value: DesiredState | undefined;
  readonly #stacks = new Map<string, { key: string; stack: DesiredStack }>();
  /** The stored side of the last no-change verdict hit (verdict-cache.ts noChangeRun), under its own key. */
  noChange: NoChangeSlot | undefined;

  key(inputs: DesiredMemoInputs, env: NodeJS.ProcessEnv = process.env): string {
    return hashObject({
      ...inputs,
      stacks: inputs.stacks ? [...inputs.stacks].sort() : [],
      envFiles: envDirFingerprint(inputs.envDir),
      processEnv: processEnvFingerprint(inputs.allowProcessEnv, env),
    });
  }

  /** The state remembered under `key`, or undefined. */
  get(key: string): DesiredState | undefined {
    return this.#key === key ? this.#value : undefined;
  }

  /** Remembers one state only (the agent never needs an older one back) and the stacks it holds. */
  set(key: string, value: DesiredState): void {
    this.#key = key;
    this.#value = value;
    const current = new Set(value.stacks.map((s) => s.name));
    for (const name of this.#stacks.keys()) if (!current.has(name)) this.#stacks.delete(name);
  }

  /**
   * Per-stack reuse for loading a snapshot, keyed like the stored no-change verdict (one helper,
   * stackKeyFor): undefined when the snapshot has no object ids (written by an older driftd), so
   * every stack loads.
   */
  stackMemo(inputs: HostInputs, snapshot: Pick<Snapshot, 'oids' | 'problems'>, env: NodeJS.ProcessEnv = process.env): StackMemo | undefined {
    if (!snapshot.oids) return undefined;
    const keyOf = stackKeyFor(inputs, snapshot, env);
    return {
      key: (name, policy) => keyOf(name, policyHash(policy)),
      get: (name, key) => {
        const hit = this.#stacks.get(name);
        return hit?.key === key ? hit.stack : undefined;
      },
      set: (name, key, stack) => {
        this.#stacks.set(name, { key, stack });
      },
    };
  }
}
