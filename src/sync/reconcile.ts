import { dict, own } from '../util/dict.js';
import type { DesiredStack, DesiredState } from '../compose/model.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { computeDrift, type DriftResult } from '../drift/compute-drift.js';
import type { HealthStatus } from '../drift/model.js';
import { describeError, isDriftdError } from '../errors/index.js';
import type { ComposeCli } from '../live/compose-cli.js';
import { pingDocker, type DockerConnection } from '../live/docker-client.js';
import { collectInventory, type Listing } from '../live/inventory.js';
import type { ListingCache } from '../live/engine-watch.js';
import type { LiveInventory } from '../live/model.js';
import { listProjectContainers } from '../live/project-containers.js';
import { createCredentialSource } from '../image/docker-auth.js';
import { createDigestResolver, type DigestResolver } from '../image/resolver.js';
import { secretIndexFromStacks } from '../report/secrets.js';
import type { GitSource } from '../source/index.js';
import type { Deployment, StateStore } from '../state/index.js';
import type { Trigger } from '../state/schema.js';
import type { Logger } from '../util/logger.js';
import { scrubText } from '../util/scrub.js';
import { evaluateWindows, waitingReason, windowsFor, type SyncWindow } from '../windows/index.js';
import { DEFAULT_CHECKS_TIMEOUT_MS } from '../checks/model.js';
import { describeFailures, runChecks, type CheckContext } from '../checks/run.js';
import { applyStack, execInService, pruneStack, type ApplyDeps, type ComposeLog } from './apply.js';
import { evaluateHealth, waitHealthy, type HealthGateResult } from './health-gate.js';
import { hostFaultOf } from './host-fault.js';
import { checkStackPolicy, describeViolations } from '../policy/check.js';
import type { SecurityPolicyInput } from '../policy/schema.js';
import { summarizeLive } from './live-summary.js';
import type { LiveHealth, LiveStackSummary, RollbackPlan, StackPlan, StackTarget, SyncPlan } from './model.js';
import { endJournaled, runJournaled, startOperation, tryState, type JournalStep } from './journaled.js';
import { loadStackAt } from './stack-at.js';
import { changedServices, ownedStacks, planSync } from './plan.js';
import { servicesToPull } from './pull-check.js';
import { describeRevision as describeRevisionOf, recordedMessage, shortCommit } from '../util/text.js';
import { readSwarm, readSwarmRole } from '../swarm/engine-read.js';
import type { SwarmLive } from '../swarm/engine-model.js';
import type { SwarmRole } from '../swarm/leader.js';
import { summarizeSwarm } from '../swarm/live.js';
import { applySwarmStack, execInSwarmTask, removeRotatedObjects, removeSwarmStack, waitSwarmHealthy, type SwarmDeps } from './swarm-apply.js';

export type StackResult = 'unchanged' | 'recorded' | 'deployed' | 'rolled-back' | 'failed' | 'skipped' | 'awaiting-approval' | 'pruned' | 'abandoned' | 'refused';

export interface StackOutcome {
  stack: string;
  action: StackPlan['action'];
  result: StackResult;
  message: string;
  revision?: string;
  health?: HealthStatus;
  /** The run failed for a reason of the host (disk, Docker, state DB), not of the revision: retried at the next run. */
  hostFault?: boolean;
}

export interface ReconcileDeps {
  config: ResolvedConfig;
  logger: Logger;
  state: StateStore;
  docker: DockerConnection;
  /** Only to load a stack's rollback target at its last healthy revision. */
  source: Pick<GitSource, 'materialize'>;
  /** Detected on first use only: a no-change reconcile never starts a Compose process. */
  compose: () => Promise<ComposeCli>;
  trigger: Trigger;
  actor: string;
  command: string;
  signal?: AbortSignal;
  /** Stacks whose last apply was interrupted: their health is verified even when nothing changed. */
  recovering?: ReadonlySet<string>;
  /** The agent's listing cache (live/engine-watch.ts): the plan's inventory reuses the verdict's listing while nothing changed. */
  listing?: ListingCache<Listing>;
}

export interface ReconcileInput {
  desired: DesiredState;
  targets: StackTarget[];
  only: string[];
  dryRun: boolean;
  force: boolean;
  allowMassPrune: boolean;
  /** Sync windows: a manual sync (CLI) passes windows with `manualSync`; `ignore` (--ignore-windows, audited) passes all. */
  windows?: { manual: boolean; ignore: boolean; nowMs?: number };
  /** Also compare desired and live after the run (the agent: metrics and notifications). */
  drift?: boolean;
}

export interface ReconcileResult {
  plan: SyncPlan;
  outcomes: StackOutcome[];
  /** 0 all synced and healthy, 2 some stack failed or waits for approval. */
  exitCode: 0 | 2;
  /** With `input.drift`: desired vs live once this run is done (labels, and fields for selfHeal stacks). */
  drift?: DriftResult;
}

const FAILED_RESULTS: ReadonlySet<StackResult> = new Set(['failed', 'rolled-back', 'awaiting-approval', 'abandoned', 'refused']);

function redactor(stacks: readonly DesiredStack[]): (text: string) => string {
  const values = secretIndexFromStacks(stacks).values;
  return (text) => scrubText(text, values);
}

