/**
 * recordVerdicts (src/commands/verdict-cache.ts): what a full run stores for the next one to
 * decide from, against a real state DB in a temp dir.
 */
import { describe, expect, it } from 'vitest';
import { noChangeRun, recordVerdicts, type NoChangeSlot } from '../../../src/commands/verdict-cache.js';
import { resolveConfig } from '../../../src/config/resolve.js';
import { openState } from '../../../src/state/index.js';
import type { ReconcileResult } from '../../../src/sync/reconcile.js';
import { FLEET_SCOPE, stackScope } from '../../../src/sync/verdict.js';
import { silentLogger } from '../../../src/util/logger.js';
import type { DesiredState } from '../../../src/compose/model.js';
import { LABEL_CONFIG_HASH, LABEL_STACK } from '../../../src/util/labels.js';
import { COMMIT, desiredService, desiredStack, desiredState, liveContainer } from '../drift/fixtures.js';
import { freshStore } from '../state/helpers.js';

const OID = (c: string) => c.repeat(40);
const HASH = 'e'.repeat(64);

describe('recordVerdicts', () => {
  function record(policies?: DesiredState['policies']): string[] {
    const { store: state, dataDir } = freshStore();
    const config = resolveConfig({ flags: { repo: dataDir, dataDir, host: 'web-01' }, env: {} });
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
    const { store: one, dataDir } = freshStore();
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
      other.close();
    }
  });
});

describe('StateStore.generation: notification and hub writes leave it, verdict-affecting writes change it', () => {
  const event = (eventId: string, channel = 'hub') => ({ eventId, channel, event: '{"kind":"status"}' });

  it('outbox and notification-memory writes of this connection do not change it', () => {
    const { store: state } = freshStore();
    const g0 = state.generation();
    state.enqueueLatest(event('status'));
    state.enqueueNotifications({ seen: ['a'] }, [event('e1', 'slack'), event('e2', 'slack')], 10);
    const [due] = state.outboxDue('slack', 10);
    state.outboxFailed([due!.id], 'refused', new Date(Date.now() + 60_000));
    state.outboxDelivered(state.outboxDue('hub', 10).map((r) => r.id));
    state.pruneOutbox(['hub'], 0);
    expect(state.outboxCounts().length).toBeGreaterThanOrEqual(0);
    expect(state.generation()).toBe(g0);
  });

  it('a status that says the same again is no change; a different status, a deployment, a verdict row, a pin each change it', () => {
    const { store: state } = freshStore();
    const synced = { stack: 'web', sync: 'Synced' as const, health: 'Healthy' as const, reason: 'in sync', revision: COMMIT };
    state.setStackStatuses([synced]);
    const g0 = state.generation();
    const at0 = state.stackStatuses()[0]!.at;
    state.setStackStatuses([synced]);
    expect(state.generation()).toBe(g0);
    expect(state.stackStatuses()[0]!.at).toBe(at0);
    let g = g0;
    const changes = (write: () => void): void => {
      write();
      expect(state.generation()).not.toBe(g);
      g = state.generation();
    };
    changes(() => state.setStackStatuses([{ ...synced, sync: 'OutOfSync', reason: 'drift' }]));
    changes(() => state.setStackStatuses([synced]));
    changes(() => state.setStackStatuses([{ ...synced, revision: OID('9') }]));
    changes(() => state.recordDeployment({ stack: 'web', revision: COMMIT, inputsHash: 'i', configHashes: { web: HASH }, health: 'Healthy', status: 'succeeded' }));
    changes(() => state.putSyncVerdicts([{ scope: stackScope('web'), key: 'k', verdict: {} }]));
    changes(() => state.setPin({ tag: 'v1', commit: COMMIT, by: 'test' }));
  });

  it("another connection's outbox write still changes it (SQLite's data_version cannot tell tables apart)", () => {
    const { store: one, dataDir } = freshStore();
    const other = openState(dataDir);
    try {
      const g0 = one.generation();
      other.enqueueLatest(event('status'));
      expect(one.generation()).not.toBe(g0);
    } finally {
      other.close();
    }
  });
});

