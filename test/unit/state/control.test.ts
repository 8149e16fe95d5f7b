import { describe, expect, it } from 'vitest';
import { freshStore } from './helpers.js';

describe('pins', () => {
  it('a stack pin beats the host pin; removing it falls back to the host pin', () => {
    const { store } = freshStore();
    expect(store.effectivePin('web')).toBeUndefined();
    const host = store.setPin({ tag: 'v1.0.0', commit: 'c100', by: 'alice' });
    expect(host).toEqual({ stack: undefined, tag: 'v1.0.0', commit: 'c100', by: 'alice', at: '2026-01-01T00:00:00.000Z' });
    expect(store.effectivePin('web')?.tag).toBe('v1.0.0');
    store.setPin({ stack: 'web', tag: 'v0.9.0', commit: 'c090', by: 'bob' });
    expect(store.effectivePin('web')).toMatchObject({ stack: 'web', tag: 'v0.9.0' });
    expect(store.effectivePin('db')).toMatchObject({ stack: undefined, tag: 'v1.0.0' });
    expect(store.removePin('web')).toBe(true);
    expect(store.effectivePin('web')?.tag).toBe('v1.0.0');
  });

  it('a new pin of the same scope replaces the old one; pins() lists the host pin first', () => {
    const { store, clock } = freshStore();
    store.setPin({ stack: 'web', tag: 'v1', commit: 'c1', by: 'a' });
    store.setPin({ tag: 'v2', commit: 'c2', by: 'a' });
    clock.advance(1000);
    store.setPin({ tag: 'v3', commit: 'c3', by: 'b' });
    store.setPin({ stack: 'api', tag: 'v1', commit: 'c1', by: 'a' });
    expect(store.pins().map((p) => `${p.stack ?? '*'}=${p.tag}`)).toEqual(['*=v3', 'api=v1', 'web=v1']);
    expect(store.pins()[0]).toMatchObject({ by: 'b', at: '2026-01-01T00:00:01.000Z' });
  });

  it('removePin() without a stack removes only the host pin, and says whether there was one', () => {
    const { store } = freshStore();
    store.setPin({ tag: 'v2', commit: 'c2', by: 'a' });
    store.setPin({ stack: 'web', tag: 'v1', commit: 'c1', by: 'a' });
    expect(store.removePin()).toBe(true);
    expect(store.removePin()).toBe(false);
    expect(store.pins().map((p) => p.stack)).toEqual(['web']);
    expect(store.removePin('db')).toBe(false);
  });
});

describe('approvals and pending revisions', () => {
  it('an approval is for one revision of one stack', () => {
    const { store } = freshStore();
    expect(store.isApproved('db', 'r1')).toBe(false);
    const a = store.approve('db', 'r1', 'alice');
    expect(a).toEqual({ stack: 'db', revision: 'r1', by: 'alice', at: '2026-01-01T00:00:00.000Z' });
    expect(store.isApproved('db', 'r1')).toBe(true);
    expect(store.isApproved('db', 'r2')).toBe(false);
    expect(store.isApproved('web', 'r1')).toBe(false);
  });

  it('lists approvals newest first, per stack; approving again updates who and when', () => {
    const { store, clock } = freshStore();
    store.approve('db', 'r1', 'alice');
    store.approve('web', 'r1', 'alice');
    clock.advance(1000);
    store.approve('db', 'r2', 'bob');
    store.approve('db', 'r1', 'carol');
    expect(store.approvals().map((a) => `${a.stack}@${a.revision}`)).toEqual(['db@r2', 'web@r1', 'db@r1']);
    expect(store.approvals('db').find((a) => a.revision === 'r1')).toMatchObject({ by: 'carol', at: '2026-01-01T00:00:01.000Z' });
  });

  it('remembers the revision a manual stack waits for, keeping its first-seen time until it changes', () => {
    const { store, clock } = freshStore();
    expect(store.pending('db')).toBeUndefined();
    store.setPending('db', 'r2');
    clock.advance(60_000);
    store.setPending('db', 'r2');
    expect(store.pending('db')).toEqual({ stack: 'db', revision: 'r2', at: '2026-01-01T00:00:00.000Z' });
    store.setPending('db', 'r3');
    expect(store.pending('db')).toEqual({ stack: 'db', revision: 'r3', at: '2026-01-01T00:01:00.000Z' });
    expect(store.pending('web')).toBeUndefined();
    store.setPending('db', null);
    expect(store.pending('db')).toBeUndefined();
  });
});
