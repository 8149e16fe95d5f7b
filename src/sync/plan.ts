import { dict, own } from '../util/dict.js';
import type { LiveHealth, LiveStackSummary, PlanInput, StackPlan, StackTarget, SyncPlan } from './model.js';
import { shortCommit } from '../util/text.js';

const key = (stack: string, revision: string): string => `${stack}@${revision}`;

const AGENT_PROJECT = 'this Compose project runs the driftd agent itself (label io.driftd.agent=true); driftd never deploys over it: rename the stack or the agent\'s project';

/** Services whose live containers do not carry the target's config hash or replica count. */
export function changedServices(target: StackTarget, live: LiveStackSummary | undefined): string[] {
  return target.stack.services
    .filter((svc) => {
      const l = own(live?.services, svc.name);
      return !l || l.configHash !== svc.configHash || l.total !== svc.replicas;
    })
    .map((svc) => svc.name)
    .sort();
}

function extraServices(target: StackTarget, live: LiveStackSummary | undefined): string[] {
  const desired = new Set(target.stack.services.map((s) => s.name));
  return Object.keys(live?.services ?? {}).filter((s) => !desired.has(s));
}

function notRunning(live: LiveStackSummary | undefined): string[] {
  return Object.entries(live?.services ?? {})
    .filter(([, s]) => s.running < s.total)
    .map(([name]) => name);
}

/**
 * Why the live stack differs from the target, or undefined when it already runs it. Decided on
 * driftd's config hashes alone: an input change that changes no service (a README) needs no Compose run.
 */
function differs(target: StackTarget, live: LiveStackSummary | undefined): string | undefined {
  if (!live || Object.keys(live.services).length === 0) return 'not deployed';
  const changed = changedServices(target, live);
  if (changed.length > 0) return `config changed for ${changed.join(', ')}`;
  const extra = extraServices(target, live);
  if (extra.length > 0) return `services no longer declared: ${extra.join(', ')}`;
  return undefined;
}

/** The planner's view of live health: the caller's verdict, or the summary's counts when it gave none. */
function liveHealth(input: PlanInput, name: string, live: LiveStackSummary | undefined): LiveHealth {
  const given = input.health?.[name];
  if (given) return given;
  const down = notRunning(live);
  const unhealthy = Object.entries(live?.services ?? {})
    .filter(([, s]) => s.unhealthy > 0)
    .map(([n]) => n);
  const problems = [...down.map((n) => `${n}: not running`), ...unhealthy.map((n) => `${n}: unhealthy`)];
  return { health: problems.length > 0 ? 'Degraded' : 'Healthy', problems };
}

/**
 * The labels match the target, but the state DB has not recorded that revision (with these inputs)
 * as deployed: an apply that never finished (driftd or Docker died) or one made by hand.
 */
function unverified(input: PlanInput, target: StackTarget): boolean {
  const d = own(input.deployed, target.stack.name);
  return d?.revision !== target.revision.commit || d.inputsHash !== target.stack.inputsHash;
}

/** Gates that hold any apply back: sync off, a revision that failed before, a manual stack not approved. */
function heldBack(input: PlanInput, target: StackTarget, base: Omit<StackPlan, 'action' | 'reason'>, diff: string): StackPlan | undefined {
  const name = target.stack.name;
  const commit = target.revision.commit;
  const policy = target.stack.policy;
  if (policy.sync === 'off') return { ...base, action: 'skip', reason: `sync: off (${diff}); reported only` };
  if (input.failedRevisions.has(key(name, commit)) && !input.force) {
    return { ...base, action: 'skip', problem: true, reason: `revision ${shortCommit(commit)} failed before; waiting for a newer revision or --force` };
  }
  if (policy.sync === 'manual' && !input.approvals.has(key(name, commit))) {
    return { ...base, action: 'await-approval', reason: `${diff}; sync: manual, run \`driftd approve ${name}\`` };
  }
  return undefined;
}

/** Labels match the target: decide from live health whether the health gate must run (and Compose start what is down). */
function planMatching(input: PlanInput, target: StackTarget, base: Omit<StackPlan, 'action' | 'reason'>, live: LiveStackSummary | undefined): StackPlan {
  const name = target.stack.name;
  const policy = target.stack.policy;
  const healing = policy.selfHeal && policy.sync !== 'off';
  const drifted = input.drifted.has(name);
  if (drifted && healing) return { ...base, action: 'deploy', reason: 'live config drifted; selfHeal re-applies it' };
  const health = liveHealth(input, name, live);
  const problems = health.problems.join('; ');
  if (health.health !== 'Healthy' && unverified(input, target)) {
    // Never record an unverified revision as deployed while its containers are not up: run `up`
    // (it starts what a crash left created or stopped) and the health gate, which rolls back on failure.
    const diff = `containers of this revision are not running and healthy (${problems}): the apply did not finish`;
    return heldBack(input, target, base, diff) ?? { ...base, action: 'deploy', reason: `${diff}; applying it again with the health gate` };
  }
  if (health.health !== 'Healthy' && health.health !== 'Progressing') {
    const down = notRunning(live);
    if (healing && down.length > 0) return { ...base, action: 'deploy', reason: `containers not running for ${down.join(', ')}; selfHeal restarts them` };
    if (input.force && policy.sync !== 'off') return { ...base, action: 'deploy', reason: `--force: re-applying (${problems})` };
    return { ...base, action: 'none', problem: true, reason: `${health.health}: ${problems} (${healing ? 'selfHeal cannot restart it' : 'selfHeal off: reported only'})` };
  }
  const note = drifted ? 'in sync with the repo revision; live config drifted (selfHeal off: reported only)' : 'in sync';
  return { ...base, action: 'none', reason: note };
}

