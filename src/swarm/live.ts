/**
 * What a Swarm runs, per stack, from one `GET /services` and one `GET /tasks` (pure): the
 * planner's summary (driftd's labels from the *service* labels, replicas from the spec, running
 * tasks) and the health gate's verdict (every service converged).
 */
import { dict, own, ownOrSet } from '../util/dict.js';
import { LABEL_CONFIG_HASH, LABEL_REF, LABEL_REVISION, LABEL_STACK } from '../util/labels.js';
import type { DesiredStack } from '../compose/model.js';
/** drift/model's HealthStatus (not imported: drift/ reads live/ and compose/, which this folder reads). */
type HealthStatus = 'Healthy' | 'Progressing' | 'Missing' | 'Degraded' | 'Unknown';
import type { SwarmLive, SwarmService, SwarmTask } from './engine-model.js';
import { STACK_NAMESPACE_LABEL } from './stack-file.js';

export interface SwarmServiceSummary {
  configHash?: string;
  revision?: string;
  ref?: string;
  /** Replicas the spec asks for (a global service: its tasks meant to run). */
  total: number;
  running: number;
  unhealthy: number;
}

export interface SwarmStackSummary {
  services: Record<string, SwarmServiceSummary>;
  /** Some service carries driftd's stack label for this stack (isDriftdService). */
  managedByDriftd: boolean;
}

/** The stack a service belongs to (docker stack deploy's namespace label) and its name in the compose file. */
export function serviceName(svc: SwarmService): { stack: string; service: string } | undefined {
  const stack = svc.Spec.Labels[STACK_NAMESPACE_LABEL];
  if (stack === undefined || !svc.Spec.Name.startsWith(`${stack}_`)) return undefined;
  return { stack, service: svc.Spec.Name.slice(stack.length + 1) };
}

/**
 * Whether driftd deployed this service: it stamps `io.driftd.stack=<stack>` in the service labels
 * of every stack it deploys (stack-file.ts). This, not a state DB, is what lets a new Swarm leader
 * whose own state DB never deployed a stack prune it; a stack deployed by hand (no such label, or
 * the label naming another stack) is never driftd's to remove.
 */
export function isDriftdService(svc: SwarmService, stack: string): boolean {
  return svc.Spec.Labels[LABEL_STACK] === stack;
}

/** Tasks the orchestrator wants running, by service ID. */
export function desiredTasks(tasks: readonly SwarmTask[]): Map<string, SwarmTask[]> {
  const out = new Map<string, SwarmTask[]>();
  for (const t of tasks) {
    if (t.DesiredState !== 'running') continue;
    const list = out.get(t.ServiceID) ?? [];
    list.push(t);
    out.set(t.ServiceID, list);
  }
  return out;
}

export function replicasOf(svc: SwarmService, tasks: readonly SwarmTask[]): number {
  const replicated = svc.Spec.Mode?.Replicated;
  if (replicated) return replicated.Replicas ?? 1;
  return svc.Spec.Mode?.Global ? tasks.length : 1;
}

/** Per stack (namespace label), the planner's view: labels, replicas and running tasks. */
export function summarizeSwarm(live: SwarmLive): Record<string, SwarmStackSummary> {
  const out = dict<SwarmStackSummary>();
  const byService = desiredTasks(live.tasks);
  for (const svc of live.services) {
    const name = serviceName(svc);
    if (!name) continue;
    const summary = ownOrSet(out, name.stack, () => ({ services: dict<SwarmServiceSummary>(), managedByDriftd: false }));
    const labels = svc.Spec.Labels;
    if (isDriftdService(svc, name.stack)) summary.managedByDriftd = true;
    const tasks = byService.get(svc.ID) ?? [];
    summary.services[name.service] = {
      ...(labels[LABEL_CONFIG_HASH] !== undefined ? { configHash: labels[LABEL_CONFIG_HASH] } : {}),
      ...(labels[LABEL_REVISION] !== undefined ? { revision: labels[LABEL_REVISION] } : {}),
      ...(labels[LABEL_REF] !== undefined ? { ref: labels[LABEL_REF] } : {}),
      total: replicasOf(svc, tasks),
      running: tasks.filter((t) => t.Status?.State === 'running').length,
      unhealthy: 0,
    };
  }
  return out;
}

export interface SwarmHealthVerdict {
  ok: boolean;
  health: HealthStatus;
  problems: string[];
  /** Waiting longer will not help: Swarm paused or rolled back an update. */
  final: boolean;
}

const FINAL_UPDATE_STATES = new Set(['paused', 'rollback_started', 'rollback_paused', 'rollback_completed']);

function taskProblem(t: SwarmTask): string {
  const why = t.Status?.Err ?? t.Status?.Message ?? '';
  return `task ${t.ID.slice(0, 12)} is ${t.Status?.State ?? 'unknown'}${why ? ` (${why})` : ''}`;
}

const isEmpty = (v: unknown): boolean =>
  v === undefined || v === null || (Array.isArray(v) ? v.length === 0 : typeof v === 'object' && Object.keys(v).length === 0);

