/**
 * The persistent no-change verdict (docs/performance.md): what a reconcile found for each stack
 * that was in sync, keyed by everything the stack's load reads, so that the next run at the same
 * inputs can decide "nothing to do" from one container list and one DB read — no YAML parse, no
 * hashing, no Compose. Pure: the caller gathers the key parts and the live containers.
 *
 * Correctness over speed: a verdict is only a claim about the desired side. The live side is
 * always compared again (config-hash labels, replica counts, running and healthy), and the verdict
 * must agree with the deployment the state DB recorded; anything unexpected falls back to the full
 * load and plan, which rewrites the verdict.
 */
import { z } from 'zod';
import { lazy } from '../util/lazy.js';
import type { StackPolicy } from '../compose/model.js';
import { dictOf } from '../util/dict-schema.js';
import { own } from '../util/dict.js';
import { hashObject } from '../util/hash.js';
import type { LiveContainer } from '../live/model.js';
import { summarizeContainers } from './live-summary.js';
import type { DeployedRecord, LiveStackSummary } from './model.js';

/** Bumped when the key or the verdict changes meaning: every stored verdict then misses once. */
export const VERDICT_FORMAT = 1;

/** The scope of the host-wide row: which stacks this host runs and with which policy. */
export const FLEET_SCOPE = 'fleet';
export const stackScope = (stack: string): string => `stack:${stack}`;

/** Everything a host-wide selection reads (fleet.yaml, the stack folders) besides the per-stack inputs. */
export interface FleetKeyParts {
  version: string;
  host: string;
  /** Object id of fleet.yaml at the target revision, or null when the repo has none. */
  fleetOid: string | null;
  /** Names of the folders under stacks/ (their presence selects stacks when fleet.yaml lists none). */
  folders: readonly string[];
  maxFileBytes: number;
}

/**
 * Everything one stack's load and plan read (src/compose/load-stack.ts, src/sync/plan.ts). A test
 * per field proves that changing it alone misses (test/unit/sync/verdict.test.ts).
 */
export interface StackKeyParts {
  version: string;
  host: string;
  stack: string;
  /** Git tree id of stacks/<stack>/ (every compose file, .env, override and mounted file). */
  tree: string;
  /** Blob id of locks/<stack>.lock.json, or null. */
  lock: string | null;
  /** The stack's resolved fleet policy (fleet.yaml's defaults and its entry), hashed. */
  policy: string;
  /** sha256 of the host-local `<envDir>/<stack>.env` (values never stored), or null without one. */
  hostEnv: string | null;
  envDir: string;
  /** Hash of the process environment interpolation may read (allowProcessEnv), else ''. */
  processEnv: string;
  privateEnvNames: readonly string[];
  maxFileBytes: number;
  /** The host's security policy (an enforced rule refuses stacks). */
  hostPolicy: string;
  /** Files the snapshot refused in this stack (any makes the stack fail to load). */
  snapshotProblems: number;
}

export function fleetKey(parts: FleetKeyParts): string {
  return hashObject({ v: VERDICT_FORMAT, ...parts, folders: [...parts.folders].sort() });
}

export function stackKey(parts: StackKeyParts): string {
  return hashObject({ v: VERDICT_FORMAT, ...parts, privateEnvNames: [...parts.privateEnvNames].sort() });
}

export function policyHash(policy: StackPolicy): string {
  return hashObject(policy);
}

const hex64 = lazy(() => z.string().regex(/^[0-9a-f]{64}$/));

/** The host-wide row: the stacks this host runs at these inputs, each with its policy hash. */
export const FleetVerdict = lazy(() =>
  z
    .object({
      stacks: dictOf(z.string().min(1).max(200), hex64()),
    })
    .strict(),
);
export type FleetVerdict = z.infer<ReturnType<typeof FleetVerdict>>;

/** One stack's row: what the no-change decision needs, no values (no secrets, no env). */
export const StackVerdict = lazy(() =>
  z
    .object({
      inputsHash: z.string().min(1).max(200),
      services: dictOf(z.string().min(1).max(200), z.object({ configHash: hex64(), replicas: z.number().int().min(1).max(10_000) }).strict()),
    })
    .strict(),
);
export type StackVerdict = z.infer<ReturnType<typeof StackVerdict>>;

