import { describe, expect, it } from 'vitest';
import type { DeploymentInput } from '../../../src/state/schema.js';
import { freshStore, thrown } from './helpers.js';

const deploy = (over: Partial<DeploymentInput>): DeploymentInput => ({
  stack: 'web',
  revision: 'r1',
  ref: 'v1.0.0',
  inputsHash: 'inputs-1',
  configHashes: { app: 'h-app', proxy: 'h-proxy' },
  health: 'Healthy',
  status: 'succeeded',
  ...over,
});

describe('deployments', () => {
  it('records a deployment and maps it back to camelCase with parsed config hashes', () => {
    const { store } = freshStore();
    const op = store.startOperation({ trigger: 'cli', actor: 'alice', command: 'driftd sync', stack: 'web', action: 'deploy', revision: 'r1' });
    const d = store.recordDeployment(deploy({ operationId: op }));
    expect(d).toEqual({
      id: 1,
      stack: 'web',
      revision: 'r1',
      ref: 'v1.0.0',
      inputsHash: 'inputs-1',
      configHashes: { app: 'h-app', proxy: 'h-proxy' },
      health: 'Healthy',
      status: 'succeeded',
      operationId: op,
      at: '2026-01-01T00:00:00.000Z',
    });
    expect(store.currentDeployment('web')).toEqual(d);
  });

  it('leaves ref and operationId undefined (not null) when absent (branch mode, no operation)', () => {
    const { store } = freshStore();
    const d = store.recordDeployment(deploy({ ref: undefined }));
    expect(d.ref).toBeUndefined();
    expect(d.operationId).toBeUndefined();
  });

  it('currentDeployment is the last succeeded one: a failed or rolled-back attempt is not what runs', () => {
    const { store, clock } = freshStore();
    store.recordDeployment(deploy({ revision: 'r1' }));
    clock.advance(1000);
    store.recordDeployment(deploy({ revision: 'r2', status: 'rolled-back', health: 'Degraded' }));
    store.recordDeployment(deploy({ revision: 'r3', status: 'failed', health: 'Unknown' }));
    expect(store.currentDeployment('web')?.revision).toBe('r1');
    expect(store.currentDeployment('other')).toBeUndefined();
  });

  it('orders by insertion, not by clock (a clock that went backwards does not reorder)', () => {
    const { store, clock } = freshStore();
    store.recordDeployment(deploy({ revision: 'r1' }));
    clock.advance(-60_000);
    store.recordDeployment(deploy({ revision: 'r2' }));
    expect(store.currentDeployment('web')?.revision).toBe('r2');
  });

  it('lastHealthyDeployment skips unhealthy, unsuccessful and excepted revisions', () => {
    const { store } = freshStore();
    store.recordDeployment(deploy({ revision: 'r1' }));
    store.recordDeployment(deploy({ revision: 'r2', health: 'Progressing' }));
    store.recordDeployment(deploy({ revision: 'r3', status: 'rolled-back', health: 'Degraded' }));
    store.recordDeployment(deploy({ revision: 'r4' }));
    expect(store.lastHealthyDeployment('web')?.revision).toBe('r4');
    expect(store.lastHealthyDeployment('web', { exceptRevision: 'r4' })?.revision).toBe('r1');
    expect(store.lastHealthyDeployment('web', { exceptRevision: 'r1' })?.revision).toBe('r4');
    expect(store.lastHealthyDeployment('db')).toBeUndefined();
  });

  it('lists a stack’s deployments newest first, limited', () => {
    const { store } = freshStore();
    for (const r of ['r1', 'r2', 'r3']) store.recordDeployment(deploy({ revision: r }));
    store.recordDeployment(deploy({ stack: 'db', revision: 'x' }));
    expect(store.deployments('web', 2).map((d) => d.revision)).toEqual(['r3', 'r2']);
    expect(store.deployments('web', Infinity).map((d) => d.revision)).toEqual(['r3', 'r2', 'r1']);
    expect(store.deployments('nope', 5)).toEqual([]);
  });

  it.each([
    ['an unknown health', { health: 'Fine' }],
    ['an unknown status', { status: 'ok' }],
    ['an empty revision', { revision: '' }],
    ['a non-string config hash', { configHashes: { app: 1 } }],
  ])('refuses %s with a StateError, writing nothing', (_what, bad) => {
    const { store } = freshStore();
    expect(thrown(() => store.recordDeployment(deploy(bad as Partial<DeploymentInput>))).message).toMatch(
      /^refusing to store a deployment in the state database \((health|status|revision|configHashes\.app): .+\): this is a driftd bug/,
    );
    expect(store.deployments('web', 10)).toEqual([]);
  });
});

describe('failed revisions', () => {
  it('marks, reads, lists and clears failed revisions per stack', () => {
    const { store, clock } = freshStore();
    expect(store.isRevisionFailed('web', 'r2')).toBe(false);
    store.markRevisionFailed('web', 'r2', 'health gate: app unhealthy');
    store.markRevisionFailed('db', 'r2', 'pull failed');
    expect(store.isRevisionFailed('web', 'r2')).toBe(true);
    expect(store.isRevisionFailed('web', 'r3')).toBe(false);
    expect(store.failedRevision('web', 'r2')).toEqual({ stack: 'web', revision: 'r2', reason: 'health gate: app unhealthy', at: '2026-01-01T00:00:00.000Z' });

    clock.advance(5000);
    store.markRevisionFailed('web', 'r2', 'failed again');
    expect(store.failedRevision('web', 'r2')).toMatchObject({ reason: 'failed again', at: '2026-01-01T00:00:05.000Z' });
    expect(store.failedRevisions().map((f) => `${f.stack}@${f.revision}`).sort()).toEqual(['db@r2', 'web@r2']);

    store.markRevisionFailed('web', 'r3', 'x');
    expect(store.clearFailed('web', 'r3')).toBe(1);
    expect(store.isRevisionFailed('web', 'r2')).toBe(true);
    expect(store.clearFailed('web')).toBe(1);
    expect(store.isRevisionFailed('web', 'r2')).toBe(false);
    expect(store.isRevisionFailed('db', 'r2')).toBe(true);
  });
});
