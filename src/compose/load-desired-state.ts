import { dict } from '../util/dict.js';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DriftdError, errnoCode } from '../errors/index.js';
import type { DesiredStack, DesiredState, Revision, StackLoadError, StackPolicy } from './model.js';
import { toStackLoadError } from './errors.js';
import { FLEET_FILE, parseFleet, policyFor, stacksForHost, type Fleet } from './fleet.js';
import { loadStackSync } from './load-stack.js';
import { DEFAULT_MAX_FILE_BYTES, isValidStackName, readRepoFile } from './safe-fs.js';

export interface LoadDesiredStateOptions {
  root: string;
  host: string;
  revision: Revision;
  envDir?: string;
  allowProcessEnv?: boolean;
  processEnv?: NodeJS.ProcessEnv;
  privateEnvNames?: readonly string[];
  /** Only these stacks (`--stack`); each must be declared for the host. */
  stacks?: string[];
  maxFileBytes?: number;
  /** Stacks loaded before from identical inputs, reused instead of loaded again (the agent between commits). */
  stackMemo?: StackMemo;
}

/** A store of loaded stacks keyed by everything their load reads; see src/commands/desired-memo.ts. */
export interface StackMemo {
  /** The key of the stack's inputs, or undefined when they cannot be identified (the stack is then loaded). */
  key(name: string, policy: StackPolicy): string | undefined;
  get(name: string, key: string): DesiredStack | undefined;
  set(name: string, key: string, stack: DesiredStack): void;
}

/** Folder names under stacks/ (directories and symlinks; loadStack refuses the latter). */
export function stackFolders(root: string): string[] {
  try {
    const entries = readdirSync(path.join(root, 'stacks'), { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() || e.isSymbolicLink()).map((e) => e.name).sort();
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw e;
  }
}

function readFleet(root: string, maxBytes: number): Fleet | undefined {
  const text = readRepoFile(root, FLEET_FILE, maxBytes);
  return text ? parseFleet(text.toString('utf8')) : undefined;
}

function notFound(stack: string, reason: string): StackLoadError {
  return { stack, code: 'NotFound', message: reason };
}

/** A Swarm stack belongs to the Swarm's managers: when fleet.yaml names them, other hosts skip it. */
function withoutForeignSwarmStacks(fleet: Fleet | undefined, host: string, names: string[]): string[] {
  const managers = fleet?.swarmManagers;
  if (!managers || managers.includes(host)) return names;
  return names.filter((n) => policyFor(fleet, n).engine !== 'swarm');
}

/**
 * What this host should run at `revision`. A stack that fails to load is reported in `errors`
 * (with file and line) and the others still load. Throws only when the whole repo cannot be
 * read: the root is missing, or fleet.yaml is invalid (then nobody knows which stacks apply).
 */
export function loadDesiredState(opts: LoadDesiredStateOptions): Promise<DesiredState> {
  return new Promise((resolve) => resolve(loadDesiredStateSync(opts)));
}

export function loadDesiredStateSync(opts: LoadDesiredStateOptions): DesiredState {
  const { root, host } = opts;
  try {
    if (!statSync(root).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new DriftdError('RepoNotFound', `the desired-state tree ${root} does not exist or is not a directory`, { root });
  }
  const maxBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const fleet = readFleet(root, maxBytes);
  const folders = stackFolders(root);
  const existing = new Set(folders);
  const declared = stacksForHost(fleet, host);
  const errors: StackLoadError[] = [];

  let selected = declared ?? folders;
  for (const name of declared ?? []) {
    if (!existing.has(name)) errors.push({ ...notFound(name, `${FLEET_FILE} declares stack ${JSON.stringify(name)} for host ${JSON.stringify(host)}, but there is no stacks/${name}/ folder`), file: FLEET_FILE });
  }
  selected = selected.filter((n) => existing.has(n));
  selected = withoutForeignSwarmStacks(fleet, host, selected);
  if (opts.stacks) {
    const wanted = new Set(opts.stacks);
    for (const name of wanted) {
      if (!existing.has(name)) errors.push(notFound(name, `stack ${JSON.stringify(name)} does not exist: there is no stacks/${name}/ folder`));
      else if (!selected.includes(name)) errors.push({ ...notFound(name, `stack ${JSON.stringify(name)} is not declared for host ${JSON.stringify(host)} in ${FLEET_FILE}`), file: FLEET_FILE });
    }
    selected = selected.filter((n) => wanted.has(n));
  }

  const results = selected.map((name): DesiredStack | StackLoadError => {
    const policy = policyFor(fleet, name);
    const key = opts.stackMemo?.key(name, policy);
    const remembered = key === undefined ? undefined : opts.stackMemo?.get(name, key);
    if (remembered) return remembered;
    try {
      const stack = loadStackSync({
        root,
        name,
        maxFileBytes: maxBytes,
        policy,
        ...(opts.envDir !== undefined ? { envDir: opts.envDir } : {}),
        ...(opts.allowProcessEnv ? { allowProcessEnv: true } : {}),
        ...(opts.processEnv ? { processEnv: opts.processEnv } : {}),
        ...(opts.privateEnvNames ? { privateEnvNames: opts.privateEnvNames } : {}),
      });
      if (key !== undefined) opts.stackMemo?.set(name, key, stack);
      return stack;
    } catch (e) {
      return toStackLoadError(e, name);
    }
  });
  const stacks: DesiredStack[] = [];
  for (const r of results) {
    if ('services' in r) stacks.push(r);
    else errors.push(r);
  }
  errors.sort((a, b) => (a.stack < b.stack ? -1 : a.stack > b.stack ? 1 : 0));
  return {
    host,
    revision: opts.revision,
    stacks,
    errors,
    allStackNames: folders.filter(isValidStackName),
    ...(fleet ? { policies: dict(Object.entries(fleet.policies)) } : {}),
  };
}
