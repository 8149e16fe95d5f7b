import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openState } from '../../../src/state/open.js';
import { freshStore, thrown } from './helpers.js';

const HOUR = 3_600_000;

describe('registry digest cache', () => {
  it('serves an entry until it is older than maxAgeMs, by the injected clock', () => {
    const { store, clock } = freshStore();
    expect(store.getCachedDigest('app:1.0', 'linux/amd64', 6 * HOUR)).toBeUndefined();
    store.putCachedDigest({ imageRef: 'app:1.0', platform: 'linux/amd64', digest: 'sha256:aaa', indexDigest: 'sha256:iii' });
    clock.advance(6 * HOUR);
    expect(store.getCachedDigest('app:1.0', 'linux/amd64', 6 * HOUR)).toEqual({
      imageRef: 'app:1.0',
      platform: 'linux/amd64',
      digest: 'sha256:aaa',
      indexDigest: 'sha256:iii',
      checkedAt: '2026-01-01T00:00:00.000Z',
    });
    clock.advance(1);
    expect(store.getCachedDigest('app:1.0', 'linux/amd64', 6 * HOUR)).toBeUndefined();
  });

  it('takes an explicit `now`, and treats an entry from the future (clock went back) as expired', () => {
    const { store } = freshStore();
    store.putCachedDigest({ imageRef: 'app:1.0', platform: 'linux/amd64', digest: 'sha256:aaa' });
    expect(store.getCachedDigest('app:1.0', 'linux/amd64', HOUR, new Date('2026-01-01T00:30:00Z'))?.indexDigest).toBeUndefined();
    expect(store.getCachedDigest('app:1.0', 'linux/amd64', HOUR, new Date('2026-01-01T02:00:00Z'))).toBeUndefined();
    expect(store.getCachedDigest('app:1.0', 'linux/amd64', HOUR, new Date('2025-12-31T23:00:00Z'))).toBeUndefined();
  });

  it('keys by image and platform; a put refreshes digest and checked_at', () => {
    const { store, clock } = freshStore();
    store.putCachedDigest({ imageRef: 'app:1.0', platform: 'linux/amd64', digest: 'sha256:amd' });
    store.putCachedDigest({ imageRef: 'app:1.0', platform: 'linux/arm64', digest: 'sha256:arm' });
    clock.advance(2 * HOUR);
    store.putCachedDigest({ imageRef: 'app:1.0', platform: 'linux/amd64', digest: 'sha256:new' });
    expect(store.getCachedDigest('app:1.0', 'linux/amd64', HOUR)).toMatchObject({ digest: 'sha256:new', checkedAt: '2026-01-01T02:00:00.000Z' });
    expect(store.getCachedDigest('app:1.0', 'linux/arm64', HOUR)).toBeUndefined();
    expect(store.getCachedDigest('app:1.0', 'linux/arm64', 3 * HOUR)?.digest).toBe('sha256:arm');
  });
});

describe('stack status cache', () => {
  it('keeps the last known sync/health per stack, sorted by stack', () => {
    const { store, clock } = freshStore();
    store.setStackStatus({ stack: 'web', sync: 'Synced', health: 'Healthy', revision: 'r1' });
    store.setStackStatus({ stack: 'api', sync: 'Unknown', health: 'Unknown', reason: 'git unreachable: connection refused' });
    clock.advance(1000);
    store.setStackStatus({ stack: 'web', sync: 'OutOfSync', health: 'Degraded', reason: 'health gate failed' });
    expect(store.stackStatuses()).toEqual([
      { stack: 'api', sync: 'Unknown', health: 'Unknown', reason: 'git unreachable: connection refused', revision: undefined, at: '2026-01-01T00:00:00.000Z' },
      { stack: 'web', sync: 'OutOfSync', health: 'Degraded', reason: 'health gate failed', revision: undefined, at: '2026-01-01T00:00:01.000Z' },
    ]);
    store.removeStackStatus('api');
    expect(store.stackStatuses().map((s) => s.stack)).toEqual(['web']);
  });

  it('refuses a sync or health value outside docs/design.md §3', () => {
    const { store } = freshStore();
    thrown(() => store.setStackStatus({ stack: 'web', sync: 'Fine' as 'Synced', health: 'Healthy' }));
  });
});

