/** The health axis: per container, then the worst of a stack's containers (Argo CD's ordering). */
import type { HealthStatus, Severity } from './model.js';
import type { LiveContainer } from '../live/model.js';

export interface ContainerHealthVerdict {
  health: HealthStatus;
  /** The finding this state deserves, if any. */
  finding?: { kind: 'container-unhealthy' | 'container-not-running'; severity: Severity; detail: string };
}

/** Worse last: a stack is as healthy as its least healthy part. */
const HEALTH_ORDER: readonly HealthStatus[] = ['Healthy', 'Progressing', 'Missing', 'Degraded', 'Unknown'];

export function worstHealth(list: readonly HealthStatus[], empty: HealthStatus = 'Healthy'): HealthStatus {
  if (list.length === 0) return empty;
  return list.reduce((a, b) => (HEALTH_ORDER.indexOf(b) > HEALTH_ORDER.indexOf(a) ? b : a));
}

/**
 * `oneShot`: the service is a job others wait for with `service_completed_successfully`, so
 * "exited (0)" is where it should be.
 */
export function containerHealth(c: LiveContainer, oneShot: boolean): ContainerHealthVerdict {
  switch (c.state) {
    case 'running':
      if (c.health === 'unhealthy') {
        return { health: 'Degraded', finding: { kind: 'container-unhealthy', severity: 'error', detail: 'is unhealthy: its health check is failing' } };
      }
      return { health: c.health === 'starting' ? 'Progressing' : 'Healthy' };
    case 'exited': {
      const code = c.exitCode ?? 0;
      if (oneShot && code === 0) return { health: 'Healthy' };
      return { health: 'Degraded', finding: { kind: 'container-not-running', severity: 'error', detail: `exited with code ${code}` } };
    }
    case 'dead':
      return { health: 'Degraded', finding: { kind: 'container-not-running', severity: 'error', detail: 'is dead' } };
    case 'paused':
      return { health: 'Degraded', finding: { kind: 'container-not-running', severity: 'warning', detail: 'is paused' } };
    case 'restarting': {
      const restarts = c.restartCount !== undefined ? ` (${c.restartCount} restarts)` : '';
      return { health: 'Progressing', finding: { kind: 'container-not-running', severity: 'warning', detail: `is restarting${restarts}` } };
    }
    case 'created':
    case 'removing':
      return { health: 'Progressing', finding: { kind: 'container-not-running', severity: 'warning', detail: `is ${c.state}` } };
  }
}
