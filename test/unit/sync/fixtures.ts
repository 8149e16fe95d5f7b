import type { DesiredService, DesiredStack, StackPolicy } from '../../../src/compose/model.js';
import type { LiveStackSummary, PlanInput, StackTarget } from '../../../src/sync/model.js';
import { makeService } from '../../support/desired-model.js';

export function service(name: string, configHash: string, replicas = 1): DesiredService {
  return makeService({ name, image: 'app:1.0', configHash, replicas });
}

export function stack(name: string, services: DesiredService[], policy: Partial<StackPolicy> = {}): DesiredStack {
  return {
    name,
    composeFiles: [`stacks/${name}/compose.yaml`],
    model: {},
    services,
    files: [],
    inputsHash: `inputs-${name}-${services.map((s) => s.configHash).join('-')}`,
    composeSha256: 'c',
    policy: { sync: 'auto', prune: false, selfHeal: false, healthTimeoutMs: 120_000, rollbackOnFailure: true, ...policy },
  };
}

export function target(s: DesiredStack, commit = 'c2', pinnedTag?: string): StackTarget {
  return { stack: s, revision: { commit, ref: 'v2', refKind: 'tag' }, root: '/snapshots/' + commit, ...(pinnedTag ? { pinnedTag } : {}) };
}

export function liveOf(s: DesiredStack, overrides: Partial<Record<string, Partial<LiveStackSummary['services'][string]>>> = {}): LiveStackSummary {
  const services: LiveStackSummary['services'] = {};
  for (const svc of s.services) {
    services[svc.name] = { configHash: svc.configHash, running: svc.replicas, total: svc.replicas, unhealthy: 0, ...overrides[svc.name] };
  }
  return { services, managedByDriftd: true };
}

export function input(partial: Partial<PlanInput>): PlanInput {
  return {
    targets: [],
    loadErrors: [],
    live: {},
    deployed: {},
    failedRevisions: new Set(),
    approvals: new Set(),
    drifted: new Set(),
    prunePolicies: {},
    only: [],
    force: false,
    allowMassPrune: false,
    ...partial,
  };
}
