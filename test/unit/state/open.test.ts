import { existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, SCHEMA_VERSION, migrate, type Migration } from '../../../src/state/migrations.js';
import { openState, statePath } from '../../../src/state/open.js';
import { child, freshStore, tempDir, thrown } from './helpers.js';

const tables = (file: string): string[] => {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
  } finally {
    db.close();
  }
};

describe('openState', () => {
  it('creates the data dir (0700) and a WAL database at the latest schema version', () => {
    const { store, dataDir } = freshStore();
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(store.file).toBe(statePath(dataDir));
    const raw = new Database(store.file, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    raw.close();
    expect(tables(store.file)).toEqual(
      ['approvals', 'audit', 'deployments', 'failed_revisions', 'journal', 'notify_memory', 'notify_outbox', 'operations', 'pending', 'pins', 'provenance', 'registry_cache', 'signature_verdicts', 'stack_status', 'sync_verdicts', 'verification'].sort(),
    );
  });

  it('keeps data and schema when re-opened (migrations are idempotent)', () => {
    const { store, dataDir } = freshStore();
    store.setPin({ tag: 'v1.0.0', commit: 'c1', by: 'alice' });
    store.close();
    const again = openState(dataDir);
    expect(again.pins()).toHaveLength(1);
    again.close();
    const third = openState(dataDir);
    expect(third.pins().map((p) => p.tag)).toEqual(['v1.0.0']);
    third.close();
  });

  it('has consecutive migration versions 1..N', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
  });

  it('turns foreign keys on (a deployment cannot point at an unknown operation)', () => {
    const { store } = freshStore();
    const e = thrown(() =>
      store.recordDeployment({ stack: 'web', revision: 'r1', inputsHash: 'h', configHashes: {}, health: 'Healthy', status: 'succeeded', operationId: 999 }),
    );
    expect(e.code).toBe('StateError');
    expect(e.message).toContain('FOREIGN KEY');
    expect(e.message).toContain(store.file);
  });

  it('lets four processes migrate a fresh data dir at the same moment', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const at = String(Date.now() + 2500);
    const children = [1, 2, 3, 4].map(() => child('open', dataDir, at));
    await Promise.all(children.map((c) => c.line(/^opened$/)));
    const store = openState(dataDir);
    expect(store.integrityCheck().ok).toBe(true);
    store.close();
  });

  it('opening waits for another process\'s migration longer than a write would (busyTimeoutMs)', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const holder = child('write-hold', dataDir, '5000');
    await holder.line(/^holding$/);
    expect(holder.output()).not.toContain('released');
    // A 200 ms write budget would fail here; opening has its own (OPEN_BUSY_TIMEOUT_MS) and waits.
    openState(dataDir, { busyTimeoutMs: 200 }).close();
    await holder.line(/^released$/);
    const db = new Database(statePath(dataDir), { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });

  it('retries an open that SQLite refuses at once instead of waiting (two processes switching a new file to WAL)', async () => {
    const dataDir = path.join(tempDir(), 'data');
    // A process in the middle of its own first write holds RESERVED on the still rollback-journal
    // file: switching to WAL reads page 1, cannot take RESERVED, and SQLite answers SQLITE_BUSY
    // at once — busy_timeout is not consulted, because waiting could deadlock.
    const holder = child('reserve-hold', dataDir, '1500');
    await holder.line(/^holding$/);
    const started = Date.now();
    const store = openState(dataDir, { busyTimeoutMs: 200 });
    // It got through only once the holder committed (its "released" is read after this sync call).
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    await holder.line(/^released$/);
    expect(store.integrityCheck().ok).toBe(true);
    store.close();
  });

  it('opens an up-to-date database without its write lock', async () => {
    const dataDir = path.join(tempDir(), 'data');
    openState(dataDir).close();
    const holder = child('write-hold', dataDir, '90000');
    await holder.line(/^holding$/);
    const started = Date.now();
    openState(dataDir, { busyTimeoutMs: 200 }).close();
    // Waiting for the lock would take the holder's 90 s (or fail after the open budget of 60 s).
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('migrate', () => {
  // Numbered after the real ones, so these tests hold whatever migrations exist.
  const extra: Migration = { version: SCHEMA_VERSION + 1, description: 'test', sql: 'CREATE TABLE extra (x TEXT);' };

  it('applies only the migrations a database lacks', () => {
    const { store } = freshStore();
    store.close();
    const db = new Database(store.file);
    migrate(db, store.file, [...MIGRATIONS, extra]);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 1);
    migrate(db, store.file, [...MIGRATIONS, extra]);
    db.close();
    expect(tables(store.file)).toContain('extra');
  });

  it('rolls a failing migration back whole, leaving the version where it was', () => {
    const { store } = freshStore();
    store.close();
    const db = new Database(store.file);
    const broken: Migration = { version: SCHEMA_VERSION + 1, description: 'broken', sql: 'CREATE TABLE half (x TEXT); CREATE TABLE oops (' };
    expect(() => migrate(db, store.file, [...MIGRATIONS, broken])).toThrow();
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
    expect(tables(store.file)).not.toContain('half');
  });
});

describe('openState failures', () => {
  it('refuses a database written by a newer driftd', () => {
    const { store, dataDir } = freshStore();
    store.close();
    const db = new Database(store.file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    for (const readonly of [false, true]) {
      const e = thrown(() => openState(dataDir, { readonly }));
      expect(e.code).toBe('StateError');
      expect(e.message).toMatch(/written by a newer driftd \(schema \d+, this driftd knows up to \d+\): upgrade driftd/);
      expect(e.message).toContain(store.file);
    }
  });

  it('turns a corrupt state.db into a StateError that names the file and what to do', () => {
    const dataDir = tempDir();
    writeFileSync(statePath(dataDir), 'this is not a database, just garbage\n'.repeat(200));
    const e = thrown(() => openState(dataDir));
    expect(e.code).toBe('StateError');
    expect(e.message).toBe(
      `state database ${statePath(dataDir)} is corrupt or not a SQLite database (file is not a database) while opening it: stop driftd, move the file aside (driftd then starts with an empty state) or restore it from a backup`,
    );
    expect(e.data).toMatchObject({ file: statePath(dataDir), code: 'SQLITE_NOTADB' });
  });

  it('read-only: a missing database is a StateError saying so, and nothing is created', () => {
    const dataDir = path.join(tempDir(), 'nowhere');
    const e = thrown(() => openState(dataDir, { readonly: true }));
    expect(e.code).toBe('StateError');
    expect(e.data).toMatchObject({ reason: 'missing' });
    expect(e.message).toContain(`no state database at ${statePath(dataDir)}`);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('read-only: reads, and refuses writes with a StateError', () => {
    const { store, dataDir } = freshStore();
    store.approve('db', 'r1', 'alice');
    const ro = openState(dataDir, { readonly: true });
    expect(ro.isApproved('db', 'r1')).toBe(true);
    const e = thrown(() => ro.approve('db', 'r2', 'bob'));
    expect(e.code).toBe('StateError');
    expect(e.message).toContain('cannot be written');
    ro.close();
  });

  it('read-only: an older schema asks for an upgrade instead of guessing', () => {
    const { store, dataDir } = freshStore();
    store.close();
    const db = new Database(store.file);
    db.pragma('user_version = 0');
    db.close();
    const e = thrown(() => openState(dataDir, { readonly: true }));
    expect(e.data).toMatchObject({ reason: 'older-schema' });
  });

  it('a data dir path that is a file is a StateError naming it', () => {
    const file = path.join(tempDir(), 'not-a-dir');
    writeFileSync(file, 'x');
    const e = thrown(() => openState(file));
    expect(e.code).toBe('StateError');
    expect(e.message).toMatch(new RegExp(`^state database ${file}/state.db cannot be opened \\(.*\\) while opening it: check that the data dir exists`));
  });
});