async function inventoryFor(deps: ReconcileDeps, input: ReconcileInput): Promise<LiveInventory> {
  // Field-level comparison (inspect) only for selfHeal stacks: everything else is decided on labels.
  const healing = new Set(input.targets.filter((t) => t.stack.policy.selfHeal).map((t) => t.stack.name));
  return collectInventory(deps.docker.docker, { inspect: (c) => c.project !== undefined && healing.has(c.project), ...(deps.listing ? { listing: deps.listing } : {}) });
}

function driftedStacks(input: ReconcileInput, inventory: LiveInventory): Set<string> {
  const healing = input.targets.filter((t) => t.stack.policy.selfHeal).map((t) => t.stack.name);
  if (healing.length === 0) return new Set();
  const drift = computeDrift({ desired: input.desired, live: inventory, stacks: healing });
  return new Set(drift.stacks.filter((s) => s.findings.some((f) => f.kind === 'config-drift' || f.kind === 'image-drift')).map((s) => s.stack));
}

/**
 * Each target's live health by the health gate's rules. A container left `created` (a crash
 * between create and start) never starts by itself: it counts as down, not as progressing.
 */
function liveHealthOf(input: ReconcileInput, inventory: LiveInventory): Record<string, LiveHealth> {
  const out: Record<string, LiveHealth> = {};
  for (const t of input.targets) {
    const containers = inventory.projects[t.stack.name]?.containers ?? [];
    if (containers.length === 0) continue;
    const verdict = evaluateHealth(t.stack, containers);
    const stuck = verdict.health === 'Progressing' && containers.some((c) => c.state === 'created');
    out[t.stack.name] = { health: stuck ? 'Degraded' : verdict.health, problems: verdict.problems };
  }
  return out;
}

function unchangedServiceRevisions(target: StackTarget, live: LiveStackSummary | undefined): Record<string, { revision: string; ref?: string }> {
  const out = dict<{ revision: string; ref?: string }>();
  for (const svc of target.stack.services) {
    const l = own(live?.services, svc.name);
    if (l?.configHash === svc.configHash && l.revision) out[svc.name] = { revision: l.revision, ...(l.ref !== undefined ? { ref: l.ref } : {}) };
  }
  return out;
}

/** Stacks the policy refuses under `enforce`, with which service breaks which rule. */
export function policyRefusals(hostPolicy: SecurityPolicyInput | undefined, targets: readonly StackTarget[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const t of targets) {
    const check = checkStackPolicy(hostPolicy, t.stack);
    if (check.refused) out.set(t.stack.name, describeViolations(check.violations));
  }
  return out;
}

export function planFor(
  deps: Pick<ReconcileDeps, 'state' | 'config'>,
  input: ReconcileInput,
  live: Record<string, LiveStackSummary>,
  drifted: Set<string>,
  health: Record<string, LiveHealth> = {},
  reportOnly: Record<string, string> = {},
): SyncPlan {
  const { state } = deps;
  const deployed = dict<{ revision: string; inputsHash: string; configHashes: Record<string, string> }>();
  const approvals = new Set<string>();
  for (const t of input.targets) {
    const d = state.currentDeployment(t.stack.name);
    if (d) deployed[t.stack.name] = { revision: d.revision, inputsHash: d.inputsHash, configHashes: d.configHashes };
    if (state.isApproved(t.stack.name, t.revision.commit)) approvals.add(`${t.stack.name}@${t.revision.commit}`);
  }
  const declared = new Set(input.targets.map((t) => t.stack.name));
  const ours = ownedStacks(live, declared, (stack) => state.currentDeployment(stack) !== undefined);
  return planSync({
    targets: input.targets,
    loadErrors: input.desired.errors.map((e) => ({ stack: e.stack, message: e.file ? `${e.file}${e.line ? `:${e.line}` : ''}: ${e.message}` : e.message })),
    live: ours,
    health,
    deployed,
    failedRevisions: new Set(state.failedRevisions().map((f) => `${f.stack}@${f.revision}`)),
    approvals,
    drifted,
    refused: policyRefusals(deps.config.policy, input.targets),
    prunePolicies: prunePolicies(input.desired, ours),
    only: input.only,
    force: input.force,
    allowMassPrune: input.allowMassPrune,
    heldByWindow: input.windows?.ignore ? {} : heldByWindow(deps.config.windows, input, live),
    reportOnly,
  });
}

/** Stacks (declared or live) whose windows forbid an apply now → the reason status shows. */
export function heldByWindow(hostWide: readonly SyncWindow[], input: ReconcileInput, live: Record<string, LiveStackSummary>): Record<string, string> {
  const own = new Map(input.targets.map((t) => [t.stack.name, t.stack.policy.windows ?? []]));
  const names = new Set([...own.keys(), ...Object.keys(live)]);
  const out = dict<string>();
  const now = input.windows?.nowMs ?? Date.now();
  for (const stack of names) {
    const windows = windowsFor(stack, hostWide, own.get(stack));
    if (windows.length === 0) continue;
    const verdict = evaluateWindows(windows, now, input.windows?.manual ?? false);
    if (!verdict.allowed) out[stack] = waitingReason(verdict);
  }
  return out;
}

