/**
 * The drift engine: desired snapshot + live inventory (+ what the state DB knows) → per-stack
 * sync/health status and findings. Pure: no I/O, no clock, same input → same output.
 */
import { own } from '../util/dict.js';
import type { DesiredService, DesiredStack, DesiredState, StackLoadError } from '../compose/model.js';
import { COMPOSE_LABELS, LABEL_REF, LABEL_REVISION, LABEL_STACK, runsDriftdAgent } from '../util/labels.js';
import { staleLockFindings, unpinnedFindings } from './lock-findings.js';
import type { LiveContainer, LiveInventory } from '../live/model.js';
import { compareContainer, type FieldDrift } from './config-drift.js';
import { oneShotServices } from './compose-names.js';
import { containerHealth, worstHealth } from './health.js';
import type { Finding, HealthStatus, StackStatus } from './model.js';
import { configDriftSeverity, SYNC_KINDS } from './policy.js';
import { revisionDiff, type FileChange } from './revision-diff.js';
import { stackSecrets, type StackSecrets } from './stack-secrets.js';
import { plural, shortCommit } from '../util/text.js';
import { showValue } from './finding-text.js';
import type { SwarmLive } from '../swarm/engine-model.js';
import { isSwarmTaskContainer, swarmStackDrift, unmanagedSwarmStacks } from './swarm-drift.js';

export interface DeployedRevision {
  revision: string;
  ref?: string;
}

export interface DriftInput {
  desired: DesiredState;
  live: LiveInventory;
  /** What the state DB says each stack runs. Without it, the io.driftd.revision label of the containers is used. */
  deployed?: Record<string, DeployedRevision>;
  /**
   * Per stack: its input files that differ between the deployed and the target revision. An empty
   * list means "none of this stack's inputs changed" (no revision-behind even if the commits differ).
   */
  revisionChanges?: Record<string, FileChange[]>;
  /** image-drift / image-outdated findings computed elsewhere (registry, lock), by stack. */
  imageChecks?: Record<string, Finding[]>;
  /** policy-violation findings (src/policy, under `enforce`), by stack. */
  policyChecks?: ReadonlyMap<string, Finding[]>;
  /** Evaluate only these stacks (`--stack`); unmanaged findings are limited to them too. */
  stacks?: string[];
  /**
   * Stacks driftd deployed on this host (from the state DB). When one of them is live but no
   * longer declared here it is still reported as stack-unmanaged, but as `info` ("prune is off").
   */
  knownStacks?: string[];
  /**
   * The Swarm's services and tasks (one GET /services + /tasks) for `engine: swarm` stacks; without
   * it such a stack's sync and health are Unknown (docs/swarm.md).
   */
  swarm?: SwarmLive;
}

export interface DriftResult {
  stacks: StackStatus[];
  unmanaged: Finding[];
}


/** `compose run` containers are transient jobs, not replicas of the service. */
function isOneOff(c: LiveContainer): boolean {
  return c.labels[COMPOSE_LABELS.oneoff]?.toLowerCase() === 'true';
}

function projectContainers(live: LiveInventory, stack: string): LiveContainer[] {
  return (own(live.projects, stack)?.containers ?? []).filter((c) => !isOneOff(c)).sort((a, b) => a.name.localeCompare(b.name));
}

/** The revision every container of the stack carries in its io.driftd.revision label, if they agree. */
function labelRevision(containers: readonly LiveContainer[]): DeployedRevision | undefined {
  const revisions = new Set(containers.map((c) => c.labels[LABEL_REVISION]));
  const [revision] = revisions;
  if (revisions.size !== 1 || revision === undefined) return undefined;
  const ref = containers[0]?.labels[LABEL_REF];
  return ref ? { revision, ref } : { revision };
}

function withRef(revision: string, ref: string | undefined): string {
  return `${shortCommit(revision)}${ref ? ` (${ref})` : ''}`;
}

interface EvalContext {
  input: DriftInput;
  containerById: (id: string) => LiveContainer | undefined;
}

class FindingList {
  readonly items: Finding[] = [];
  constructor(private readonly stack: string) {}
  add(f: Omit<Finding, 'stack'>): void {
    this.items.push({ stack: this.stack, ...f });
  }
}

// ---------------------------------------------------------------------- repo-side findings

/** lock-stale and image-unpinned: the same definitions as `driftd lock --check` (docs/design.md §3). */
function lockFindings(stack: DesiredStack, out: FindingList): void {
  const found = [...(stack.lock ? staleLockFindings(stack, stack.lock) : []), ...unpinnedFindings(stack, stack.lock, { floating: true })];
  for (const { stack: _stack, ...f } of found) out.add(f);
}

