import { dict, own } from '../util/dict.js';
import { loadStack } from '../compose/index.js';
import type { DesiredStack, DesiredState } from '../compose/model.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { computeDrift } from '../drift/compute-drift.js';
import type { HealthStatus } from '../drift/model.js';
import { describeError, isDriftdError } from '../errors/index.js';
import type { ComposeCli } from '../live/compose-cli.js';
import type { DockerConnection } from '../live/docker-client.js';
import { collectInventory } from '../live/inventory.js';
import type { LiveInventory } from '../live/model.js';
import { listProjectContainers } from '../live/project-containers.js';
import { createCredentialSource } from '../lock/docker-auth.js';
import { createDigestResolver, type DigestResolver } from '../lock/resolver.js';
import { secretIndexFromStacks } from '../report/secrets.js';
import type { GitSource } from '../source/index.js';
import type { StateStore } from '../state/index.js';
import type { Trigger } from '../state/schema.js';
import type { Logger } from '../util/logger.js';
import { scrubText } from '../util/redact.js';
import { applyStack, pruneStack, type ApplyDeps, type ComposeLog } from './apply.js';
import { waitHealthy } from './health-gate.js';
import { summarizeLive } from './live-summary.js';
import { waitForComposeRuns } from './orphaned-compose.js';
import type { LiveStackSummary, StackPlan, StackTarget, SyncPlan } from './model.js';
import { changedServices, planSync } from './plan.js';
import { servicesToPull } from './pull-check.js';

export type StackResult = 'unchanged' | 'recorded' | 'deployed' | 'rolled-back' | 'failed' | 'skipped' | 'awaiting-approval' | 'pruned' | 'abandoned';

export interface StackOutcome {
  stack: string;
  action: StackPlan['action'];
  result: StackResult;
  message: string;
  revision?: string;
  health?: HealthStatus;
}

export interface ReconcileDeps {
  config: ResolvedConfig;
  logger: Logger;
  state: StateStore;
  docker: DockerConnection;
  source: GitSource;
  /** Detected on first use only: a no-change reconcile never starts a Compose process. */
  compose: () => Promise<ComposeCli>;
  trigger: Trigger;
  actor: string;
  command: string;
  signal?: AbortSignal;
  /** Stacks whose last apply was interrupted: their health is verified even when nothing changed. */
  recovering?: ReadonlySet<string>;
}

export interface ReconcileInput {
  desired: DesiredState;
  targets: StackTarget[];
  only: string[];
  dryRun: boolean;
  force: boolean;
  allowMassPrune: boolean;
}

export interface ReconcileResult {
  plan: SyncPlan;
  outcomes: StackOutcome[];
  /** 0 all synced and healthy, 2 some stack failed or waits for approval. */
  exitCode: 0 | 2;
}

const FAILED_RESULTS: ReadonlySet<StackResult> = new Set(['failed', 'rolled-back', 'awaiting-approval', 'abandoned']);

function redactor(stacks: readonly DesiredStack[]): (text: string) => string {
  const values = secretIndexFromStacks(stacks).values;
  return (text) => scrubText(text, values);
}

async function inventoryFor(deps: ReconcileDeps, input: ReconcileInput): Promise<LiveInventory> {
  // Field-level comparison (inspect) only for selfHeal stacks: everything else is decided on labels.
  const healing = new Set(input.targets.filter((t) => t.stack.policy.selfHeal).map((t) => t.stack.name));
  return collectInventory(deps.docker.docker, { inspect: (c) => c.project !== undefined && healing.has(c.project) });
}

function driftedStacks(input: ReconcileInput, inventory: LiveInventory): Set<string> {
  const healing = input.targets.filter((t) => t.stack.policy.selfHeal).map((t) => t.stack.name);
  if (healing.length === 0) return new Set();
  const drift = computeDrift({ desired: input.desired, live: inventory, stacks: healing });
  return new Set(drift.stacks.filter((s) => s.findings.some((f) => f.kind === 'config-drift' || f.kind === 'image-drift')).map((s) => s.stack));
}