/** Stacks that left this host: their prune policy still comes from fleet.yaml's `stacks:` section. */
function prunePolicies(desired: DesiredState, live: Record<string, LiveStackSummary>): Record<string, { prune: boolean }> {
  const out = dict<{ prune: boolean }>();
  for (const stack of Object.keys(live)) {
    const policy = own(desired.policies, stack);
    if (policy) out[stack] = { prune: policy.prune };
  }
  return out;
}

/** What a reconcile knows of the Swarm, read once, only when some target has engine: swarm. */
interface SwarmView {
  role: SwarmRole;
  live: SwarmLive;
}

const isSwarm = (t: StackTarget): boolean => t.stack.policy.engine === 'swarm';

/**
 * Swarm stacks this run may touch: a target, or a stack fleet.yaml still names with engine: swarm
 * and prune: true (it may have left the host). A host with neither never asks the engine about Swarm.
 */
function swarmNamed(input: ReconcileInput): boolean {
  return input.targets.some(isSwarm) || Object.values(input.desired.policies ?? {}).some((p) => p.engine === 'swarm' && p.prune);
}

async function swarmViewFor(deps: ReconcileDeps, input: ReconcileInput): Promise<SwarmView | undefined> {
  if (!swarmNamed(input)) return undefined;
  const { docker, address } = deps.docker;
  const role = await readSwarmRole(docker, address);
  // A manager that is not the leader still reads services and tasks: it reports what runs.
  const live = role.role === 'none' ? { services: [], tasks: [] } : await readSwarm(docker, address);
  return { role, live };
}

/**
 * Swarm stacks' summaries (service labels, replicas, running tasks) beside the Compose projects'.
 * On the leader, a Swarm stack driftd deployed that is no longer a target is listed too, so the plan
 * can prune it (`docker stack rm`) when fleet.yaml says `engine: swarm` and `prune: true` for it.
 */
function withSwarmStacks(live: Record<string, LiveStackSummary>, input: ReconcileInput, swarm: SwarmView | undefined): Record<string, LiveStackSummary> {
  if (!swarm) return live;
  const summaries = summarizeSwarm(swarm.live);
  const out = dict(Object.entries(live));
  for (const t of input.targets.filter(isSwarm)) {
    const s = own(summaries, t.stack.name);
    if (s) out[t.stack.name] = { ...s, swarm: true };
    else delete out[t.stack.name];
  }
  if (swarm.role.role !== 'leader') return out;
  const targets = new Set(input.targets.map((t) => t.stack.name));
  for (const [name, s] of Object.entries(summaries)) {
    // A Compose project of the same name is the Compose stack's; only stacks fleet.yaml names as Swarm ones.
    if (targets.has(name) || own(out, name) !== undefined || own(input.desired.policies, name)?.engine !== 'swarm' || !s.managedByDriftd) continue;
    out[name] = { ...s, swarm: true };
  }
  return out;
}

/** On an engine that is not the Swarm's leader, Swarm stacks are reported only, with the reason. */
function swarmReportOnly(input: ReconcileInput, swarm: SwarmView | undefined): Record<string, string> {
  const out = dict<string>();
  if (!swarm || swarm.role.role === 'leader') return out;
  for (const t of input.targets.filter(isSwarm)) out[t.stack.name] = swarm.role.reason;
  return out;
}

/**
 * One reconcile: plan (pure), then apply stack by stack with a journal, a health gate and
 * rollback. The caller holds the host's reconcile lock.
 */
export async function reconcile(deps: ReconcileDeps, input: ReconcileInput): Promise<ReconcileResult> {
  const { state, logger } = deps;
  const inventory = await inventoryFor(deps, input);
  const swarm = await swarmViewFor(deps, input);
  const live = withSwarmStacks(summarizeLive(inventory), input, swarm);
  const health = liveHealthOf(input, inventory);
  const plan = planFor(deps, input, live, driftedStacks(input, inventory), health, swarmReportOnly(input, swarm));
  for (const w of plan.warnings) logger.warn(w);
  if (input.windows?.ignore && !input.dryRun) auditIgnoredWindows(deps, input, live, plan);
  if (input.dryRun) return { plan, outcomes: [], exitCode: plan.stacks.some((p) => p.action === 'await-approval') ? 2 : 0 };

  const redact = redactor(input.targets.map((t) => t.stack));
  const outcomes: StackOutcome[] = [];
  // Stacks where nothing ran get their status in one transaction at the end (a no-change run over
  // 200 stacks: one commit, not 200); a stack that ran something is recorded at once.
  const unchanged: Parameters<StateStore['setStackStatus']>[0][] = [];
  // Likewise the stacks a new revision changes nothing for ('recorded'): one read of the current
  // deployments, one transaction of new rows at the end (a tag that changes one of 1,000 stacks
  // made 999 reads and 999 commits).
  const quiet: QuietRun = { current: state.currentDeployments(), recorded: [] };
  try {
    for (const p of await withRollbacks(deps, plan.stacks)) {
      if (deps.signal?.aborted) {
        outcomes.push({ stack: p.stack, action: p.action, result: 'abandoned', message: 'driftd is stopping; left for the next run' });
        continue;
      }
      const outcome = await executeStack(deps, p, live[p.stack], health[p.stack], redact, quiet);
      outcomes.push(outcome);
      const status = statusAfter(p, outcome);
      if (status && p.action === 'none') unchanged.push(status);
      else if (status) state.setStackStatus(status);
    }
  } finally {
    try {
      state.recordDeployments(quiet.recorded);
    } finally {
      state.setStackStatuses(unchanged);
    }
  }
  const unconverged = plan.warnings.length > 0;
  const problems = new Set(plan.stacks.filter((p) => p.problem).map((p) => p.stack));
  // A problem the plan found (failed before, invalid, a container down with selfHeal off) leaves the
  // stack not "synced & healthy" even when nothing ran for it.
  const exitCode = unconverged || outcomes.some((o) => FAILED_RESULTS.has(o.result) || (problems.has(o.stack) && (o.result === 'skipped' || o.result === 'unchanged'))) ? 2 : 0;
  if (!input.drift) return { plan, outcomes, exitCode };
  return { plan, outcomes, exitCode, drift: await driftAfter(deps, input, outcomes, inventory, swarm) };
}