function revisionFinding(
  stack: DesiredStack,
  target: DeployedRevision,
  deployed: DeployedRevision | undefined,
  changes: FileChange[] | undefined,
  secrets: StackSecrets,
  out: FindingList,
): void {
  if (!deployed || deployed.revision === target.revision) return;
  if (changes !== undefined && changes.length === 0) return;
  const from = withRef(deployed.revision, deployed.ref);
  const to = withRef(target.revision, target.ref);
  const finding: Omit<Finding, 'stack'> = {
    kind: 'revision-behind',
    severity: 'warning',
    message:
      changes === undefined
        ? `deployed revision ${from} differs from target ${to}`
        : `deployed revision ${from} is behind target ${to}: ${plural(changes.length, 'file')} changed (${changes
            .map((c) => c.path)
            .sort()
            .join(', ')})`,
    desired: target,
    live: deployed,
  };
  if (changes !== undefined) finding.diff = revisionDiff(changes, stack, secrets, { deployed: deployed.revision, target: target.revision });
  out.add(finding);
}

// ---------------------------------------------------------------------- live-side findings

function healthFindings(containers: readonly LiveContainer[], oneShots: ReadonlySet<string>, out: FindingList): HealthStatus[] {
  return containers.map((c) => {
    const verdict = containerHealth(c, c.service !== undefined && oneShots.has(c.service));
    if (verdict.finding) {
      const f: Omit<Finding, 'stack'> = {
        kind: verdict.finding.kind,
        severity: verdict.finding.severity,
        message: `container ${c.name}${c.service ? ` (service ${c.service})` : ''} ${verdict.finding.detail}`,
        live: { container: c.name, state: c.state, health: c.health, ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}) },
      };
      if (c.service !== undefined) f.service = c.service;
      out.add(f);
    }
    return verdict.health;
  });
}

/** Replicas that drifted the same way are one finding naming every container. */
function configFindings(
  stack: DesiredStack,
  service: DesiredService,
  containers: readonly LiveContainer[],
  ctx: EvalContext,
  secrets: StackSecrets,
  out: FindingList,
): void {
  const groups = new Map<string, { drift: FieldDrift; containers: string[] }>();
  const workingDir = own(ctx.input.live.projects, stack.name)?.workingDir;
  for (const c of containers) {
    const drifts = compareContainer(
      {
        stack,
        service,
        ...(workingDir !== undefined ? { workingDir } : {}),
        ...(ctx.input.live.images[c.imageId] ? { image: ctx.input.live.images[c.imageId] } : {}),
        containerById: ctx.containerById,
        secrets,
      },
      c,
    );
    for (const drift of drifts) {
      const key = JSON.stringify([drift.field, drift.desired, drift.live]);
      const group = groups.get(key) ?? { drift, containers: [] };
      group.containers.push(c.name);
      groups.set(key, group);
    }
  }
  for (const { drift, containers: names } of groups.values()) {
    const what =
      drift.field === 'configHash'
        ? 'was deployed from other inputs (a mounted file or a setting not compared field by field changed)'
        : `${drift.field} differs: repo ${showValue(drift.desired)}, live ${showValue(drift.live)}`;
    out.add({
      kind: 'config-drift',
      service: service.name,
      severity: configDriftSeverity(drift.field),
      message: `service ${service.name} (${names.join(', ')}): ${what}`,
      field: drift.field,
      desired: drift.desired,
      live: drift.live,
    });
  }
}

function groupByService(containers: readonly LiveContainer[]): Map<string | undefined, LiveContainer[]> {
  const map = new Map<string | undefined, LiveContainer[]>();
  for (const c of containers) map.set(c.service, [...(map.get(c.service) ?? []), c]);
  return map;
}

/** What the comparison derives from a desired stack alone (its secrets, lock findings, one-shot and sorted services). */
interface StackFacts {
  secrets: StackSecrets;
  lockFindings: Omit<Finding, 'stack'>[];
  oneShots: ReadonlySet<string>;
  services: readonly DesiredService[];
}

/**
 * Per desired stack object, computed once: the agent compares the same loaded stacks (its memo)
 * with the live side every cycle. Nothing here mutates a desired stack, so its object identity
 * stands for its content; a WeakMap lets a stack the memo dropped go with it.
 */
const stackFacts = new WeakMap<DesiredStack, StackFacts>();

