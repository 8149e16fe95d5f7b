/** Issue 13, finding 3: a state.db deleted, replaced or emptied is noticed, never silently new. */
import { renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { moveStateAside, openState, statePath } from '../../../src/state/open.js';
import { freshStore, thrown } from '../state/helpers.js';

describe('state.db under a running process', () => {
  it('is unchanged while the file is the one opened', () => {
    const { store } = freshStore();
    expect(store.replacedOnDisk()).toBeUndefined();
  });

  it('notices a deleted file (SQLite would keep writing to the lost inode)', () => {
    const { store, dataDir } = freshStore();
    store.setPin({ tag: 'v1', commit: 'c1', by: 'x' });
    rmSync(statePath(dataDir));
    expect(store.pins()).toHaveLength(1); // still answers, from the deleted inode
    expect(store.replacedOnDisk()?.message).toMatch(/was deleted while driftd had it open/);
  });

  it('notices a file replaced by another one (another inode)', () => {
    const { store, dataDir } = freshStore();
    const other = openState(`${dataDir}-other`);
    other.close();
    renameSync(statePath(`${dataDir}-other`), statePath(dataDir));
    expect(store.replacedOnDisk()?.message).toMatch(/was replaced by another file/);
  });

  it('notices a file emptied in place', () => {
    const { store, dataDir } = freshStore();
    truncateSync(statePath(dataDir), 0);
    expect(store.replacedOnDisk()?.message).toMatch(/was emptied \(0 bytes\)/);
  });

  it('notices a file overwritten in place (same inode, no SQLite header)', () => {
    const { store, dataDir } = freshStore();
    writeFileSync(statePath(dataDir), Buffer.alloc(8192, 'garbage '));
    expect(store.replacedOnDisk()?.message).toMatch(/was overwritten \(no SQLite header\)/);
  });

  it('refuses to open a 0-byte state.db as a new database, read-write or read-only', () => {
    const { store, dataDir } = freshStore();
    store.close();
    writeFileSync(statePath(dataDir), '');
    for (const readonly of [false, true]) {
      const e = thrown(() => openState(dataDir, { readonly }));
      expect(e.code).toBe('StateError');
      expect(e.data).toMatchObject({ reason: 'empty' });
      expect(e.message).toMatch(/is empty \(0 bytes\): it was truncated, and driftd will not silently start over/);
    }
  }, 30_000); // each open first waits a moment for a concurrent creator to write the header

  it('moves a broken state.db aside with its WAL, so that a new one can be created', () => {
    const { store, dataDir } = freshStore();
    store.close();
    writeFileSync(statePath(dataDir), '');
    const aside = moveStateAside(dataDir, 'empty', new Date('2026-01-02T03:04:05.678Z'));
    expect(aside).toBe(`${statePath(dataDir)}.empty-2026-01-02T030405678Z`);
    const fresh = openState(dataDir);
    expect(fresh.deploymentCount()).toBe(0);
    fresh.close();
  });
});
