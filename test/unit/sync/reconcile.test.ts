/**
 * reconcile's orchestration with in-memory clients (fake-host.ts) and a real state DB: what each
 * outcome records (operation, journal, audit, deployment, status), that a failed deploy rolls back
 * to the target the plan resolved before anything ran, and recovery of an interrupted apply.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../../src/compose/index.js';
import type { DesiredState, StackPolicy } from '../../../src/compose/model.js';
import { resolveConfig } from '../../../src/config/resolve.js';
import { openState } from '../../../src/state/open.js';
import type { StackTarget } from '../../../src/sync/model.js';
import { planRollback, reconcile, type ReconcileDeps } from '../../../src/sync/reconcile.js';
import { recoverInterruptedApplies } from '../../../src/sync/recover.js';
import { loadStackAt } from '../../../src/sync/stack-at.js';
import { silentLogger } from '../../../src/util/logger.js';
import { FakeCompose, FakeEngine, FakeSnapshots } from './fake-host.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** c1 runs app:1, c2 runs app:2, c3 runs app:3 (one service `web` in stack `shop`). */
function world(policy: Partial<StackPolicy> = {}) {
  const root = mkdtempSync(path.join(os.tmpdir(), 'driftd-reconcile-'));
  const dirs = new Map<string, string>();
  for (const n of [1, 2, 3]) {
    const dir = path.join(root, `tree-c${n}`);
    mkdirSync(path.join(dir, 'stacks', 'shop'), { recursive: true });
    writeFileSync(path.join(dir, 'stacks', 'shop', 'compose.yaml'), `services:\n  web:\n    image: registry.test/app:${n}\n`);
    dirs.set(`c${n}`, dir);
  }
  const dataDir = path.join(root, 'data');
  const state = openState(dataDir);
  cleanups.push(() => {
    state.close();
    rmSync(root, { recursive: true, force: true });
  });
  const events: string[] = [];
  const engine = new FakeEngine();
  const compose = new FakeCompose(engine, events);
  const source = new FakeSnapshots(dirs, events);
  const config = resolveConfig({ flags: { config: '/dev/null', dataDir, repo: root }, env: {}, cwd: root });
  let composeDetections = 0;
  const deps: ReconcileDeps = {
    config,
    logger: silentLogger,
    state,
    docker: { docker: engine, address: engine.address },
    source,
    compose: () => {
      composeDetections++;
      return Promise.resolve(compose);
    },
    trigger: 'cli',
    actor: 'tester',
    command: 'driftd sync',
  };
  const stackPolicy: StackPolicy = { ...DEFAULT_POLICY, ...policy };
  const targetAt = async (commit: string): Promise<StackTarget> => {
    const { stack, root: tree } = await loadStackAt({ source, config }, commit, 'shop', stackPolicy);
    return { stack, revision: { commit, ref: `v-${commit}`, refKind: 'tag' }, root: tree };
  };
  const run = async (commit: string | undefined, extra: Partial<ReconcileDeps> = {}) => {
    const targets = commit ? [await targetAt(commit)] : [];
    const desired: DesiredState = {
      host: 'h1',
      revision: { commit: commit ?? 'c0', ref: 'v', refKind: 'tag' },
      stacks: targets.map((t) => t.stack),
      errors: [],
      allStackNames: targets.map((t) => t.stack.name),
      policies: { shop: stackPolicy },
    };
    events.length = 0;
    return reconcile({ ...deps, ...extra }, { desired, targets, only: [], dryRun: false, force: false, allowMassPrune: true });
  };
  return { deps, state, dataDir, engine, compose, source, events, run, targetAt, composeDetections: () => composeDetections };
}

function journal(dataDir: string): { action: string; revision: string; result: string | null }[] {
  const db = new Database(path.join(dataDir, 'state.db'), { readonly: true });
  try {
    return db.prepare('SELECT action, revision, result FROM journal ORDER BY id').all() as { action: string; revision: string; result: string | null }[];
  } finally {
    db.close();
  }
}