function factsOf(stack: DesiredStack): StackFacts {
  let facts = stackFacts.get(stack);
  if (!facts) {
    const lock = new FindingList(stack.name);
    lockFindings(stack, lock);
    facts = {
      secrets: stackSecrets(stack),
      lockFindings: lock.items.map(({ stack: _stack, ...f }) => f),
      oneShots: oneShotServices(stack),
      services: [...stack.services].sort((a, b) => a.name.localeCompare(b.name)),
    };
    stackFacts.set(stack, facts);
  }
  return facts;
}

function evaluateStack(stack: DesiredStack, ctx: EvalContext): StackStatus {
  const { input } = ctx;
  const facts = factsOf(stack);
  const secrets = facts.secrets;
  const out = new FindingList(stack.name);
  const containers = projectContainers(input.live, stack.name);
  const target: DeployedRevision = input.desired.revision.ref
    ? { revision: input.desired.revision.commit, ref: input.desired.revision.ref }
    : { revision: input.desired.revision.commit };
  const deployed = own(input.deployed, stack.name) ?? labelRevision(containers);

  revisionFinding(stack, target, deployed, own(input.revisionChanges, stack.name), secrets, out);

  const expected = stack.services.reduce((n, s) => n + s.replicas, 0);
  const healths: HealthStatus[] = [];
  let health: HealthStatus;
  const swarm = stack.policy.engine === 'swarm';
  if (swarm && input.swarm === undefined) {
    health = 'Unknown';
  } else if (swarm && input.swarm) {
    const found = swarmStackDrift(stack, input.swarm, secrets);
    for (const f of found.findings) out.add(f);
    health = found.health;
  } else if (containers.length === 0) {
    if (expected > 0) {
      out.add({
        kind: 'stack-missing',
        severity: 'error',
        message: `stack ${stack.name} is declared for this host but has no container (the repo wants ${plural(expected, 'container')})`,
        desired: { containers: expected },
        live: { containers: 0 },
      });
    }
    health = expected > 0 ? 'Missing' : 'Healthy';
  } else {
    const byService = groupByService(containers);
    const oneShots = facts.oneShots;
    for (const service of facts.services) {
      const list = byService.get(service.name) ?? [];
      byService.delete(service.name);
      if (list.length === 0 && service.replicas > 0) {
        healths.push('Missing');
        out.add({
          kind: 'service-missing',
          service: service.name,
          severity: 'error',
          message: `service ${service.name} has no container (the repo wants ${service.replicas})`,
          desired: { replicas: service.replicas },
          live: { replicas: 0 },
        });
        continue;
      }
      if (list.length !== service.replicas) {
        out.add({
          kind: 'replicas-mismatch',
          service: service.name,
          severity: 'warning',
          message: `service ${service.name} runs ${plural(list.length, 'container')}, the repo wants ${service.replicas}`,
          desired: { replicas: service.replicas },
          live: { replicas: list.length, containers: list.map((c) => c.name) },
        });
      }
      configFindings(stack, service, list, ctx, secrets, out);
      healths.push(...healthFindings(list, oneShots, out));
    }
    for (const [service, list] of [...byService].sort(([a], [b]) => (a ?? '').localeCompare(b ?? ''))) {
      const names = list.map((c) => c.name);
      const f: Omit<Finding, 'stack'> = {
        kind: 'service-extra',
        severity: 'warning',
        message:
          service === undefined
            ? `${plural(list.length, 'container')} of project ${stack.name} without a service label (${names.join(', ')})`
            : `service ${service} runs ${plural(list.length, 'container')} (${names.join(', ')}) but is not in the repo`,
        live: { containers: names },
      };
      if (service !== undefined) f.service = service;
      out.add(f);
      healths.push(...healthFindings(list, oneShots, out));
    }
    health = worstHealth(healths);
  }

  for (const f of own(input.imageChecks, stack.name) ?? []) out.items.push(f);
  for (const f of input.policyChecks?.get(stack.name) ?? []) out.items.push(f);
  for (const f of facts.lockFindings) out.add(f);

  const status: StackStatus = {
    stack: stack.name,
    sync: swarm && input.swarm === undefined ? 'Unknown' : out.items.some((f) => SYNC_KINDS.has(f.kind)) ? 'OutOfSync' : 'Synced',
    health,
    ...(swarm && input.swarm === undefined ? { reason: 'engine: swarm — the Swarm services of this engine could not be read (not a Swarm manager?)' } : {}),
    findings: out.items,
    targetRevision: target.revision,
  };
  if (deployed) status.deployedRevision = deployed.revision;
  return status;
}

