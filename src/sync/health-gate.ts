import { setTimeout as sleep } from 'node:timers/promises';
import type { DesiredStack } from '../compose/model.js';
import { oneShotServices } from '../drift/compose-names.js';
import { containerHealth, worstHealth } from '../drift/health.js';
import type { HealthStatus } from '../drift/model.js';
import type { LiveContainer } from '../live/model.js';
import { isComposeReplica } from '../util/labels.js';

export interface HealthGateResult {
  ok: boolean;
  health: HealthStatus;
  /** One sentence per problem, e.g. "web: 0 of 1 container running". */
  problems: string[];
  waitedMs: number;
}

/** Pure: does this set of containers satisfy the stack (every replica running and healthy)? */
export function evaluateHealth(stack: DesiredStack, containers: readonly LiveContainer[]): Omit<HealthGateResult, 'waitedMs'> & { final: boolean } {
  const oneShot = oneShotServices(stack);
  const problems: string[] = [];
  const healths: HealthStatus[] = [];
  let final = false;
  for (const svc of stack.services) {
    // A leftover `compose run` job or a hand-made look-alike is not a replica (see isComposeReplica):
    // an exited migration job must not fail the gate and roll a good release back.
    const mine = containers.filter((c) => c.service === svc.name && isComposeReplica(c.labels));
    if (mine.length < svc.replicas) {
      problems.push(`${svc.name}: ${mine.length} of ${svc.replicas} containers exist`);
      healths.push('Missing');
    }
    for (const c of mine) {
      const verdict = containerHealth(c, oneShot.has(svc.name));
      healths.push(verdict.health);
      if (verdict.finding) problems.push(`${svc.name}: container ${c.name} ${verdict.finding.detail}`);
      else if (verdict.health === 'Progressing') problems.push(`${svc.name}: container ${c.name} health check is starting`);
      // Docker marks a container unhealthy only after `retries` failed checks: waiting longer will not help.
      if (c.health === 'unhealthy' || c.state === 'dead') final = true;
    }
  }
  const health = worstHealth(healths);
  return { ok: health === 'Healthy', health, problems, final };
}

export interface WaitOptions {
  stack: DesiredStack;
  list: () => Promise<LiveContainer[]>;
  timeoutMs: number;
  pollMs?: number;
  signal?: AbortSignal;
}

/**
 * After `compose up`: waits until every container of the stack runs and, where it has a health
 * check, is healthy — or until `timeoutMs`, or until a container is definitively unhealthy.
 */
export function waitHealthy(opts: WaitOptions): Promise<HealthGateResult> {
  return waitForVerdict(async () => evaluateHealth(opts.stack, await opts.list()), opts);
}

/** Polls `evaluate` until ok, final (waiting longer will not help), `timeoutMs` or the signal. */
export async function waitForVerdict(
  evaluate: () => Promise<Omit<HealthGateResult, 'waitedMs'> & { final: boolean }>,
  opts: { timeoutMs: number; pollMs?: number; signal?: AbortSignal },
): Promise<HealthGateResult> {
  const started = Date.now();
  const pollMs = opts.pollMs ?? 1000;
  for (;;) {
    const verdict = await evaluate();
    const waitedMs = Date.now() - started;
    if (verdict.ok) return { ok: true, health: 'Healthy', problems: [], waitedMs };
    if (verdict.final || waitedMs >= opts.timeoutMs || opts.signal?.aborted) {
      const health = verdict.health === 'Progressing' ? 'Degraded' : verdict.health;
      const why = verdict.final ? '' : ` after ${Math.round(waitedMs / 1000)} s`;
      return { ok: false, health, problems: verdict.problems.map((p) => `${p}${why}`), waitedMs };
    }
    await sleep(Math.min(pollMs, Math.max(0, opts.timeoutMs - waitedMs)));
  }
}