export interface StoredVerdict {
  key: string;
  verdict: unknown;
}

/** A stack that a full run found in sync and healthy, as a verdict. */
export function verdictOf(stack: { inputsHash: string; services: readonly { name: string; configHash: string; replicas: number }[] }): StackVerdict {
  const services: StackVerdict['services'] = Object.create(null) as StackVerdict['services'];
  for (const s of stack.services) services[s.name] = { configHash: s.configHash, replicas: s.replicas };
  return { inputsHash: stack.inputsHash, services };
}

export interface NoChangeInput {
  /** The stored rows by scope (one DB read). */
  stored: ReadonlyMap<string, StoredVerdict>;
  fleetKey: string;
  /** The per-stack key for a stack and its policy hash, or undefined when its inputs cannot be identified. */
  stackKey: (stack: string, policyHash: string) => string | undefined;
  commit: string;
  /** One container list (labels only), every project. */
  containers: readonly LiveContainer[];
  deployed: (stack: string) => DeployedRecord | undefined;
}

/** A hit lists the stacks it decided; a miss gives the first reason found. */
export type NoChange = { hit: true; stacks: string[] } | { hit: false; reason: string };

const miss = (reason: string): NoChange => ({ hit: false, reason });

/**
 * What the live containers must show for a hit: the part of the decision that reads only the
 * stored rows, the keys and the recorded deployments. It stays valid while none of them changes,
 * so the agent keeps it between cycles and only compares the container list again (checkLive).
 */
export interface NoChangeExpectation {
  /** The stacks this host runs, sorted, each with the verdict its containers must match. */
  stacks: readonly (readonly [string, StackVerdict])[];
  deployed: (stack: string) => DeployedRecord | undefined;
}

/** Why the recorded deployment does not match the verdict, or undefined when it does. */
function deploymentMismatch(verdict: StackVerdict, deployed: DeployedRecord | undefined, commit: string): string | undefined {
  if (!deployed || deployed.revision !== commit || deployed.inputsHash !== verdict.inputsHash) return 'the recorded deployment is not this revision';
  const names = Object.keys(verdict.services);
  const recorded = Object.keys(deployed.configHashes);
  if (names.length === 0 || recorded.length !== names.length) return 'the recorded services differ';
  for (const name of names) if (own(deployed.configHashes, name) !== own(verdict.services, name)?.configHash) return 'the recorded config hash differs';
  return undefined;
}

/** Why one stack's live replicas do not match its verdict, or undefined when they do. */
function liveMismatch(verdict: StackVerdict, live: LiveStackSummary | undefined): string | undefined {
  if (live?.agent) return 'the project runs the agent';
  for (const service of Object.keys(live?.services ?? {})) if (own(verdict.services, service) === undefined) return 'a container of an undeclared service';
  for (const name of Object.keys(verdict.services)) {
    const want = own(verdict.services, name)!;
    const s = own(live?.services, name);
    if (s?.total !== want.replicas) return `${name}: replica count differs`;
    if (s.configHash !== want.configHash) return `${name}: config hash label differs`;
    if (s.running !== s.total || s.unhealthy > 0 || (s.starting ?? 0) > 0) return `${name}: not running and healthy`;
  }
  return undefined;
}

/**
 * The stored side of the decision: every stack this host runs has a well-formed row under its
 * current key, and the state DB recorded its deployment at this commit with the verdict's hashes.
 */
export function expectNoChange(input: Omit<NoChangeInput, 'containers'>): { hit: true; expectation: NoChangeExpectation } | { hit: false; reason: string } {
  const fleetRow = input.stored.get(FLEET_SCOPE);
  if (fleetRow?.key !== input.fleetKey) return { hit: false, reason: 'host selection not cached' };
  const fleet = FleetVerdict().safeParse(fleetRow.verdict);
  if (!fleet.success) return { hit: false, reason: 'host selection row malformed' };
  const declared = Object.keys(fleet.data.stacks).sort();
  if (declared.length === 0) return { hit: false, reason: 'no stack declared' };
  const stacks: [string, StackVerdict][] = [];
  for (const stack of declared) {
    const policy = own(fleet.data.stacks, stack);
    const key = policy === undefined ? undefined : input.stackKey(stack, policy);
    const row = input.stored.get(stackScope(stack));
    if (key === undefined || row?.key !== key) return { hit: false, reason: `${stack}: inputs changed` };
    const verdict = StackVerdict().safeParse(row.verdict);
    if (!verdict.success) return { hit: false, reason: `${stack}: verdict row malformed` };
    const why = deploymentMismatch(verdict.data, input.deployed(stack), input.commit);
    if (why !== undefined) return { hit: false, reason: `${stack}: ${why}` };
    stacks.push([stack, verdict.data]);
  }
  return { hit: true, expectation: { stacks, deployed: input.deployed } };
}