/**
 * Each stack that may roll back gets its rollback target now, before anything is applied: the
 * executor never goes back to Git or the loader in the middle of an apply.
 */
async function withRollbacks(deps: Pick<ReconcileDeps, 'state' | 'source' | 'config' | 'recovering'>, stacks: readonly StackPlan[]): Promise<StackPlan[]> {
  const out: StackPlan[] = [];
  for (const p of stacks) {
    const t = p.target;
    const applies = p.action === 'deploy' || p.action === 'rollback' || (p.action === 'none' && deps.recovering?.has(p.stack) === true);
    out.push(t && applies && t.stack.policy.rollbackOnFailure ? { ...p, rollbackTo: await planRollback(deps, t) } : p);
  }
  return out;
}

/** Where `failed` goes back to if it fails: the stack's last healthy revision, loaded and checked against the policy. */
export async function planRollback(deps: Pick<ReconcileDeps, 'state' | 'source' | 'config'>, failed: StackTarget): Promise<RollbackPlan> {
  const name = failed.stack.name;
  const last = deps.state.lastHealthyDeployment(name, { exceptRevision: failed.revision.commit });
  if (!last) return { kind: 'none' };
  try {
    const { stack, root } = await loadStackAt(deps, last.revision, name, failed.stack.policy);
    const target: StackTarget = { stack, revision: { commit: last.revision, ...(last.ref ? { ref: last.ref } : {}), refKind: 'tag' }, root };
    const refusal = policyRefusals(deps.config.policy, [target]).get(name);
    return refusal === undefined ? { kind: 'ready', target } : { kind: 'refused', target, reason: refusal };
  } catch (e) {
    return { kind: 'unloadable', revision: last.revision, error: describeError(e) };
  }
}

const APPLIED: ReadonlySet<StackResult> = new Set(['deployed', 'rolled-back', 'failed', 'pruned', 'abandoned']);

/**
 * Desired vs live after the run. The inventory listed before it is reused when nothing was
 * applied (a no-change poll costs no second listing); otherwise the engine is listed again.
 */
async function driftAfter(
  deps: ReconcileDeps,
  input: ReconcileInput,
  outcomes: readonly StackOutcome[],
  before: LiveInventory,
  swarmBefore: SwarmView | undefined,
  deployments: ReadonlyMap<string, Pick<Deployment, 'revision' | 'ref'>> = deps.state.currentDeployments(),
): Promise<DriftResult> {
  const applied = outcomes.some((o) => APPLIED.has(o.result));
  const live = applied ? await inventoryFor(deps, input) : before;
  // Swarm stacks are compared with the services and tasks (read again after an apply); on an engine outside a Swarm they are Unknown.
  const swarm = swarmBefore && swarmBefore.role.role !== 'none' ? (applied ? await readSwarm(deps.docker.docker, deps.docker.address) : swarmBefore.live) : undefined;
  const deployed: Record<string, { revision: string; ref?: string }> = {};
  for (const t of input.targets) {
    const d = deployments.get(t.stack.name);
    if (d) deployed[t.stack.name] = { revision: d.revision, ...(d.ref ? { ref: d.ref } : {}) };
  }
  return computeDrift({ desired: input.desired, live, deployed, stacks: input.targets.map((t) => t.stack.name), ...(swarm ? { swarm } : {}) });
}

/**
 * Desired vs live for a run that applied nothing, from an inventory the caller listed (the stored
 * no-change verdict's hit in the agent): the same comparison a full run makes after it.
 */
export async function driftOfUnchanged(
  deps: ReconcileDeps,
  input: Pick<ReconcileInput, 'desired' | 'targets'>,
  inventory: LiveInventory,
  deployments?: ReadonlyMap<string, Pick<Deployment, 'revision' | 'ref'>>,
): Promise<DriftResult> {
  const full: ReconcileInput = { ...input, only: [], dryRun: false, force: false, allowMassPrune: false };
  return driftAfter(deps, full, [], inventory, await swarmViewFor(deps, full), deployments);
}

