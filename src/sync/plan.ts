import { own } from '../util/dict.js';
import type { LiveStackSummary, PlanInput, StackPlan, StackTarget, SyncPlan } from './model.js';

const key = (stack: string, revision: string): string => `${stack}@${revision}`;

/** Services whose live containers do not carry the target's config hash or replica count. */
export function changedServices(target: StackTarget, live: LiveStackSummary | undefined): string[] {
  return target.stack.services
    .filter((svc) => {
      const l = live?.services[svc.name];
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
  const policy = target.stack.policy;
  const diff = differs(target, live);
  const drifted = input.drifted.has(name);

  if (diff === undefined) {
    if (drifted && policy.selfHeal && policy.sync !== 'off') return { ...base, action: 'deploy', reason: 'live config drifted; selfHeal re-applies it' };
    const down = notRunning(live);
    if (down.length > 0 && policy.selfHeal && policy.sync !== 'off') {
      return { ...base, action: 'deploy', reason: `containers not running for ${down.join(', ')}; selfHeal restarts them` };
    }
    const note = drifted ? 'in sync with the repo revision; live config drifted (selfHeal off: reported only)' : 'in sync';
    return { ...base, action: 'none', reason: note };
  }
  if (policy.sync === 'off') return { ...base, action: 'skip', reason: `sync: off (${diff}); reported only` };
  if (input.failedRevisions.has(key(name, commit)) && !input.force) {
    return { ...base, action: 'skip', problem: true, reason: `revision ${commit.slice(0, 12)} failed before; waiting for a newer revision or --force` };
  }
  if (policy.sync === 'manual' && !input.approvals.has(key(name, commit))) {
    return { ...base, action: 'await-approval', reason: `${diff}; sync: manual, run \`driftd approve ${name}\`` };
  }
  if (target.pinnedTag && deployed && deployed.revision !== commit) {
    return { ...base, action: 'rollback', reason: `pinned to ${target.pinnedTag}: ${diff}` };
  }
  return { ...base, action: 'deploy', reason: diff };
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
    if (selected(target.stack.name)) plans.push(planTarget(input, target));
  }
  for (const err of input.loadErrors) {
    if (selected(err.stack)) plans.push({ stack: err.stack, action: 'skip', problem: true, reason: `invalid at target revision: ${err.message}`, changedServices: [] });
  }

  const declared = new Set([...input.targets.map((t) => t.stack.name), ...input.loadErrors.map((e) => e.stack)]);
  const leaving = Object.entries(input.live)
    .filter(([stack, summary]) => summary.managedByDriftd && !declared.has(stack) && selected(stack))
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
    plans.push({ stack, action: canPrune ? 'prune' : 'skip', reason: `no longer declared for this host; ${why}`, changedServices: [] });
  }
  plans.sort((a, b) => a.stack.localeCompare(b.stack));
  return { stacks: plans, warnings };
}
