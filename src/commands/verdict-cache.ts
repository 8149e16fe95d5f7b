/**
 * The persistent no-change verdict's inputs and its two uses (docs/performance.md): deciding a
 * no-change run from the state DB and one container list, and recording what a full run found.
 * The keys come from one helper (stackKeyFor), which the agent's in-memory memo uses as well.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { DesiredState, Revision } from '../compose/model.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { describeError, errnoCode } from '../errors/index.js';
import type { DockerConnection } from '../live/docker-client.js';
import type { LiveContainer } from '../live/model.js';
import { listComposeContainers } from '../live/project-containers.js';
import type { Snapshot } from '../source/index.js';
import type { Deployment, StateStore } from '../state/index.js';
import type { StackOutcome, ReconcileResult } from '../sync/reconcile.js';
import type { StackPlan } from '../sync/model.js';
import { checkLive, expectNoChange, FLEET_SCOPE, fleetKey, policyHash, splitByVerdict, stackKey, stackScope, verdictOf, type NoChange, type NoChangeExpectation, type StoredVerdict } from '../sync/verdict.js';
import { withoutPrivateEnv } from '../util/child-env.js';
import { hashObject, sha256 } from '../util/hash.js';
import { recordedMessage } from '../util/text.js';
import type { Logger } from '../util/logger.js';
import { VERSION } from '../version.js';

/** What a stack's load reads besides the snapshot: the host-local and process inputs. */
export interface HostInputs {
  host: string;
  envDir: string;
  allowProcessEnv: boolean;
  privateEnvNames: readonly string[];
  maxFileBytes: number;
  /** The host's security policy (config.policy). */
  hostPolicy: unknown;
}

export function hostInputsOf(config: ResolvedConfig): HostInputs {
  return {
    host: config.host,
    envDir: config.envDir,
    allowProcessEnv: config.allowProcessEnv,
    privateEnvNames: config.privateEnvNames,
    maxFileBytes: config.validate.maxFileBytes,
    hostPolicy: config.policy,
  };
}

