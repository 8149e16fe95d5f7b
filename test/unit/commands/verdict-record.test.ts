/**
 * recordVerdicts (src/commands/verdict-cache.ts): what a full run stores for the next one to
 * decide from, against a real state DB in a temp dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recordVerdicts } from '../../../src/commands/verdict-cache.js';
import { resolveConfig } from '../../../src/config/resolve.js';
import { openState, type StateStore } from '../../../src/state/index.js';
import type { ReconcileResult } from '../../../src/sync/reconcile.js';
import { FLEET_SCOPE, stackScope } from '../../../src/sync/verdict.js';
import { silentLogger } from '../../../src/util/logger.js';
import type { DesiredState } from '../../../src/compose/model.js';
import { COMMIT, desiredService, desiredStack, desiredState } from '../drift/fixtures.js';

const OID = (c: string) => c.repeat(40);
const HASH = 'e'.repeat(64);

describe('recordVerdicts', () => {
  const dirs: string[] = [];
  const states: StateStore[] = [];
  afterEach(() => {
    for (const s of states.splice(0)) s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  function record(policies?: DesiredState['policies']): string[] {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-verdict-record-'));
    dirs.push(dataDir);
    const config = resolveConfig({ flags: { repo: dataDir, dataDir, host: 'web-01' }, env: {} });
    const state = openState(dataDir);
    states.push(state);
    const stack = desiredStack({ services: [desiredService({ configHash: HASH, replicas: 1 })] });
    const desired = desiredState([stack], policies ? { policies } : {});
    const target = { stack, revision: desired.revision, root: dataDir };
    const result: ReconcileResult = {
      plan: { stacks: [{ stack: stack.name, action: 'none', reason: 'in sync', revision: COMMIT, target, changedServices: [] }], warnings: [] },
      outcomes: [{ stack: stack.name, action: 'none', result: 'unchanged', message: 'in sync', revision: COMMIT, health: 'Healthy' }],
      exitCode: 0,
    };
    const snapshot = { oids: { 'stacks/shop': OID('1'), 'fleet.yaml': OID('2') }, problems: [] };
    recordVerdicts({ config, state, snapshot, desired, result, logger: silentLogger });
    return [...state.syncVerdicts().keys()].sort();
  }

  it('stores the host selection and a verdict for a stack left in sync and healthy', () => {
    expect(record()).toEqual([FLEET_SCOPE, stackScope('shop')].sort());
  });

  it('stores nothing when fleet.yaml names a stack with engine: swarm and prune: true (it may be due for docker stack rm)', () => {
    const swarm = { ...desiredStack().policy, engine: 'swarm' as const, prune: true };
    expect(record({ shop: desiredStack().policy, gone: swarm })).toEqual([]);
    // engine: swarm without prune leaves nothing to remove: verdicts as usual.
    expect(record({ shop: desiredStack().policy, gone: { ...swarm, prune: false } })).toEqual([FLEET_SCOPE, stackScope('shop')].sort());
  });
});

describe('StateStore.generation: what the agent keys its memory of stored rows on', () => {
  it('changes when this connection writes, when another connection commits, and for another connection', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-generation-'));
    const one = openState(dataDir);
    const other = openState(dataDir);
    try {
      const g0 = one.generation();
      expect(one.generation()).toBe(g0);
      one.setStackStatuses([{ stack: 'web', sync: 'Synced', health: 'Healthy', reason: 'in sync' }]);
      const g1 = one.generation();
      expect(g1).not.toBe(g0);
      other.setStackStatuses([{ stack: 'api', sync: 'Synced', health: 'Healthy', reason: 'in sync' }]);
      expect(one.generation()).not.toBe(g1);
      expect(other.generation()).not.toBe(one.generation());
    } finally {
      one.close();
      other.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