function unchangedServiceRevisions(target: StackTarget, live: LiveStackSummary | undefined): Record<string, { revision: string; ref?: string }> {
  const out = dict<{ revision: string; ref?: string }>();
  for (const svc of target.stack.services) {
    const l = own(live?.services, svc.name);
    if (l?.configHash === svc.configHash && l.revision) out[svc.name] = { revision: l.revision, ...(l.ref !== undefined ? { ref: l.ref } : {}) };
  }
  return out;
}

/** Recovery: an apply that never ended (the agent was killed) is recorded and its stack re-evaluated, never replayed blindly. */
export async function recoverInterruptedApplies(state: StateStore, logger: Logger, trigger: Trigger, actor: string, composeTimeoutMs: number): Promise<string[]> {
  const recovered: string[] = [];
  for (const entry of state.openJournals()) {
    if (!(await waitForComposeRuns(entry.stack, composeTimeoutMs))) {
      logger.warn({ stack: entry.stack }, `a Compose run left by the interrupted apply of ${entry.stack} is still going after ${Math.round(composeTimeoutMs / 1000)} s; re-evaluating anyway`);
    }
    const op = state.startOperation({
      trigger,
      actor,
      command: 'recover',
      stack: entry.stack,
      action: 'recover',
      revision: entry.revision,
    });
    const message = `the ${entry.action} of ${entry.revision.slice(0, 12)} started ${entry.startedAt} never finished (driftd was stopped); re-evaluating the stack against live state`;
    logger.warn({ stack: entry.stack }, message);
    state.journalEnd(entry.id, 'abandoned');
    const original = state.operation(entry.operationId);
    if (original?.result === 'running') state.finishOperation(entry.operationId, { result: 'abandoned', message });
    state.finishOperation(op, { result: 'succeeded', message });
    state.audit({ actor, trigger, action: 'recover', stack: entry.stack, detail: { revision: entry.revision, fromRevision: entry.fromRevision } });
    recovered.push(entry.stack);
  }
  state.abandonOrphanedOperations();
  return recovered;
}