/** The process variables interpolation may read, hashed ('' when it reads none). */
export function processEnvHash(inputs: Pick<HostInputs, 'allowProcessEnv' | 'privateEnvNames'>, env: NodeJS.ProcessEnv): string {
  if (!inputs.allowProcessEnv) return '';
  const entries = Object.entries(withoutPrivateEnv(env, inputs.privateEnvNames)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return hashObject(entries);
}

/**
 * The env dir's file names, listed once per key function: a stack without a host-local env file
 * (most of them) then costs a set lookup instead of a failed open and the exception it throws,
 * every cycle for every stack. null: there is no env dir; undefined: it cannot be listed (each
 * stack's file is then opened as before).
 */
function envFileNames(envDir: string): ReadonlySet<string> | null | undefined {
  try {
    return new Set(readdirSync(envDir));
  } catch (e) {
    return errnoCode(e) === 'ENOENT' ? null : undefined;
  }
}

/** sha256 of the host-local env file, null without one; unreadable → undefined (the stack is then loaded). */
function hostEnvHash(envDir: string, stack: string, names: ReadonlySet<string> | null | undefined): string | null | undefined {
  if (names === null || (names !== undefined && !names.has(`${stack}.env`))) return null;
  try {
    return sha256(readFileSync(path.join(envDir, `${stack}.env`)));
  } catch (e) {
    return errnoCode(e) === 'ENOENT' ? null : undefined;
  }
}

/**
 * The key of one stack's inputs at a snapshot: (stack, policy hash) → key, or undefined when the
 * snapshot has no object ids or the stack folder is unknown (then the stack is loaded).
 */
export function stackKeyFor(
  inputs: HostInputs,
  snapshot: Pick<Snapshot, 'oids' | 'problems'>,
  env: NodeJS.ProcessEnv = process.env,
): (stack: string, policy: string) => string | undefined {
  const oids = snapshot.oids;
  const processEnv = processEnvHash(inputs, env);
  const hostPolicy = hashObject(inputs.hostPolicy ?? null);
  const envFiles = envFileNames(inputs.envDir);
  return (stack, policy) => {
    const tree = oids?.[`stacks/${stack}`];
    if (tree === undefined) return undefined;
    const hostEnv = hostEnvHash(inputs.envDir, stack, envFiles);
    if (hostEnv === undefined) return undefined;
    return stackKey({
      version: VERSION,
      host: inputs.host,
      stack,
      tree,
      lock: oids?.[`locks/${stack}.lock.json`] ?? null,
      policy,
      hostEnv,
      envDir: inputs.envDir,
      processEnv,
      privateEnvNames: inputs.privateEnvNames,
      maxFileBytes: inputs.maxFileBytes,
      hostPolicy,
      snapshotProblems: snapshot.problems.filter((p) => p.stack === stack).length,
    });
  };
}

/** The key of the host's stack selection at a snapshot, or undefined without object ids. */
export function fleetKeyFor(inputs: Pick<HostInputs, 'host' | 'maxFileBytes'>, snapshot: Pick<Snapshot, 'oids'>): string | undefined {
  const oids = snapshot.oids;
  if (!oids) return undefined;
  const folders = Object.keys(oids)
    .filter((p) => p.startsWith('stacks/'))
    .map((p) => p.slice('stacks/'.length));
  return fleetKey({ version: VERSION, host: inputs.host, fleetOid: oids['fleet.yaml'] ?? null, folders, maxFileBytes: inputs.maxFileBytes });
}

export interface NoChangeRun {
  decision: NoChange;
  /** The rows read (for recordVerdicts to tell which stacks' inputs changed). */
  stored?: ReadonlyMap<string, StoredVerdict>;
  /** Only with a hit: the plan and outcomes a full run would have produced. */
  result?: ReconcileResult;
  /** Only with a hit: each stack's current deployment, as the decision read them. */
  deployments?: ReadonlyMap<string, Deployment>;
}

/**
 * What a hit read from the state DB and derived from it (the rows, the deployments, the stored side
 * of the decision), kept by the agent for the next cycle. Valid under `key`: the agent memo's key
 * of the desired state (commit, host env files, process environment), the host's inputs, the host
 * selection key and the state DB's generation after this hit's own writes.
 */
export interface NoChangeSlot {
  key: string;
  stored: ReadonlyMap<string, StoredVerdict>;
  deployments: ReadonlyMap<string, Deployment>;
  expectation: NoChangeExpectation;
}

/** Where a long-running caller keeps the slot, and the key of its desired state at this commit. */
export interface NoChangeMemo {
  holder: { noChange: NoChangeSlot | undefined };
  desiredKey: string;
}

/**
 * Decides a no-change run from the stored verdicts, the recorded deployments and one container
 * list. A hit records each stack's status as a full run would (Synced, Healthy, "in sync").
 */
export async function noChangeRun(opts: {
  config: ResolvedConfig;
  state: StateStore;
  docker: DockerConnection;
  snapshot: Pick<Snapshot, 'oids' | 'problems'>;
  revision: Revision;
  logger: Logger;
  /**
   * Every container, already listed by the caller (the agent lists them once for this and for
   * drift) or being listed (the CLI asks while Git answers); default: one list of Compose containers.
   */
  containers?: readonly LiveContainer[] | Promise<readonly LiveContainer[]>;
  /** The agent's memory of the last hit: while its key holds, no row is read, parsed or hashed again. */
  memo?: NoChangeMemo;
}): Promise<NoChangeRun> {
  const inputs = hostInputsOf(opts.config);
  const fleet = fleetKeyFor(inputs, opts.snapshot);
  if (fleet === undefined) return { decision: { hit: false, reason: 'the snapshot has no object ids' } };
  const commit = opts.revision.commit;
  const memoKey = (generation: string): string | undefined =>
    opts.memo ? hashObject({ desired: opts.memo.desiredKey, inputs, fleet, commit, generation }) : undefined;
  const held = opts.memo?.holder.noChange;
  // The memo holds: no verdict-affecting row changed since the last hit wrote its statuses.
  const holds = held !== undefined && held.key === memoKey(opts.state.generation());
  const slot = holds ? held : readStoredSide(opts, inputs, fleet);
  if ('decision' in slot) return slot;
  const { stored, deployments } = slot;
  const containers = await (opts.containers ?? listComposeContainers(opts.docker.docker));
  const decision = checkLive(slot.expectation, containers);
  if (!decision.hit) return { decision, stored };
  const ref = opts.revision.ref;
  const plan: StackPlan[] = decision.stacks.map((stack) => ({ stack, action: 'none', reason: 'in sync', revision: commit, ...(ref ? { ref } : {}), changedServices: [] }));
  const outcomes: StackOutcome[] = decision.stacks.map((stack) => ({ stack, action: 'none', result: 'unchanged', message: 'in sync', revision: commit, health: 'Healthy' }));
  // Under a memo that holds, the last hit wrote these same rows (same commit, same stacks) and nothing
  // wrote a status since (that would have changed the generation): no write, no transaction.
  if (!holds) opts.state.setStackStatuses(decision.stacks.map((stack) => ({ stack, sync: 'Synced', health: 'Healthy', reason: 'in sync', revision: commit })));
  // Keyed after this hit's own writes: the next cycle finds the same generation unless something else wrote.
  const key = memoKey(opts.state.generation());
  if (opts.memo && key !== undefined) opts.memo.holder.noChange = { ...slot, key };
  return { decision, stored, deployments, result: { plan: { stacks: plan, warnings: [] }, outcomes, exitCode: 0 } };
}

/** The stored side of the decision from the state DB: its rows, the deployments and what they expect. */
function readStoredSide(
  opts: { state: StateStore; snapshot: Pick<Snapshot, 'oids' | 'problems'>; revision: Revision },
  inputs: HostInputs,
  fleet: string,
): Omit<NoChangeSlot, 'key'> | Required<Pick<NoChangeRun, 'decision' | 'stored'>> {
  const stored = opts.state.syncVerdicts();
  if (!stored.has(FLEET_SCOPE)) return { decision: { hit: false, reason: 'no verdict stored' }, stored };
  const deployments = opts.state.currentDeployments();
  const expected = expectNoChange({ stored, fleetKey: fleet, stackKey: stackKeyFor(inputs, opts.snapshot), commit: opts.revision.commit, deployed: (stack) => deployments.get(stack) });
  return expected.hit ? { stored, deployments, expectation: expected.expectation } : { decision: { hit: false, reason: expected.reason }, stored };
}

/** A miss that a full load of only some stacks can decide (see splitByVerdict). */
export interface PartialRun {
  /** The stacks to load and plan: inputs changed, or anything about them not known from the verdict. */
  changed: string[];
  /**
   * Records every other stack at this revision as a full plan would ("in sync", nothing run; a new
   * commit is recorded as the stack's deployment) and returns their plan entries and outcomes.
   */
  recordUnchanged: () => Pick<ReconcileResult, 'outcomes'> & { plan: StackPlan[] };
}

/**
 * After a miss of a plain run: the stacks whose stored verdict still holds (same inputs key, same
 * recorded inputs and config hashes, live containers matching, running and healthy) need no load;
 * only the others are loaded and planned (docs/performance.md). Undefined when the full run must
 * decide: no stored selection, a project that left the host, or no stack known.
 */
export async function partialRun(opts: {
  config: ResolvedConfig;
  state: StateStore;
  docker: DockerConnection;
  snapshot: Pick<Snapshot, 'oids' | 'problems'>;
  revision: Revision;
  stored: ReadonlyMap<string, StoredVerdict>;
  /** The Compose containers, already listed or being listed by the caller; default: one list. */
  containers?: readonly LiveContainer[] | Promise<readonly LiveContainer[]>;
}): Promise<PartialRun | undefined> {
  const inputs = hostInputsOf(opts.config);
  const fleet = fleetKeyFor(inputs, opts.snapshot);
  if (fleet === undefined || !opts.stored.has(FLEET_SCOPE)) return undefined;
  const deployments = opts.state.currentDeployments();
  const containers = await (opts.containers ?? listComposeContainers(opts.docker.docker));
  const split = splitByVerdict({
    stored: opts.stored,
    fleetKey: fleet,
    stackKey: stackKeyFor(inputs, opts.snapshot),
    commit: opts.revision.commit,
    containers,
    deployed: (stack) => deployments.get(stack),
  });
  if (!split) return undefined;
  const { revision } = opts;
  const ref = revision.ref;
  const recordUnchanged = (): Pick<ReconcileResult, 'outcomes'> & { plan: StackPlan[] } => {
    const moved = split.unchanged.filter(([stack]) => deployments.get(stack)?.revision !== revision.commit);
    const recorded = new Set(moved.map(([stack]) => stack));
    opts.state.recordDeployments(
      moved.map(([stack, verdict]) => ({
        stack,
        revision: revision.commit,
        ...(ref ? { ref } : {}),
        inputsHash: verdict.inputsHash,
        configHashes: Object.fromEntries(Object.entries(verdict.services).map(([name, s]) => [name, s.configHash])),
        health: 'Healthy' as const,
        status: 'succeeded' as const,
      })),
    );
    const message = (stack: string): string => (recorded.has(stack) ? recordedMessage(revision) : 'in sync');
    const stacks = split.unchanged.map(([stack]) => stack);
    opts.state.setStackStatuses(stacks.map((stack) => ({ stack, sync: 'Synced', health: 'Healthy', reason: message(stack), revision: revision.commit })));
    return {
      plan: stacks.map((stack) => ({ stack, action: 'none', reason: 'in sync', revision: revision.commit, ...(ref ? { ref } : {}), changedServices: [] })),
      outcomes: stacks.map((stack) => ({
        stack,
        action: 'none',
        result: recorded.has(stack) ? 'recorded' : 'unchanged',
        message: message(stack),
        revision: revision.commit,
        health: 'Healthy',
      })),
    };
  };
  return { changed: split.changed, recordUnchanged };
}

/** Left in sync and healthy: nothing to do (none → unchanged/recorded) or just deployed and through the health gate. */
function leftInSync(plan: StackPlan | undefined, outcome: StackOutcome | undefined): boolean {
  if (outcome?.health !== 'Healthy' || plan?.problem) return false;
  if (plan?.action === 'none') return outcome.result === 'unchanged' || outcome.result === 'recorded';
  return plan?.action === 'deploy' && outcome.result === 'deployed';
}

/**
 * After a full run over every declared stack: the host's selection, and a verdict for each stack
 * the run left in sync and healthy. Any other stack's verdict is dropped. Nothing is stored when
 * some stack could not be loaded (the next run plans in full again). Returns the stacks whose
 * inputs key differs from the one `stored` held (what this run had to load anew).
 */
export function recordVerdicts(opts: {
  config: ResolvedConfig;
  state: StateStore;
  snapshot: Pick<Snapshot, 'oids' | 'problems'>;
  desired: DesiredState;
  result: ReconcileResult;
  logger: Logger;
  stored?: ReadonlyMap<string, StoredVerdict>;
  /** A partial run (partialRun): `desired` holds only the stacks it loaded; the others' rows and the selection row stay. */
  partial?: boolean;
}): string[] {
  const { desired, result } = opts;
  const inputs = hostInputsOf(opts.config);
  const fleet = fleetKeyFor(inputs, opts.snapshot);
  try {
    // A Swarm stack fleet.yaml names with engine: swarm + prune: true may have left the host and be due
    // for removal (reconcile's swarmNamed): the container list the verdict checks cannot tell.
    const swarmPrune = Object.values(desired.policies ?? {}).some((p) => p.engine === 'swarm' && p.prune);
    if (fleet === undefined || desired.errors.length > 0 || opts.snapshot.problems.length > 0 || swarmPrune) {
      opts.state.clearSyncVerdicts();
      return [];
    }
    const keyOf = stackKeyFor(inputs, opts.snapshot);
    const plans = new Map(result.plan.stacks.map((p) => [p.stack, p]));
    const outcomes = new Map(result.outcomes.map((o) => [o.stack, o]));
    const put: { scope: string; key: string; verdict: unknown }[] = [];
    const remove: string[] = [];
    const policies = Object.create(null) as Record<string, string>;
    const changed: string[] = [];
    for (const stack of desired.stacks) {
      const policy = policyHash(stack.policy);
      policies[stack.name] = policy;
      const plan = plans.get(stack.name);
      const outcome = outcomes.get(stack.name);
      const key = keyOf(stack.name, policy);
      if (key === undefined || opts.stored?.get(stackScope(stack.name))?.key !== key) changed.push(stack.name);
      const inSync = leftInSync(plan, outcome) && plan?.target?.revision.commit === desired.revision.commit;
      // selfHeal compares container fields (inspect), which a label-only verdict cannot: always planned in full.
      // A Swarm stack's state is its services and tasks, not the container list the verdict checks: planned in full.
      const eligible = inSync && !stack.policy.selfHeal && stack.policy.engine !== 'swarm' && stack.services.length > 0 && stack.services.every((s) => s.replicas >= 1);
      if (key !== undefined && eligible) put.push({ scope: stackScope(stack.name), key, verdict: verdictOf(stack) });
      else remove.push(stackScope(stack.name));
    }
    if (!opts.partial) put.push({ scope: FLEET_SCOPE, key: fleet, verdict: { stacks: policies } });
    opts.state.putSyncVerdicts(put, remove);
    return changed.sort();
  } catch (e) {
    // A verdict is an optimisation: failing to store it only makes the next run plan in full.
    opts.logger.debug({ err: describeError(e) }, 'could not record sync verdicts');
    return [];
  }
}