function loadErrorText(e: StackLoadError): string {
  const where = e.file ? `${e.file}${e.line !== undefined ? `:${e.line}` : ''}: ` : '';
  return `${where}${e.message}`;
}

/** A stack that failed to load: sync is Unknown with the reason; health still comes from its containers. */
function unknownStack(name: string, errors: readonly StackLoadError[], ctx: EvalContext): StackStatus {
  const { input } = ctx;
  const out = new FindingList(name);
  const containers = projectContainers(input.live, name);
  const healths = healthFindings(containers, new Set(), out);
  for (const f of own(input.imageChecks, name) ?? []) out.items.push(f);
  const status: StackStatus = {
    stack: name,
    sync: 'Unknown',
    health: worstHealth(healths, 'Unknown'),
    reason: errors.map(loadErrorText).join('; '),
    findings: out.items,
    targetRevision: input.desired.revision.commit,
  };
  const deployed = own(input.deployed, name) ?? labelRevision(containers);
  if (deployed) status.deployedRevision = deployed.revision;
  return status;
}

function unmanagedFindings(ctx: EvalContext, declared: ReadonlySet<string>, wanted: (name: string) => boolean, filtered: boolean): Finding[] {
  const { desired, live, knownStacks = [] } = ctx.input;
  const known = new Set(knownStacks);
  const otherHost = new Set(desired.allStackNames);
  const findings: Finding[] = [];
  for (const name of Object.keys(live.projects).sort()) {
    if (declared.has(name) || !wanted(name)) continue;
    const containers = [...(own(live.projects, name)?.containers ?? [])].sort((a, b) => a.name.localeCompare(b.name));
    // The agent's own project is the operator's (deploy/agent.compose.yaml), not the repo's.
    if (containers.some((c) => runsDriftdAgent(c.labels))) continue;
    const deployedByDriftd = known.has(name) || containers.some((c) => c.labels[LABEL_STACK] !== undefined);
    const why = deployedByDriftd
      ? 'driftd deployed it, but the repo no longer declares it for this host (it stays because prune is off)'
      : otherHost.has(name)
        ? 'the repo declares it for another host only'
        : 'the repo does not declare it';
    findings.push({
      kind: 'stack-unmanaged',
      stack: name,
      severity: deployedByDriftd ? 'info' : 'warning',
      message: `Compose project ${name} runs ${plural(containers.length, 'container')} on this host; ${why}`,
      live: { containers: containers.map((c) => c.name), images: [...new Set(containers.map((c) => c.image))].sort() },
    });
  }
  if (ctx.input.swarm) findings.push(...unmanagedSwarmStacks(ctx.input.swarm, declared, otherHost, wanted));
  // Plain `docker run` containers belong to no stack; `--stack` asks about stacks only.
  if (!filtered) {
    for (const c of live.containers) {
      if (c.project !== undefined || runsDriftdAgent(c.labels) || isSwarmTaskContainer(c.labels)) continue;
      findings.push({
        kind: 'stack-unmanaged',
        stack: `container:${c.name}`,
        severity: 'info',
        message: `container ${c.name} (${c.image}) runs outside any Compose project`,
        live: { container: c.name, image: c.image, state: c.state },
      });
    }
  }
  return findings;
}

export function computeDrift(input: DriftInput): DriftResult {
  const only = input.stacks && input.stacks.length > 0 ? new Set(input.stacks) : undefined;
  const wanted = (name: string): boolean => only === undefined || only.has(name);
  const byId = new Map(input.live.containers.map((c) => [c.id, c]));
  const ctx: EvalContext = { input, containerById: (id) => byId.get(id) };

  const errors = new Map<string, StackLoadError[]>();
  for (const e of input.desired.errors) errors.set(e.stack, [...(errors.get(e.stack) ?? []), e]);

  const stacks: StackStatus[] = [];
  for (const stack of input.desired.stacks) {
    if (wanted(stack.name) && !errors.has(stack.name)) stacks.push(evaluateStack(stack, ctx));
  }
  for (const [name, errs] of errors) if (wanted(name)) stacks.push(unknownStack(name, errs, ctx));
  stacks.sort((a, b) => a.stack.localeCompare(b.stack));

  const declared = new Set([...input.desired.stacks.map((s) => s.name), ...errors.keys()]);
  return { stacks, unmanaged: unmanagedFindings(ctx, declared, wanted, only !== undefined) };
}
