import { describe, expect, it } from 'vitest';
import { MAX_OUTPUT_CHARS } from '../../../src/state/store.js';
import type { OperationStart } from '../../../src/state/schema.js';
import { processIdentity } from '../../../src/state/process-identity.js';
import { freshStore, thrown } from './helpers.js';

const start: OperationStart = { trigger: 'webhook', actor: 'gitea', command: 'POST /hooks/git', stack: 'web', action: 'deploy', revision: 'r2' };

describe('operations history', () => {
  it('starts as running and finishes with result, message, output and duration from the injected clock', () => {
    const { store, clock } = freshStore();
    const id = store.startOperation(start);
    expect(store.operation(id)).toEqual({
      id,
      trigger: 'webhook',
      actor: 'gitea',
      command: 'POST /hooks/git',
      stack: 'web',
      action: 'deploy',
      revision: 'r2',
      result: 'running',
      message: undefined,
      output: undefined,
      owner: processIdentity(),
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: undefined,
      durationMs: undefined,
    });
    clock.advance(1234);
    const done = store.finishOperation(id, { result: 'succeeded', message: 'web synced to r2', output: 'Container web-app-1 Started\n' });
    expect(done).toMatchObject({
      result: 'succeeded',
      message: 'web synced to r2',
      output: 'Container web-app-1 Started\n',
      finishedAt: '2026-01-01T00:00:01.234Z',
      durationMs: 1234,
    });
  });

  it('refuses to finish an operation twice or an unknown one', () => {
    const { store } = freshStore();
    const id = store.startOperation(start);
    store.finishOperation(id, { result: 'failed' });
    expect(thrown(() => store.finishOperation(id, { result: 'succeeded' })).message).toMatch(/operation 1 is already failed/);
    expect(thrown(() => store.finishOperation(42, { result: 'succeeded' })).message).toMatch(/operation 42 is unknown/);
    expect(store.operation(id)?.result).toBe('failed');
  });

  it('refuses "running" as a final result', () => {
    const { store } = freshStore();
    const id = store.startOperation(start);
    thrown(() => store.finishOperation(id, { result: 'running' as 'failed' }));
  });

  it('stores output exactly as given: redaction is the caller’s job', () => {
    const { store } = freshStore();
    const id = store.startOperation(start);
    const output = 'POSTGRES_PASSWORD=hunter2-very-secret\nAPI_TOKEN=ghp_abcdef0123456789';
    expect(store.finishOperation(id, { result: 'failed', output }).output).toBe(output);
  });

  it('cuts long output, keeping its head and its tail (where Compose prints the error)', () => {
    const { store } = freshStore();
    const id = store.startOperation(start);
    const output = `FIRST LINE\n${'x'.repeat(200_000)}\nError: the last line`;
    const stored = store.finishOperation(id, { result: 'failed', output }).output!;
    expect(stored.length).toBeLessThanOrEqual(MAX_OUTPUT_CHARS + 100);
    expect(stored.startsWith('FIRST LINE\n')).toBe(true);
    expect(stored.endsWith('\nError: the last line')).toBe(true);
    expect(stored).toMatch(/…\[\d+ characters cut\]…/);
  });

  it('history is newest first, filtered by stack, limited; host-wide operations have no stack', () => {
    const { store } = freshStore();
    const a = store.startOperation({ ...start, stack: 'web' });
    const b = store.startOperation({ ...start, stack: undefined, action: 'reconcile', trigger: 'schedule', actor: 'agent', command: 'driftd agent' });
    const c = store.startOperation({ ...start, stack: 'db' });
    const d = store.startOperation({ ...start, stack: 'web', action: 'rollback' });
    expect(store.history().map((o) => o.id)).toEqual([d, c, b, a]);
    expect(store.history({ limit: 2 }).map((o) => o.id)).toEqual([d, c]);
    expect(store.history({ stack: 'web' }).map((o) => o.id)).toEqual([d, a]);
    expect(store.operation(b)?.stack).toBeUndefined();
  });

  it('abandonOrphanedOperations leaves operations of live processes alone', () => {
    const { store } = freshStore();
    const id = store.startOperation(start);
    expect(store.abandonOrphanedOperations()).toEqual([]);
    expect(store.operation(id)?.result).toBe('running');
  });
});

describe('audit trail', () => {
  it('records who and what with a JSON detail, newest first, filterable by stack', () => {
    const { store, clock } = freshStore();
    store.audit({ actor: 'alice', trigger: 'cli', action: 'pin', detail: { tag: 'v1.0.0', scope: 'host' } });
    clock.advance(10);
    const e = store.audit({ actor: 'bob', trigger: 'user', action: 'approve', stack: 'db', detail: { revision: 'r9' } });
    store.audit({ actor: 'agent', trigger: 'schedule', action: 'reconcile' });
    expect(e).toEqual({ id: 2, at: '2026-01-01T00:00:00.010Z', actor: 'bob', trigger: 'user', action: 'approve', stack: 'db', detail: { revision: 'r9' } });
    expect(store.auditTrail().map((a) => a.actor)).toEqual(['agent', 'bob', 'alice']);
    expect(store.auditTrail({ limit: 1 })[0]?.detail).toEqual({});
    expect(store.auditTrail({ stack: 'db' }).map((a) => a.id)).toEqual([2]);
  });

  it('refuses an unknown trigger or action', () => {
    const { store } = freshStore();
    thrown(() => store.audit({ actor: 'x', trigger: 'cron' as 'cli', action: 'pin' }));
    thrown(() => store.audit({ actor: 'x', trigger: 'cli', action: 'explode' as 'pin' }));
    expect(store.auditTrail()).toEqual([]);
  });
});