function planTarget(input: PlanInput, target: StackTarget): StackPlan {
  const name = target.stack.name;
  const commit = target.revision.commit;
  const live = own(input.live, name);
  const deployed = own(input.deployed, name);
  const base = {
    stack: name,
    revision: commit,
    ...(target.revision.ref ? { ref: target.revision.ref } : {}),
    changedServices: changedServices(target, live),
    target,
  };
  const refusal = input.refused?.get(name);
  if (refusal !== undefined) return { ...base, action: 'refuse', problem: true, reason: `refused by policy (enforce): ${refusal}` };
  const diff = differs(target, live);
  if (diff === undefined) return planMatching(input, target, base, live);
  const held = heldBack(input, target, base, diff);
  if (held) return held;
  if (target.pinnedTag && deployed && deployed.revision !== commit) {
    return { ...base, action: 'rollback', reason: `pinned to ${target.pinnedTag}: ${diff}` };
  }
  return { ...base, action: 'deploy', reason: diff };
}

/** A deploy, rollback or prune that a sync window holds back waits (still reported, never applied). */
function holdForWindow(input: PlanInput, plan: StackPlan): StackPlan {
  const held = input.heldByWindow?.[plan.stack];
  if (held === undefined || !(plan.action === 'deploy' || plan.action === 'rollback' || plan.action === 'prune')) return plan;
  return { ...plan, action: 'skip', problem: true, reason: `${held}; ${plan.reason}` };
}

/** A stack another agent applies (the Swarm leader's): whatever the plan, nothing runs here; status says why. */
function holdReportOnly(input: PlanInput, plan: StackPlan): StackPlan {
  const why = own(input.reportOnly, plan.stack);
  if (why === undefined) return plan;
  return { ...plan, action: 'skip', problem: false, reason: `${why} (${plan.reason})` };
}

/**
 * Which live stacks may "leave" the host (be pruned), pure. A Compose project counts only when
 * this state DB deployed it: another driftd's projects on a shared engine are not ours to prune.
 * A Swarm stack counts by its service labels alone (io.driftd.stack=<stack>, swarm/live.ts): a
 * Swarm is shared by its managers, and after a leader change the new leader's state DB never
 * deployed it (docs/swarm.md#prune). A stack deployed by hand is never driftd's either way.
 */
export function ownedStacks(
  live: Readonly<Record<string, LiveStackSummary>>,
  declared: ReadonlySet<string>,
  deployedHere: (stack: string) => boolean,
): Record<string, LiveStackSummary> {
  return dict(
    Object.entries(live).map(([stack, summary]) => [
      stack,
      declared.has(stack) || !summary.managedByDriftd || summary.swarm === true ? summary : { ...summary, managedByDriftd: deployedHere(stack) },
    ]),
  );
}

/**
 * Desired revision + live state + state DB → one action per stack, with the reason.
 * Pure: the same input always gives the same plan, and nothing here touches Docker or Git.
 */
export function planSync(input: PlanInput): SyncPlan {
  const selected = (stack: string): boolean => input.only.length === 0 || input.only.includes(stack);
  const plans: StackPlan[] = [];
  const warnings: string[] = [];

  for (const target of input.targets) {
    if (!selected(target.stack.name)) continue;
    // Deploying over the agent's own project would recreate the agent in the middle of this run.
    if (own(input.live, target.stack.name)?.agent) plans.push({ stack: target.stack.name, action: 'skip', problem: true, reason: AGENT_PROJECT, changedServices: [] });
    else plans.push(holdReportOnly(input, holdForWindow(input, planTarget(input, target))));
  }
  for (const err of input.loadErrors) {
    if (selected(err.stack)) plans.push({ stack: err.stack, action: 'skip', problem: true, reason: `invalid at target revision: ${err.message}`, changedServices: [] });
  }

  const declared = new Set([...input.targets.map((t) => t.stack.name), ...input.loadErrors.map((e) => e.stack)]);
  const leaving = Object.entries(input.live)
    .filter(([stack, summary]) => summary.managedByDriftd && !summary.agent && !declared.has(stack) && selected(stack))
    .map(([stack]) => stack)
    .sort();
  const prunable = leaving.filter((stack) => own(input.prunePolicies, stack)?.prune === true);
  // A revision that declares nothing for this host looks exactly like an emptied or broken snapshot:
  // any prune it asks for is a mass prune, whether or not some other stack stays (prune: false, or
  // another driftd's stacks on a shared engine).
  const refuseMassPrune = prunable.length > 0 && declared.size === 0 && !input.allowMassPrune;
  if (refuseMassPrune) {
    warnings.push(`refusing to prune every managed stack at once (${prunable.join(', ')}): the target revision declares no stack for this host; pass --allow-mass-prune if that is intended`);
  }
  for (const stack of leaving) {
    const canPrune = prunable.includes(stack) && !refuseMassPrune;
    const why = !prunable.includes(stack) ? 'prune is off, left running' : canPrune ? 'prune: true' : 'mass prune refused, left running';
    plans.push(holdForWindow(input, { stack, action: canPrune ? 'prune' : 'skip', reason: `no longer declared for this host; ${why}`, changedServices: [] }));
  }
  plans.sort((a, b) => a.stack.localeCompare(b.stack));
  return { stacks: plans, warnings };
}