describe('reconcile with in-memory clients', () => {
  it('a first deploy: Compose pull and up, operation + journal + audit closed together, status Synced', async () => {
    const w = world();
    const result = await w.run('c1');
    expect(result.exitCode).toBe(0);
    expect(result.outcomes).toMatchObject([{ stack: 'shop', action: 'deploy', result: 'deployed', health: 'Healthy', revision: 'c1' }]);
    expect(w.events).toEqual(['pull shop', 'up shop']);
    expect(w.state.history({ stack: 'shop' })).toMatchObject([{ action: 'deploy', revision: 'c1', result: 'succeeded', actor: 'tester', trigger: 'cli' }]);
    expect(journal(w.dataDir)).toEqual([{ action: 'deploy', revision: 'c1', result: 'succeeded' }]);
    expect(w.state.auditTrail({ stack: 'shop' })).toMatchObject([{ action: 'deploy', detail: { revision: 'c1', ok: true } }]);
    expect(w.state.currentDeployment('shop')).toMatchObject({ revision: 'c1', status: 'succeeded', health: 'Healthy' });
    expect(w.state.stackStatuses()).toMatchObject([{ stack: 'shop', sync: 'Synced', health: 'Healthy', revision: 'c1' }]);
  });

  it('nothing changed: no Compose detection, no operation, exit 0', async () => {
    const w = world();
    await w.run('c1');
    const before = w.composeDetections();
    const again = await w.run('c1');
    expect(again.outcomes).toMatchObject([{ result: 'unchanged' }]);
    expect(w.composeDetections()).toBe(before);
    expect(w.state.history({ stack: 'shop' })).toHaveLength(1);
  });

  it('an unhealthy deploy rolls back to the last healthy revision, loaded before the first Compose run', async () => {
    const w = world();
    await w.run('c1');
    w.compose.unhealthy.add('registry.test/app:2');
    const result = await w.run('c2');
    expect(result.exitCode).toBe(2);
    expect(result.outcomes).toMatchObject([{ result: 'rolled-back', revision: 'c2', health: 'Healthy' }]);
    expect(result.outcomes[0]!.message).toMatch(/^health gate failed for v-c2 \(c2\): web: .*; rolled back to v-c1 \(c1\)$/);
    // The rollback target comes from the plan: materialized before anything was applied, never mid-apply.
    expect(w.events).toEqual(['materialize c1', 'pull shop', 'up shop', 'pull shop', 'up shop']);
    expect(w.state.history({ stack: 'shop' }).map((o) => [o.action, o.revision, o.result])).toEqual([
      ['rollback', 'c1', 'succeeded'],
      ['deploy', 'c2', 'failed'],
      ['deploy', 'c1', 'succeeded'],
    ]);
    expect(journal(w.dataDir).map((j) => j.result)).toEqual(['succeeded', 'failed', 'succeeded']);
    expect(w.state.auditTrail({ stack: 'shop' }).map((a) => [a.action, a.detail])).toEqual([
      ['rollback', { revision: 'c1', ok: true }],
      ['deploy', { revision: 'c2', ok: false }],
      ['deploy', { revision: 'c1', ok: true }],
    ]);
    expect(w.state.failedRevisions()).toMatchObject([{ stack: 'shop', revision: 'c2' }]);
    expect(w.state.currentDeployment('shop')).toMatchObject({ revision: 'c1', status: 'succeeded' });
  });

  it('Compose refusing `up` records the failure with Compose output and rolls back the same way', async () => {
    const w = world();
    await w.run('c1');
    w.compose.failUp.add('registry.test/app:2');
    const result = await w.run('c2');
    expect(result.outcomes).toMatchObject([{ result: 'rolled-back' }]);
    expect(result.outcomes[0]!.message).toMatch(/^compose up failed for stack shop \(exit code 1: .*manifest unknown\).*; rolled back to v-c1 \(c1\)$/);
    expect(w.state.history({ stack: 'shop' })[1]).toMatchObject({ action: 'deploy', revision: 'c2', result: 'failed' });
    expect(journal(w.dataDir).map((j) => j.result)).toEqual(['succeeded', 'failed', 'succeeded']);
  });

  it('no earlier healthy revision: failed, nothing else applied', async () => {
    const w = world();
    w.compose.unhealthy.add('registry.test/app:1');
    const result = await w.run('c1');
    expect(result.outcomes).toMatchObject([{ result: 'failed', health: 'Degraded' }]);
    expect(result.outcomes[0]!.message).toMatch(/; no earlier healthy revision to roll back to$/);
    expect(w.events).toEqual(['pull shop', 'up shop']);
  });

  it('a rollback target that cannot be loaded is said when the deploy fails, and nothing is applied for it', async () => {
    const w = world();
    await w.run('c1');
    w.source.broken.add('c1');
    w.compose.unhealthy.add('registry.test/app:2');
    const result = await w.run('c2');
    expect(result.outcomes).toMatchObject([{ result: 'failed', health: 'Degraded' }]);
    expect(result.outcomes[0]!.message).toMatch(/; rollback to c1 failed: commit c1 cannot be materialized$/);
    expect(w.events.filter((e) => e.startsWith('up'))).toEqual(['up shop']);
  });

  it('rollbackOnFailure off: no rollback target is planned (nothing older is loaded)', async () => {
    const w = world({ rollbackOnFailure: false });
    await w.run('c1');
    w.compose.unhealthy.add('registry.test/app:2');
    const result = await w.run('c2');
    expect(result.outcomes[0]!.message).toMatch(/; rollbackOnFailure is off, left as is$/);
    expect(w.events).toEqual(['pull shop', 'up shop']);
  });

  it('planRollback: none without history, the last healthy revision otherwise, never the failed one', async () => {
    const w = world();
    const c2 = await w.targetAt('c2');
    expect(await planRollback(w.deps, c2)).toEqual({ kind: 'none' });
    await w.run('c1');
    const plan = await planRollback(w.deps, c2);
    expect(plan.kind).toBe('ready');
    expect(plan.kind === 'ready' && plan.target.revision).toEqual({ commit: 'c1', ref: 'v-c1', refKind: 'tag' });
    expect(await planRollback(w.deps, await w.targetAt('c1'))).toEqual({ kind: 'none' });
  });

  it('a stack that left the host is pruned: Compose down, journal and audit closed, status removed', async () => {
    const w = world({ prune: true });
    await w.run('c1');
    const result = await w.run(undefined);
    expect(result.outcomes).toMatchObject([{ stack: 'shop', action: 'prune', result: 'pruned' }]);
    expect(w.events).toEqual(['down shop']);
    expect(w.engine.containers.size).toBe(0);
    expect(w.state.history({ stack: 'shop' })[0]).toMatchObject({ action: 'prune', result: 'succeeded', revision: undefined });
    expect(journal(w.dataDir).at(-1)).toEqual({ action: 'prune', revision: 'none', result: 'succeeded' });
    expect(w.state.auditTrail({ stack: 'shop' })[0]).toMatchObject({ action: 'prune', detail: {} });
    expect(w.state.stackStatuses()).toEqual([]);
  });

  it('recovery closes an interrupted apply: its journal abandoned, its operation abandoned, one recover row and audit line', async () => {
    const w = world();
    const op = w.state.startOperation({ trigger: 'schedule', actor: 'agent', command: 'driftd agent', stack: 'shop', action: 'deploy', revision: 'c2' });
    w.state.journalBegin({ operationId: op, stack: 'shop', action: 'deploy', revision: 'c2', fromRevision: 'c1' });
    // The process that began it is gone (a SIGKILLed agent).
    const db = new Database(path.join(w.dataDir, 'state.db'));
    db.prepare("UPDATE journal SET owner = 'pid:0'").run();
    db.close();
    expect(await recoverInterruptedApplies(w.state, silentLogger, 'schedule', 'agent', 1000)).toEqual(['shop']);
    expect(journal(w.dataDir)).toEqual([{ action: 'deploy', revision: 'c2', result: 'abandoned' }]);
    const [recover, original] = w.state.history({ stack: 'shop' });
    expect(recover).toMatchObject({ action: 'recover', command: 'recover', revision: 'c2', result: 'succeeded' });
    expect(recover!.message).toMatch(/^the deploy of c2 started .* never finished \(driftd was stopped\)/);
    expect(original).toMatchObject({ id: op, result: 'abandoned', message: recover!.message });
    expect(w.state.auditTrail({ stack: 'shop' })).toMatchObject([{ action: 'recover', actor: 'agent', detail: { revision: 'c2', fromRevision: 'c1' } }]);
    expect(await recoverInterruptedApplies(w.state, silentLogger, 'schedule', 'agent', 1000)).toEqual([]);
  });
});