describe('maintenance', () => {
  it('integrityCheck says ok on a healthy database', () => {
    const { store } = freshStore();
    expect(store.integrityCheck()).toEqual({ ok: true, messages: ['ok'] });
  });

  it('damaged pages: integrityCheck lists the problems and a read is a StateError saying the file is corrupt', () => {
    const { store, dataDir } = freshStore();
    for (let i = 0; i < 300; i++) store.audit({ actor: 'a', trigger: 'cli', action: 'pin', detail: { i, pad: 'x'.repeat(200) } });
    store.close();
    const size = statSync(store.file).size;
    const fd = openSync(store.file, 'r+');
    for (let page = 2; page < size / 4096; page += 3) writeSync(fd, Buffer.alloc(100, 0x41), 0, 100, 4096 * page + 8);
    closeSync(fd);
    const damaged = openState(dataDir);
    const check = damaged.integrityCheck();
    expect(check.ok).toBe(false);
    expect(check.messages.length).toBeGreaterThan(1);
    expect(thrown(() => damaged.auditTrail({ limit: 1000 })).message).toMatch(
      `state database ${store.file} is corrupt or not a SQLite database (database disk image is malformed) while reading the audit trail: stop driftd, move the file aside`,
    );
    damaged.close();
  });

  it('a row edited by hand into nonsense is a StateError naming the file, not a crash', () => {
    const { store, dataDir } = freshStore();
    store.recordDeployment({ stack: 'web', revision: 'r1', inputsHash: 'h', configHashes: {}, health: 'Healthy', status: 'succeeded' });
    store.close();
    const raw = new Database(store.file);
    raw.prepare(`UPDATE deployments SET config_hashes = '{not json'`).run();
    raw.close();
    const again = openState(dataDir);
    expect(thrown(() => again.currentDeployment('web')).message).toMatch(
      new RegExp(`^state database ${store.file} holds a row driftd cannot read while reading the current deployment \\(config_hashes: not valid JSON\\)`),
    );
    again.close();
  });

  it('transaction() commits together or not at all', () => {
    const { store } = freshStore();
    expect(() =>
      store.transaction(() => {
        store.setPin({ tag: 'v1', commit: 'c1', by: 'a' });
        store.approve('db', 'r1', 'a');
        throw new Error('boom');
      }),
    ).toThrow(/boom/);
    expect(store.pins()).toEqual([]);
    expect(store.isApproved('db', 'r1')).toBe(false);
    store.transaction(() => {
      store.setPin({ tag: 'v1', commit: 'c1', by: 'a' });
      store.approve('db', 'r1', 'a');
    });
    expect(store.pins()).toHaveLength(1);
    expect(store.isApproved('db', 'r1')).toBe(true);
  });
});

describe('sync verdicts and current deployments', () => {
  it('stores, replaces, deletes and clears rows in one read; unparsable JSON reads as undefined', () => {
    const { store } = freshStore();
    expect(store.syncVerdicts().size).toBe(0);
    store.putSyncVerdicts([
      { scope: 'fleet', key: 'k1', verdict: { stacks: {} } },
      { scope: 'stack:web', key: 'k2', verdict: { a: 1 } },
    ]);
    store.putSyncVerdicts([{ scope: 'stack:web', key: 'k3', verdict: { a: 2 } }], ['fleet']);
    expect([...store.syncVerdicts()]).toEqual([['stack:web', { key: 'k3', verdict: { a: 2 } }]]);
    const raw = new Database(store.file);
    raw.prepare(`UPDATE sync_verdicts SET verdict = '{not json'`).run();
    raw.close();
    expect(store.syncVerdicts().get('stack:web')).toEqual({ key: 'k3', verdict: undefined });
    store.clearSyncVerdicts();
    expect(store.syncVerdicts().size).toBe(0);
  });

  it('currentDeployments equals currentDeployment for every stack (failed rows after a success do not count)', () => {
    const { store } = freshStore();
    const d = (stack: string, revision: string, status: 'succeeded' | 'failed') =>
      store.recordDeployment({ stack, revision, inputsHash: 'i', configHashes: { s: 'h' }, health: 'Healthy', status });
    d('a', 'r1', 'succeeded');
    d('a', 'r2', 'succeeded');
    d('a', 'r3', 'failed');
    d('b', 'r1', 'failed');
    d('c', 'r9', 'succeeded');
    const all = store.currentDeployments();
    expect([...all.keys()]).toEqual(['a', 'c']);
    for (const s of ['a', 'b', 'c']) expect(all.get(s)).toEqual(store.currentDeployment(s));
    expect(all.get('a')?.revision).toBe('r2');
  });
});