export function planFor(deps: Pick<ReconcileDeps, 'state'>, input: ReconcileInput, live: Record<string, LiveStackSummary>, drifted: Set<string>): SyncPlan {
  const { state } = deps;
  const deployed = dict<{ revision: string; inputsHash: string; configHashes: Record<string, string> }>();
  const approvals = new Set<string>();
  for (const t of input.targets) {
    const d = state.currentDeployment(t.stack.name);
    if (d) deployed[t.stack.name] = { revision: d.revision, inputsHash: d.inputsHash, configHashes: d.configHashes };
    if (state.isApproved(t.stack.name, t.revision.commit)) approvals.add(`${t.stack.name}@${t.revision.commit}`);
  }
  // Only stacks this state DB deployed can "leave" the host: another driftd's stacks are not ours to prune.
  const declared = new Set(input.targets.map((t) => t.stack.name));
  const ours = dict(
    Object.entries(live).map(([stack, summary]) => [
      stack,
      declared.has(stack) || !summary.managedByDriftd ? summary : { ...summary, managedByDriftd: state.currentDeployment(stack) !== undefined },
    ]),
  );
  return planSync({
    targets: input.targets,
    loadErrors: input.desired.errors.map((e) => ({ stack: e.stack, message: e.file ? `${e.file}${e.line ? `:${e.line}` : ''}: ${e.message}` : e.message })),
    live: ours,
    deployed,
    failedRevisions: new Set(state.failedRevisions().map((f) => `${f.stack}@${f.revision}`)),
    approvals,
    drifted,
    prunePolicies: prunePolicies(input.desired, ours),
    only: input.only,
    force: input.force,
    allowMassPrune: input.allowMassPrune,
  });
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

/**
 * One reconcile: plan (pure), then apply stack by stack with a journal, a health gate and
 * rollback. The caller holds the host's reconcile lock.
 */
export async function reconcile(deps: ReconcileDeps, input: ReconcileInput): Promise<ReconcileResult> {
  const { state, logger } = deps;
  const inventory = await inventoryFor(deps, input);
  const live = summarizeLive(inventory);
  const plan = planFor(deps, input, live, driftedStacks(input, inventory));
  for (const w of plan.warnings) logger.warn(w);
  if (input.dryRun) return { plan, outcomes: [], exitCode: plan.stacks.some((p) => p.action === 'await-approval') ? 2 : 0 };

  const redact = redactor(input.targets.map((t) => t.stack));
  const outcomes: StackOutcome[] = [];
  for (const p of plan.stacks) {
    if (deps.signal?.aborted) {
      outcomes.push({ stack: p.stack, action: p.action, result: 'abandoned', message: 'driftd is stopping; left for the next run' });
      continue;
    }
    const outcome = await executeStack(deps, p, live[p.stack], redact);
    outcomes.push(outcome);
    const status = statusAfter(p, outcome);
    if (status) state.setStackStatus(status);
  }
  const unconverged = plan.warnings.length > 0;
  const problems = new Set(plan.stacks.filter((p) => p.problem).map((p) => p.stack));
  const exitCode = unconverged || outcomes.some((o) => FAILED_RESULTS.has(o.result) || (o.result === 'skipped' && problems.has(o.stack))) ? 2 : 0;
  return { plan, outcomes, exitCode };
}

const SYNCED_RESULTS: ReadonlySet<StackResult> = new Set(['unchanged', 'recorded', 'deployed']);

/** What `driftd status` shows after this run; nothing for stacks that left the host. */
function statusAfter(p: StackPlan, o: StackOutcome): Parameters<StateStore['setStackStatus']>[0] | undefined {
  if (o.result === 'pruned') return undefined;
  const invalid = !p.target && p.problem === true;
  if (!p.target && !invalid) return undefined;
  return {
    stack: p.stack,
    sync: invalid ? 'Unknown' : SYNCED_RESULTS.has(o.result) ? 'Synced' : 'OutOfSync',
    health: o.health ?? 'Unknown',
    reason: o.message,
    ...(p.revision ? { revision: p.revision } : {}),
  };
}

function healthOf(live: LiveStackSummary | undefined): HealthStatus {
  if (!live || Object.keys(live.services).length === 0) return 'Missing';
  const all = Object.values(live.services);
  if (all.some((s) => s.unhealthy > 0 || s.running < s.total)) return 'Degraded';
  return 'Healthy';
}

async function executeStack(deps: ReconcileDeps, p: StackPlan, live: LiveStackSummary | undefined, redact: (t: string) => string): Promise<StackOutcome> {
  const { state } = deps;
  const base = { stack: p.stack, action: p.action, ...(p.revision ? { revision: p.revision } : {}) };
  switch (p.action) {
    case 'none': {
      const target = p.target;
      if (target && deps.recovering?.has(p.stack)) return verifyRecovered(deps, p, target, redact);
      const current = state.currentDeployment(p.stack);
      const health = healthOf(live);
      if (target && (current?.revision !== target.revision.commit || current.inputsHash !== target.stack.inputsHash)) {
        // Inputs moved on without changing any service: record the revision, run nothing.
        state.recordDeployment(deploymentRecord(target, health, 'succeeded'));
        return { ...base, result: 'recorded', message: `now at ${describeRevision(target)}; no service changed, Compose not run`, health };
      }
      return { ...base, result: 'unchanged', message: p.reason, health };
    }
    case 'skip':
      return { ...base, result: 'skipped', message: p.reason, health: healthOf(live) };
    case 'await-approval':
      if (p.revision) state.setPending(p.stack, p.revision);
      return { ...base, result: 'awaiting-approval', message: p.reason, health: healthOf(live) };
    case 'prune':
      return pruneOne(deps, p, redact);
    case 'deploy':
    case 'rollback':
      return deployOne(deps, p, live, redact);
  }
}

function describeRevision(t: StackTarget): string {
  return `${t.revision.ref ? `${t.revision.ref} ` : ''}(${t.revision.commit.slice(0, 12)})`;
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

async function pruneOne(deps: ReconcileDeps, p: StackPlan, redact: (t: string) => string): Promise<StackOutcome> {
  const { state } = deps;
  const op = state.startOperation({ trigger: deps.trigger, actor: deps.actor, command: deps.command, stack: p.stack, action: 'prune' });
  const journal = state.journalBegin({ operationId: op, stack: p.stack, action: 'prune', revision: p.revision ?? 'none' });
  const log: ComposeLog = { output: '' };
  try {
    await pruneStack({ compose: await deps.compose(), dataDir: deps.config.dataDir, timeoutMs: deps.config.composeTimeoutMs }, p.stack, log);
    state.journalEnd(journal, 'succeeded');
    state.finishOperation(op, { result: 'succeeded', message: p.reason, output: redact(log.output) });
    state.removeStackStatus(p.stack);
    state.audit({ actor: deps.actor, trigger: deps.trigger, action: 'prune', stack: p.stack });
    return { stack: p.stack, action: 'prune', result: 'pruned', message: p.reason };
  } catch (e) {
    state.journalEnd(journal, 'failed');
    state.finishOperation(op, { result: 'failed', message: redact(describeError(e)), output: redact(log.output) });
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

/** Applies one target under a journal entry; returns the health-gate verdict. Throws on Compose failure. */
async function applyWithJournal(
  deps: ReconcileDeps,
  target: StackTarget,
  action: 'deploy' | 'rollback',
  live: LiveStackSummary | undefined,
  redact: (t: string) => string,
): Promise<{ op: number; ok: boolean; health: HealthStatus; message: string; aborted?: boolean }> {
  const { state, logger } = deps;
  const name = target.stack.name;
  const from = state.currentDeployment(name)?.revision;
  const op = state.startOperation({ trigger: deps.trigger, actor: deps.actor, command: deps.command, stack: name, action, revision: target.revision.commit });
  const journal = state.journalBegin({ operationId: op, stack: name, action, revision: target.revision.commit, ...(from ? { fromRevision: from } : {}) });
  const log: ComposeLog = { output: '' };
  logger.info({ stack: name, revision: target.revision.commit, action }, `${action === 'rollback' ? 'rolling back' : 'deploying'} ${name} to ${describeRevision(target)}`);
  try {
    await applyStack(
      { compose: await deps.compose(), dataDir: deps.config.dataDir, timeoutMs: deps.config.composeTimeoutMs, choosePulls: pullChooser(deps) },
      target,
      unchangedServiceRevisions(target, live),
      changedServices(target, live),
      log,
    );
  } catch (e) {
    state.journalEnd(journal, 'failed');
    state.finishOperation(op, { result: 'failed', message: redact(describeError(e)), output: redact(log.output) });
    throw e;
  }
  const gate = await waitHealthy({
    stack: target.stack,
    list: () => listProjectContainers(deps.docker.docker, name),
    timeoutMs: target.stack.policy.healthTimeoutMs,
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  if (!gate.ok && deps.signal?.aborted) {
    // Stopping mid-gate: leave the journal open so the next start verifies this stack's health.
    return { op, ok: false, health: gate.health, message: 'driftd stopped during the health gate; re-checked at next start', aborted: true };
  }
  const message = gate.ok
    ? `${describeRevision(target)} is running and healthy (${Math.round(gate.waitedMs / 1000)} s)`
    : `health gate failed for ${describeRevision(target)}: ${gate.problems.join('; ')}`;
  state.recordDeployment(deploymentRecord(target, gate.health, gate.ok ? 'succeeded' : 'failed', op));
  state.journalEnd(journal, gate.ok ? 'succeeded' : 'failed');
  state.finishOperation(op, { result: gate.ok ? 'succeeded' : 'failed', message: redact(message), output: redact(log.output) });
  state.audit({ actor: deps.actor, trigger: deps.trigger, action, stack: name, detail: { revision: target.revision.commit, ok: gate.ok } });
  return { op, ok: gate.ok, health: gate.health, message: redact(message) };
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
    // A failed pull or `up` that Compose refused: the running containers were not touched by the pull;
    // an invalid model is not retried until a newer revision appears.
    const message = redact(describeError(e));
    logger.error({ stack: p.stack }, message);
    const pullFailed = isDriftdError(e) && (e.data as { action?: string }).action === 'pull';
    if (pullFailed) return { ...base, result: 'failed', message, health: healthOf(live) };
    // Compose may have stopped or recreated containers before it failed: roll back like a failed health gate.
    state.markRevisionFailed(p.stack, target.revision.commit, message);
    if (!target.stack.policy.rollbackOnFailure) return { ...base, result: 'failed', message, health: 'Degraded' };
    return rollbackAfterFailure(deps, target, message, redact);
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
  return rollbackAfterFailure(deps, target, first.message, redact);
}

/** An interrupted apply whose containers already match the target: run the health gate it never finished. */
async function verifyRecovered(deps: ReconcileDeps, p: StackPlan, target: StackTarget, redact: (t: string) => string): Promise<StackOutcome> {
  const { state } = deps;
  const base = { stack: p.stack, action: p.action, revision: target.revision.commit };
  const gate = await waitHealthy({
    stack: target.stack,
    list: () => listProjectContainers(deps.docker.docker, p.stack),
    timeoutMs: target.stack.policy.healthTimeoutMs,
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  if (gate.ok) {
    state.recordDeployment(deploymentRecord(target, 'Healthy', 'succeeded'));
    return { ...base, result: 'recorded', message: `interrupted apply of ${describeRevision(target)} verified: running and healthy`, health: 'Healthy' };
  }
  const why = `interrupted apply of ${describeRevision(target)} is not healthy: ${gate.problems.join('; ')}`;
  state.recordDeployment(deploymentRecord(target, gate.health, 'failed'));
  state.markRevisionFailed(p.stack, target.revision.commit, why);
  if (!target.stack.policy.rollbackOnFailure) return { ...base, result: 'failed', message: why, health: gate.health };
  return rollbackAfterFailure(deps, target, why, redact);
}

async function rollbackAfterFailure(deps: ReconcileDeps, failed: StackTarget, why: string, redact: (t: string) => string): Promise<StackOutcome> {
  const { state, logger } = deps;
  const name = failed.stack.name;
  const base = { stack: name, action: 'deploy' as const, revision: failed.revision.commit };
  const last = state.lastHealthyDeployment(name, { exceptRevision: failed.revision.commit });
  if (!last) return { ...base, result: 'failed', message: `${why}; no earlier healthy revision to roll back to`, health: 'Degraded' };
  try {
    const snapshot = await deps.source.materialize(last.revision);
    const stack = await loadStack({
      root: snapshot.dir,
      name,
      envDir: deps.config.envDir,
      allowProcessEnv: deps.config.allowProcessEnv,
      privateEnvNames: deps.config.privateEnvNames,
      maxFileBytes: deps.config.validate.maxFileBytes,
      policy: failed.stack.policy,
    });
    const target: StackTarget = { stack, revision: { commit: last.revision, ...(last.ref ? { ref: last.ref } : {}), refKind: 'tag' }, root: snapshot.dir };
    const current = summarizeLive({ ...(await collectInventory(deps.docker.docker, { inspect: 'none', projects: [name] })) })[name];
    const result = await applyWithJournal(deps, target, 'rollback', current, redact);
    const message = `${why}; rolled back to ${describeRevision(target)}${result.ok ? '' : ` but it is not healthy either: ${result.message}`}`;
    logger.warn({ stack: name }, message);
    return { ...base, result: result.ok ? 'rolled-back' : 'failed', message, health: result.health };
  } catch (e) {
    const message = `${why}; rollback to ${last.revision.slice(0, 12)} failed: ${redact(describeError(e))}`;
    logger.error({ stack: name }, message);
    return { ...base, result: 'failed', message, health: 'Degraded' };
  }
}