/** --ignore-windows: every apply that a window would have held back is in the audit trail. */
function auditIgnoredWindows(deps: ReconcileDeps, input: ReconcileInput, live: Record<string, LiveStackSummary>, plan: SyncPlan): void {
  const held = heldByWindow(deps.config.windows, { ...input, windows: { manual: true, ignore: false, ...(input.windows?.nowMs !== undefined ? { nowMs: input.windows.nowMs } : {}) } }, live);
  for (const p of plan.stacks) {
    const why = held[p.stack];
    if (why === undefined || !(p.action === 'deploy' || p.action === 'rollback' || p.action === 'prune')) continue;
    deps.logger.warn({ stack: p.stack }, `--ignore-windows: applying ${p.stack} although ${why}`);
    deps.state.audit({ actor: deps.actor, trigger: deps.trigger, action: 'sync', stack: p.stack, detail: { ignoreWindows: true, window: why, planned: p.action } });
  }
}

const SYNCED_RESULTS: ReadonlySet<StackResult> = new Set(['unchanged', 'recorded', 'deployed']);

/** What `driftd status` shows after this run; nothing for stacks that left the host. */
function statusAfter(p: StackPlan, o: StackOutcome): Parameters<StateStore['setStackStatus']>[0] | undefined {
  if (o.result === 'pruned') return undefined;
  const invalid = !p.target && p.problem === true;
  if (!p.target && !invalid) return undefined;
  return {
    stack: p.stack,
    // A host fault says nothing about the stack: what runs is not known to match until the next run.
    sync: invalid || o.hostFault ? 'Unknown' : SYNCED_RESULTS.has(o.result) ? 'Synced' : 'OutOfSync',
    health: o.hostFault ? 'Unknown' : (o.health ?? 'Unknown'),
    reason: o.message,
    ...(p.revision ? { revision: p.revision } : {}),
  };
}

function healthOf(live: LiveStackSummary | undefined, judged?: LiveHealth): HealthStatus {
  if (!live || Object.keys(live.services).length === 0) return 'Missing';
  if (judged) return judged.health;
  const all = Object.values(live.services);
  if (all.some((s) => s.unhealthy > 0 || s.running < s.total)) return 'Degraded';
  return 'Healthy';
}

/** The run's stacks with nothing to apply: their current deployments, read once, and the rows to add for them at the end. */
interface QuietRun {
  current: ReadonlyMap<string, Deployment>;
  recorded: ReturnType<typeof deploymentRecord>[];
}

async function executeStack(
  deps: ReconcileDeps,
  p: StackPlan,
  live: LiveStackSummary | undefined,
  judged: LiveHealth | undefined,
  redact: (t: string) => string,
  quiet: QuietRun,
): Promise<StackOutcome> {
  const { state } = deps;
  const base = { stack: p.stack, action: p.action, ...(p.revision ? { revision: p.revision } : {}) };
  switch (p.action) {
    case 'none': {
      const target = p.target;
      if (target && deps.recovering?.has(p.stack)) return verifyRecovered(deps, p, target, redact);
      // Only this stack's own step changes its deployments, so the run's first read still holds.
      const current = quiet.current.get(p.stack);
      const health = healthOf(live, judged);
      if (target && (current?.revision !== target.revision.commit || current.inputsHash !== target.stack.inputsHash)) {
        // Inputs moved on without changing any service: record the revision, run nothing.
        quiet.recorded.push(deploymentRecord(target, health, 'succeeded'));
        return { ...base, result: 'recorded', message: recordedMessage(target.revision), health };
      }
      return { ...base, result: 'unchanged', message: p.reason, health };
    }
    case 'skip':
      return { ...base, result: 'skipped', message: p.reason, health: healthOf(live, judged) };
    case 'refuse':
      recordRefusal(deps, p);
      return { ...base, result: 'refused', message: p.reason, health: healthOf(live, judged) };
    case 'await-approval':
      if (p.revision) state.setPending(p.stack, p.revision);
      return { ...base, result: 'awaiting-approval', message: p.reason, health: healthOf(live, judged) };
    case 'prune':
      return pruneOne(deps, p, live, redact);
    case 'deploy':
    case 'rollback':
      return deployOne(deps, p, live, redact);
  }
}

/**
 * A history row for a refused stack, naming each service and rule. A refusal of the same
 * revision for the same reasons is recorded once, not once per poll.
 */
function recordRefusal(deps: ReconcileDeps, p: StackPlan): void {
  const { state } = deps;
  const last = state.history({ stack: p.stack, limit: 1 })[0];
  if (last?.result === 'refused' && last.revision === p.revision && last.message === p.reason) return;
  const step: JournalStep = { stack: p.stack, action: 'deploy', ...(p.revision ? { revision: p.revision } : {}) };
  endJournaled(deps, step, { op: startOperation(deps, step), journal: undefined }, { result: 'refused', message: p.reason, audit: { revision: p.revision, refused: p.reason } });
  deps.logger.error({ stack: p.stack, revision: p.revision }, `${p.stack}: ${p.reason}`);
}

function describeRevision(t: StackTarget): string {
  return describeRevisionOf(t.revision);
}

function deploymentRecord(t: StackTarget, health: HealthStatus, status: 'succeeded' | 'failed' | 'rolled-back', operationId?: number) {
  return {
    stack: t.stack.name,
    revision: t.revision.commit,
    ...(t.revision.ref ? { ref: t.revision.ref } : {}),
    inputsHash: t.stack.inputsHash,
    configHashes: Object.fromEntries(t.stack.services.map((s) => [s.name, s.configHash])),
    health,
    status,
    ...(operationId ? { operationId } : {}),
  };
}