/**
 * JSON with sorted keys and empty values left out: the API writes a task's spec and its service's
 * template from one Go type; key order and an omitted empty field are not differences.
 */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => !isEmpty(o[k])).map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * What a stack deploy changes in a container spec. Not the whole spec: the task list's copy omits
 * fields the service's has (StopGracePeriod on Engine 26), which would make every task stale.
 */
const COMPARED_SPEC_FIELDS = ['Image', 'Env', 'Labels', 'Command', 'Args', 'Mounts', 'Configs', 'Secrets', 'User', 'Dir', 'Healthcheck'] as const;

/**
 * A running task created from an older template than its service's (the container spec or the
 * force-update counter differ). Right after `docker stack deploy --detach` the service's spec is
 * new but Swarm may not have started the update (no UpdateStatus yet): the old tasks still run,
 * and counting them would pass the gate at once for a release that never ran. A task without a
 * spec in the answer is taken as current.
 */
export function isStaleTask(svc: SwarmService, t: SwarmTask): boolean {
  const template = svc.Spec.TaskTemplate;
  if (t.Spec === undefined || template === undefined) return false;
  if ((t.Spec.ForceUpdate ?? 0) !== (template.ForceUpdate ?? 0)) return true;
  const pick = (spec: unknown): string => {
    const o = spec !== null && typeof spec === 'object' ? (spec as Record<string, unknown>) : {};
    return canonical(Object.fromEntries(COMPARED_SPEC_FIELDS.map((k) => [k, o[k]])));
  };
  return pick(t.Spec.ContainerSpec) !== pick(template.ContainerSpec);
}

/**
 * The health gate's rule for a Swarm stack: every declared service exists, its update (if any) is
 * completed, and as many tasks of its current spec as it wants run. A task with a health check only reaches `running`
 * once healthy (Swarm holds it in `starting`), so running tasks are healthy ones.
 */
export function evaluateSwarmHealth(stack: DesiredStack, live: SwarmLive): SwarmHealthVerdict {
  const byService = desiredTasks(live.tasks);
  const mine = new Map<string, SwarmService>();
  for (const svc of live.services) {
    const name = serviceName(svc);
    if (name?.stack === stack.name) mine.set(name.service, svc);
  }
  const problems: string[] = [];
  let health: HealthStatus = 'Healthy';
  let final = false;
  const worsen = (h: HealthStatus): void => {
    const order: HealthStatus[] = ['Healthy', 'Progressing', 'Missing', 'Degraded', 'Unknown'];
    if (order.indexOf(h) > order.indexOf(health)) health = h;
  };
  for (const want of stack.services) {
    const svc = mine.get(want.name);
    if (!svc) {
      problems.push(`${want.name}: no Swarm service ${stack.name}_${want.name}`);
      worsen('Missing');
      continue;
    }
    const update = svc.UpdateStatus?.State;
    if (update !== undefined && FINAL_UPDATE_STATES.has(update)) {
      problems.push(`${want.name}: Swarm update ${update.replace('_', ' ')}${svc.UpdateStatus?.Message ? ` (${svc.UpdateStatus.Message})` : ''}`);
      worsen('Degraded');
      final = true;
      continue;
    }
    const tasks = byService.get(svc.ID) ?? [];
    const replicas = replicasOf(svc, tasks);
    const running = tasks.filter((t) => t.Status?.State === 'running' && !isStaleTask(svc, t));
    const pending = tasks.filter((t) => t.Status?.State !== 'running');
    const stale = tasks.length - running.length - pending.length;
    if (stale > 0) {
      problems.push(`${want.name}: ${stale} task${stale === 1 ? '' : 's'} still from the previous spec`);
      worsen('Progressing');
    }
    if (update === 'updating') {
      problems.push(`${want.name}: Swarm update in progress`);
      worsen('Progressing');
    }
    if (running.length < replicas || pending.length > 0) {
      const detail = pending.slice(0, 3).map(taskProblem);
      problems.push(`${want.name}: ${running.length} of ${replicas} tasks running${detail.length > 0 ? `; ${detail.join('; ')}` : ''}`);
      worsen(pending.some((t) => t.Status?.State === 'failed' || t.Status?.State === 'rejected') ? 'Degraded' : 'Progressing');
    }
  }
  return { ok: problems.length === 0, health: problems.length === 0 ? 'Healthy' : health, problems, final };
}

/** Services of `stack` the repo no longer declares (docker stack deploy --prune removes them). */
export function extraSwarmServices(stack: DesiredStack, live: SwarmLive): string[] {
  const declared = new Set(stack.services.map((s) => s.name));
  return live.services
    .map(serviceName)
    .filter((n): n is { stack: string; service: string } => n?.stack === stack.name && !declared.has(n.service))
    .map((n) => n.service)
    .sort();
}

/** Swarm service of each declared service, by its name in the compose file. */
export function stackServices(stackName: string, live: SwarmLive): Record<string, SwarmService> {
  const out = dict<SwarmService>();
  for (const svc of live.services) {
    const name = serviceName(svc);
    if (name?.stack === stackName && own(out, name.service) === undefined) out[name.service] = svc;
  }
  return out;
}
