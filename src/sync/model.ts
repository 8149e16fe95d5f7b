import type { DesiredStack, Revision, StackPolicy } from '../compose/model.js';
import type { HealthStatus } from '../drift/model.js';

export type PlanAction = 'none' | 'deploy' | 'rollback' | 'prune' | 'await-approval' | 'skip' | 'refuse';

/** One stack's desired state and the revision it comes from (a pinned stack may differ from the host's target). */
export interface StackTarget {
  stack: DesiredStack;
  revision: Revision;
  /** The snapshot root the stack was loaded from: its stack folder supplies the deployed files. */
  root: string;
  /** Set when this target comes from a `driftd rollback` pin. */
  pinnedTag?: string;
}

/** What the state DB says is deployed for a stack. */
export interface DeployedRecord {
  revision: string;
  ref?: string;
  inputsHash: string;
  configHashes: Record<string, string>;
}

/** What the engine runs for a project, from one container list (labels only, no inspect). */
export interface LiveStackSummary {
  /** Running-or-not containers per service, with their io.driftd.config-hash label. */
  services: Record<string, { configHash?: string; revision?: string; ref?: string; running: number; total: number; unhealthy: number; starting?: number }>;
  /** True when some container carries io.driftd.stack (driftd deployed it). */
  managedByDriftd: boolean;
  /** True when some container carries io.driftd.agent=true: the project runs driftd itself. */
  agent?: boolean;
  /** A Swarm stack (docker stack deploy's namespace): its services, not Compose containers; pruned with `docker stack rm`. */
  swarm?: boolean;
}

/** A stack's live health judged against its target (the health gate's rules), with one sentence per problem. */
export interface LiveHealth {
  health: HealthStatus;
  problems: string[];
}

export interface PlanInput {
  targets: StackTarget[];
  /** Stacks declared for this host that failed to load at the target revision: they fail alone. */
  loadErrors: { stack: string; message: string }[];
  live: Record<string, LiveStackSummary>;
  /**
   * Per target stack, the live containers' health (a container left `created` by a crash counts as
   * down). Absent: judged from the summary's running/unhealthy counts.
   */
  health?: Record<string, LiveHealth>;
  deployed: Record<string, DeployedRecord>;
  /** `${stack}@${revision}` of revisions that failed their health gate and must not be retried. */
  failedRevisions: ReadonlySet<string>;
  /** `${stack}@${revision}` approvals for `sync: manual` stacks. */
  approvals: ReadonlySet<string>;
  /** Stacks whose live config drifted from their desired config (from the drift engine), for selfHeal. */
  drifted: ReadonlySet<string>;
  /** Policies of stacks that left this host's list (from fleet.yaml `stacks:`), for prune. */
  prunePolicies: Record<string, Pick<StackPolicy, 'prune'>>;
  /** Stacks an enforced policy refuses (stack → which service breaks which rule): nothing of them is touched. */
  refused?: ReadonlyMap<string, string>;
  /** Limit to these stacks (`--stack`); empty = all. */
  only: readonly string[];
  force: boolean;
  /** Allow pruning every managed stack at once (off by default: an empty snapshot must not wipe a host). */
  allowMassPrune: boolean;
  /** Stacks a sync window holds back now → the reason (`waiting for sync window (opens at …)`). */
  heldByWindow?: Readonly<Record<string, string>>;
  /** Stacks this agent only reports (a Swarm stack on an engine that is not the Swarm's leader) → why. */
  reportOnly?: Readonly<Record<string, string>>;
}

export interface StackPlan {
  stack: string;
  action: PlanAction;
  reason: string;
  revision?: string;
  ref?: string;
  /** Services whose driftd config hash differs from the live label (will be recreated). */
  changedServices: string[];
  /** A skip that leaves the stack off its target because of a problem (failed before, invalid): sync exits 2. */
  problem?: boolean;
  target?: StackTarget;
  /** Where this stack goes back to if the apply fails; set before anything runs (reconcile's withRollbacks). */
  rollbackTo?: RollbackPlan;
}

/** A failed deploy's way back, resolved before the apply: the executor never loads a stack mid-apply. */
export type RollbackPlan =
  /** No earlier healthy revision of the stack. */
  | { kind: 'none' }
  | { kind: 'ready'; target: StackTarget }
  /** The last healthy revision breaks the host's policy (enforce): it is not applied. */
  | { kind: 'refused'; target: StackTarget; reason: string }
  /** The last healthy revision cannot be materialized or loaded; `error` says why. */
  | { kind: 'unloadable'; revision: string; error: string };

export interface SyncPlan {
  stacks: StackPlan[];
  /** Problems that stop part of the plan (e.g. a refused mass prune). */
  warnings: string[];
}