async function pruneOne(deps: ReconcileDeps, p: StackPlan, live: LiveStackSummary | undefined, redact: (t: string) => string): Promise<StackOutcome> {
  const log: ComposeLog = { output: '' };
  try {
    await runJournaled(
      deps,
      { stack: p.stack, action: 'prune' },
      async () => {
        if (live?.swarm) await removeSwarmStack(swarmDeps(deps), p.stack, log);
        else await pruneStack({ compose: await deps.compose(), dataDir: deps.config.dataDir, timeoutMs: deps.config.composeTimeoutMs }, p.stack, log);
        return { value: undefined, end: { result: 'succeeded', message: p.reason, output: redact(log.output), audit: {}, also: () => deps.state.removeStackStatus(p.stack) } };
      },
      (e) => Promise.resolve({ message: redact(describeError(e)), output: redact(log.output), error: e }),
    );
    return { stack: p.stack, action: 'prune', result: 'pruned', message: p.reason };
  } catch (e) {
    return { stack: p.stack, action: 'prune', result: 'failed', message: redact(describeError(e)) };
  }
}

function pullChooser(deps: ReconcileDeps): ApplyDeps['choosePulls'] {
  const { docker, address } = deps.docker;
  let resolver: DigestResolver | undefined;
  return (candidates) =>
    servicesToPull(
      { docker, address, resolver: () => (resolver ??= createDigestResolver({ docker, credentials: createCredentialSource(), logger: deps.logger })) },
      candidates,
    );
}

/**
 * The variables a check may use: the tag and commit being verified. An exec check runs in the
 * service's container: `compose exec` for a Compose stack, `docker exec` in a running task
 * container on this node for a Swarm stack (docs/swarm.md).
 */
function checkContext(deps: ReconcileDeps, target: StackTarget, redact: (t: string) => string): CheckContext {
  return {
    vars: { DRIFTD_TAG: target.revision.ref ?? '', DRIFTD_REVISION: target.revision.commit, DRIFTD_STACK: target.stack.name },
    exec: isSwarm(target)
      ? (service, command, timeoutMs) => execInSwarmTask(swarmDeps(deps), target.stack.name, service, command, timeoutMs)
      : async (service, command, timeoutMs) =>
          execInService({ compose: await deps.compose(), dataDir: deps.config.dataDir, timeoutMs: deps.config.composeTimeoutMs }, target.stack.name, service, command, timeoutMs),
    scrub: redact,
  };
}

/** Docker's part of the gate: every container running and healthy, or for a Swarm stack every service converged. */
function dockerGate(deps: ReconcileDeps, target: StackTarget): Promise<HealthGateResult> {
  const common = { stack: target.stack, timeoutMs: target.stack.policy.healthTimeoutMs, ...(deps.signal ? { signal: deps.signal } : {}) };
  if (isSwarm(target)) {
    const sd = swarmDeps(deps);
    return waitSwarmHealthy({ ...common, read: () => readSwarm(sd.docker, sd.address) });
  }
  return waitHealthy({ ...common, list: () => listProjectContainers(deps.docker.docker, target.stack.name) });
}

/**
 * The health gate: Docker's (above), then the stack's post-deploy checks, retried until
 * `checksTimeout`. A failing check fails the gate like an unhealthy container, Compose or Swarm.
 */