/**
 * The live side, from one container list: every stack runs exactly its verdict's replicas,
 * labelled with the verdict's hashes, running and healthy, and no project driftd deployed here has
 * left the host (the full plan decides about pruning it).
 */
export function checkLive(expectation: NoChangeExpectation, containers: readonly LiveContainer[]): NoChange {
  // The planner's own reading of the container list: Compose replicas only (isComposeReplica).
  const live = summarizeContainers(containers);
  const declared = new Set(expectation.stacks.map(([stack]) => stack));
  for (const [project, summary] of Object.entries(live)) {
    if (declared.has(project)) continue;
    if (summary.managedByDriftd && expectation.deployed(project) !== undefined) return miss(`${project} left the host`);
  }
  for (const [stack, verdict] of expectation.stacks) {
    const why = liveMismatch(verdict, own(live, stack));
    if (why !== undefined) return miss(`${stack}: ${why}`);
  }
  return { hit: true, stacks: [...declared] };
}

/**
 * A miss where most stacks are still known: the host's selection row holds, and `unchanged` lists
 * each stack whose inputs key, verdict row, recorded deployment (inputs and config hashes; the
 * revision may be an older commit) and live containers all agree — what a full plan would find
 * "in sync" without a Compose run. Every other declared stack is in `changed` and is loaded and
 * planned in full. Undefined when the selection is not known, a project driftd deployed here left
 * the host (a prune is for the full plan), or no stack is known (nothing to save).
 */
export interface PartialNoChange {
  unchanged: (readonly [string, StackVerdict])[];
  changed: string[];
}

export function splitByVerdict(input: NoChangeInput): PartialNoChange | undefined {
  const fleetRow = input.stored.get(FLEET_SCOPE);
  if (fleetRow?.key !== input.fleetKey) return undefined;
  const fleet = FleetVerdict().safeParse(fleetRow.verdict);
  if (!fleet.success) return undefined;
  const declared = Object.keys(fleet.data.stacks).sort();
  const live = summarizeContainers(input.containers);
  const declaredSet = new Set(declared);
  for (const [project, summary] of Object.entries(live)) {
    if (!declaredSet.has(project) && summary.managedByDriftd && input.deployed(project) !== undefined) return undefined;
  }
  const unchanged: [string, StackVerdict][] = [];
  const changed: string[] = [];
  for (const stack of declared) {
    const policy = own(fleet.data.stacks, stack);
    const key = policy === undefined ? undefined : input.stackKey(stack, policy);
    const row = input.stored.get(stackScope(stack));
    const verdict = key !== undefined && row?.key === key ? StackVerdict().safeParse(row.verdict) : undefined;
    const deployed = input.deployed(stack);
    // The revision may be older: a new commit that left this stack's inputs alone is recorded, not applied.
    const known =
      verdict?.success === true &&
      deployed !== undefined &&
      deploymentMismatch(verdict.data, deployed, deployed.revision) === undefined &&
      liveMismatch(verdict.data, own(live, stack)) === undefined;
    if (known) unchanged.push([stack, verdict.data]);
    else changed.push(stack);
  }
  return unchanged.length === 0 ? undefined : { unchanged, changed };
}

/**
 * Every stack this host runs is known in sync at these inputs and its live containers still match:
 * a hit lists them. Anything else — a missing, stale or malformed row, a project driftd deployed
 * that is no longer declared, one container off — is a miss with the first reason found.
 */
export function decideNoChange(input: NoChangeInput): NoChange {
  const expected = expectNoChange(input);
  return expected.hit ? checkLive(expected.expectation, input.containers) : miss(expected.reason);
}