describe('noChangeRun under the agent memo: what it skips while the generation holds, and what it still sees', () => {
  function setup() {
    const { store: state, dataDir } = freshStore();
    const config = resolveConfig({ flags: { repo: dataDir, dataDir, host: 'web-01' }, env: {} });
    const stack = desiredStack({ services: [desiredService({ configHash: HASH, replicas: 1 })] });
    const desired = desiredState([stack]);
    const target = { stack, revision: desired.revision, root: dataDir };
    const result: ReconcileResult = {
      plan: { stacks: [{ stack: stack.name, action: 'none', reason: 'in sync', revision: COMMIT, target, changedServices: [] }], warnings: [] },
      outcomes: [{ stack: stack.name, action: 'none', result: 'unchanged', message: 'in sync', revision: COMMIT, health: 'Healthy' }],
      exitCode: 0,
    };
    const snapshot = { oids: { 'stacks/shop': OID('1'), 'fleet.yaml': OID('2') }, problems: [] };
    state.recordDeployment({ stack: 'shop', revision: COMMIT, inputsHash: stack.inputsHash, configHashes: { web: HASH }, health: 'Healthy', status: 'succeeded' });
    recordVerdicts({ config, state, snapshot, desired, result, logger: silentLogger });
    const live = (hash = HASH) => [liveContainer({ labels: { ...liveContainer().labels, [LABEL_STACK]: 'shop', [LABEL_CONFIG_HASH]: hash } })];
    const memo = { holder: { noChange: undefined as NoChangeSlot | undefined }, desiredKey: 'desired' };
    const run = (containers = live()) =>
      noChangeRun({ config, state, docker: undefined as never, snapshot, revision: desired.revision, logger: silentLogger, containers, memo });
    return { state, run, live };
  }

  it('a hub report or notification written between two cycles keeps the memo: the stored rows are not read again, no status is rewritten', async () => {
    const { state, run } = setup();
    const first = await run();
    expect(first.decision.hit).toBe(true);
    const g = state.generation();
    state.enqueueLatest({ eventId: 'status', channel: 'hub', event: '{}' });
    state.enqueueNotifications({}, [{ eventId: 'e', channel: 'slack', event: '{}' }], 10);
    const second = await run();
    expect(second.decision.hit).toBe(true);
    // The same Map instance: the slot held, the rows were not read again.
    expect(second.stored).toBe(first.stored);
    expect(state.generation()).toBe(g);
  });

  it('a changed container is still detected while the memo holds (the live list is checked every cycle)', async () => {
    const { run, live } = setup();
    expect((await run()).decision.hit).toBe(true);
    const changed = await run(live('f'.repeat(64)));
    expect(changed.decision).toEqual({ hit: false, reason: 'shop: web: config hash label differs' });
    expect((await run([])).decision.hit).toBe(false);
  });

  it('a verdict-affecting write between two cycles drops the memo: a new deployment with other hashes is a miss', async () => {
    const { state, run } = setup();
    const first = await run();
    expect(first.decision.hit).toBe(true);
    state.recordDeployment({ stack: 'shop', revision: COMMIT, inputsHash: 'inputs', configHashes: { web: 'a'.repeat(64) }, health: 'Healthy', status: 'succeeded' });
    const second = await run();
    expect(second.decision).toEqual({ hit: false, reason: 'shop: the recorded config hash differs' });
    expect(second.stored).not.toBe(first.stored);
  });

  it('a status written by someone else between two hits is written back to Synced (its write changed the generation)', async () => {
    const { state, run } = setup();
    expect((await run()).decision.hit).toBe(true);
    state.setStackStatuses([{ stack: 'shop', sync: 'Unknown', health: 'Unknown', reason: 'docker did not answer' }]);
    expect((await run()).decision.hit).toBe(true);
    expect(state.stackStatuses()).toEqual([expect.objectContaining({ stack: 'shop', sync: 'Synced', health: 'Healthy', reason: 'in sync', revision: COMMIT })]);
  });
});