async function healthGate(deps: ReconcileDeps, target: StackTarget, redact: (t: string) => string): Promise<HealthGateResult> {
  const gate = await dockerGate(deps, target);
  const checks = target.stack.policy.checks ?? [];
  if (!gate.ok || checks.length === 0 || deps.signal?.aborted) return gate;
  const verdict = await runChecks(checks, checkContext(deps, target, redact), {
    timeoutMs: target.stack.policy.checksTimeoutMs ?? DEFAULT_CHECKS_TIMEOUT_MS,
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  if (verdict.ok) return { ...gate, waitedMs: gate.waitedMs + verdict.waitedMs };
  return { ok: false, health: 'Degraded', problems: describeFailures(verdict.results), waitedMs: gate.waitedMs + verdict.waitedMs };
}

async function applyCompose(deps: ReconcileDeps, target: StackTarget, live: LiveStackSummary | undefined, log: ComposeLog, redact: (t: string) => string): Promise<HealthGateResult> {
  await applyStack(
    { compose: await deps.compose(), dataDir: deps.config.dataDir, timeoutMs: deps.config.composeTimeoutMs, choosePulls: pullChooser(deps) },
    target,
    unchangedServiceRevisions(target, live),
    changedServices(target, live),
    log,
  );
  return healthGate(deps, target, redact);
}

function swarmDeps(deps: ReconcileDeps): SwarmDeps {
  return { docker: deps.docker.docker, address: deps.docker.address, dataDir: deps.config.dataDir, timeoutMs: deps.config.composeTimeoutMs };
}

/**
 * `docker stack deploy`, then the health gate (every service converged, then the stack's checks);
 * once it passes, the configs/secrets a rotation left unused are removed (a failure to remove one
 * is logged, not fatal).
 */
async function applySwarm(
  deps: ReconcileDeps,
  target: StackTarget,
  serviceRevisions: Record<string, { revision: string; ref?: string }>,
  log: ComposeLog,
  redact: (t: string) => string,
): Promise<HealthGateResult> {
  const sd = swarmDeps(deps);
  const objects = await applySwarmStack(sd, target, serviceRevisions, log);
  const gate = await healthGate(deps, target, redact);
  if (gate.ok) {
    await removeRotatedObjects(sd, target.stack.name, objects, log).catch((e: unknown) => {
      log.output += `driftd: could not list rotated configs/secrets: ${describeError(e)}\n`;
    });
  }
  return gate;
}

/** Thrown by applyWithJournal once its operation row holds the failure; `hostFault` is the host's reason, if it was one. */
class ApplyFailure extends Error {
  constructor(
    message: string,
    readonly hostFault: boolean,
    readonly original: unknown,
  ) {
    super(message);
  }
}

function dockerAnswers(deps: ReconcileDeps): () => Promise<boolean> {
  return () => pingDocker(deps.docker.docker, deps.docker.address).then(
    () => true,
    () => false,
  );
}

/** `driftd status` while an apply runs: not yet known to be synced, health progressing. */
function markInFlight(deps: ReconcileDeps, target: StackTarget, action: 'deploy' | 'rollback'): void {
  tryState(deps, 'record the stack status', () =>
    deps.state.setStackStatus({
      stack: target.stack.name,
      sync: 'Unknown',
      health: 'Progressing',
      reason: `${action === 'rollback' ? 'rolling back' : 'deploying'} ${describeRevision(target)} since ${new Date().toISOString()}: Compose and the health gate are running`,
      revision: target.revision.commit,
    }),
  );
}

interface ApplyVerdict {
  ok: boolean;
  health: HealthStatus;
  message: string;
  /** driftd stopped during the health gate: the journal stays open for the next start. */
  aborted?: boolean;
}

/** Applies one target under a journal entry; returns the health-gate verdict. Throws ApplyFailure when Compose or the host fails. */
async function applyWithJournal(
  deps: ReconcileDeps,
  target: StackTarget,
  action: 'deploy' | 'rollback',
  live: LiveStackSummary | undefined,
  redact: (t: string) => string,
): Promise<ApplyVerdict> {
  const name = target.stack.name;
  const from = deps.state.currentDeployment(name)?.revision;
  const step: JournalStep = { stack: name, action, revision: target.revision.commit, ...(from ? { fromRevision: from } : {}) };
  const log: ComposeLog = { output: '' };
  return runJournaled<ApplyVerdict>(
    deps,
    step,
    async (j) => {
      markInFlight(deps, target, action);
      deps.logger.info({ stack: name, revision: target.revision.commit, action }, `${action === 'rollback' ? 'rolling back' : 'deploying'} ${name} to ${describeRevision(target)}`);
      const gate = isSwarm(target)
        ? await applySwarm(deps, target, unchangedServiceRevisions(target, live), log, redact)
        : await applyCompose(deps, target, live, log, redact);
      if (!gate.ok && deps.signal?.aborted) {
        // Stopping mid-gate: leave the journal open so the next start verifies this stack's health.
        return { value: { ok: false, health: gate.health, message: 'driftd stopped during the health gate; re-checked at next start', aborted: true } };
      }
      const message = redact(
        gate.ok
          ? `${describeRevision(target)} is running and healthy (${Math.round(gate.waitedMs / 1000)} s)`
          : `health gate failed for ${describeRevision(target)}: ${gate.problems.join('; ')}`,
      );
      const result = gate.ok ? 'succeeded' : 'failed';
      return {
        value: { ok: gate.ok, health: gate.health, message },
        end: {
          result,
          message,
          output: redact(log.output),
          audit: { revision: target.revision.commit, ok: gate.ok },
          also: () => deps.state.recordDeployment(deploymentRecord(target, gate.health, result, j.op)),
        },
      };
    },
    async (e) => {
      const fault = await hostFaultOf(e, dockerAnswers(deps));
      const message = redact(
        fault
          ? `host fault during the ${action} of ${describeRevision(target)}: ${fault}; not held against the revision, retried at the next run`
          : describeError(e),
      );
      return { message, output: redact(log.output), error: new ApplyFailure(message, fault !== undefined, e) };
    },
  );
}

async function deployOne(deps: ReconcileDeps, p: StackPlan, live: LiveStackSummary | undefined, redact: (t: string) => string): Promise<StackOutcome> {
  const { state, logger } = deps;
  const target = p.target;
  if (!target) return { stack: p.stack, action: p.action, result: 'failed', message: 'internal: no target for a deploy' };
  const base = { stack: p.stack, action: p.action, revision: target.revision.commit };
  let first;
  try {
    first = await applyWithJournal(deps, target, p.action === 'rollback' ? 'rollback' : 'deploy', live, redact);
  } catch (e) {
    const failure = e instanceof ApplyFailure ? e : undefined;
    // A host fault before the operation row existed (the state DB itself) is one as well.
    const fault = failure ? failure.hostFault : (await hostFaultOf(e, dockerAnswers(deps))) !== undefined;
    const message = failure?.message ?? redact(describeError(e));
    logger.error({ stack: p.stack, hostFault: fault }, message);
    if (fault) return { ...base, result: 'failed', message, health: 'Unknown', hostFault: true };
    // A failed pull or `up` that Compose refused: the running containers were not touched by the pull;
    // an invalid model is not retried until a newer revision appears.
    const cause = failure?.original ?? e;
    const pullFailed = isDriftdError(cause) && cause.code === 'ComposeFailed' && cause.data.action === 'pull';
    if (pullFailed) return { ...base, result: 'failed', message, health: healthOf(live) };
    // Compose may have stopped or recreated containers before it failed: roll back like a failed health gate.
    state.markRevisionFailed(p.stack, target.revision.commit, message);
    if (!target.stack.policy.rollbackOnFailure) return { ...base, result: 'failed', message, health: 'Degraded' };
    return rollbackAfterFailure(deps, target, p.rollbackTo, message, redact);
  }
  if (first.aborted) return { ...base, result: 'abandoned', message: first.message, health: first.health };
  if (first.ok) {
    state.clearFailed(p.stack, target.revision.commit);
    state.setPending(p.stack, null);
    return { ...base, result: 'deployed', message: first.message, health: 'Healthy' };
  }
  state.markRevisionFailed(p.stack, target.revision.commit, first.message);
  logger.error({ stack: p.stack }, first.message);
  if (!target.stack.policy.rollbackOnFailure) {
    return { ...base, result: 'failed', message: `${first.message}; rollbackOnFailure is off, left as is`, health: first.health };
  }
  return rollbackAfterFailure(deps, target, p.rollbackTo, first.message, redact);
}

/** An interrupted apply whose containers already match the target: run the health gate it never finished. */
async function verifyRecovered(deps: ReconcileDeps, p: StackPlan, target: StackTarget, redact: (t: string) => string): Promise<StackOutcome> {
  const { state } = deps;
  const base = { stack: p.stack, action: p.action, revision: target.revision.commit };
  const gate = await healthGate(deps, target, redact);
  if (gate.ok) {
    state.recordDeployment(deploymentRecord(target, 'Healthy', 'succeeded'));
    return { ...base, result: 'recorded', message: `interrupted apply of ${describeRevision(target)} verified: running and healthy`, health: 'Healthy' };
  }
  const why = redact(`interrupted apply of ${describeRevision(target)} is not healthy: ${gate.problems.join('; ')}`);
  // History must show the failure itself, not only the recovery and the rollback (docs/design.md §7).
  const step: JournalStep = { stack: p.stack, action: 'deploy', revision: target.revision.commit };
  const op = startOperation(deps, step);
  endJournaled(deps, step, { op, journal: undefined }, {
    result: 'failed',
    message: `health gate failed: ${why}`,
    audit: false,
    also: () => {
      state.recordDeployment(deploymentRecord(target, gate.health, 'failed', op));
      state.markRevisionFailed(p.stack, target.revision.commit, why);
    },
  });
  if (!target.stack.policy.rollbackOnFailure) return { ...base, result: 'failed', message: why, health: gate.health };
  return rollbackAfterFailure(deps, target, p.rollbackTo, why, redact);
}

/** Applies the rollback target the plan resolved for `failed` (withRollbacks); loads nothing itself. */
async function rollbackAfterFailure(
  deps: ReconcileDeps,
  failed: StackTarget,
  rollback: RollbackPlan | undefined,
  why: string,
  redact: (t: string) => string,
): Promise<StackOutcome> {
  const { logger } = deps;
  const name = failed.stack.name;
  const base = { stack: name, action: 'deploy' as const, revision: failed.revision.commit };
  if (!rollback || rollback.kind === 'none') return { ...base, result: 'failed', message: `${why}; no earlier healthy revision to roll back to`, health: 'Degraded' };
  if (rollback.kind === 'unloadable') {
    const message = `${why}; rollback to ${shortCommit(rollback.revision)} failed: ${redact(rollback.error)}`;
    logger.error({ stack: name }, message);
    return { ...base, result: 'failed', message, health: 'Degraded' };
  }
  const target = rollback.target;
  if (rollback.kind === 'refused') {
    return { ...base, result: 'failed', message: `${why}; not rolled back to ${describeRevision(target)}: refused by policy (enforce): ${rollback.reason}`, health: 'Degraded' };
  }
  try {
    const current = isSwarm(target)
      ? own(summarizeSwarm(await readSwarm(deps.docker.docker, deps.docker.address)), name)
      : summarizeLive({ ...(await collectInventory(deps.docker.docker, { inspect: 'none', projects: [name] })) })[name];
    const result = await applyWithJournal(deps, target, 'rollback', current, redact);
    const message = `${why}; rolled back to ${describeRevision(target)}${result.ok ? '' : ` but it is not healthy either: ${result.message}`}`;
    logger.warn({ stack: name }, message);
    return { ...base, result: result.ok ? 'rolled-back' : 'failed', message, health: result.health };
  } catch (e) {
    const message = `${why}; rollback to ${shortCommit(target.revision.commit)} failed: ${redact(describeError(e))}`;
    logger.error({ stack: name }, message);
    return { ...base, result: 'failed', message, health: 'Degraded' };
  }
}
