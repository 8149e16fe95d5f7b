import type Database from 'better-sqlite3';
import { DriftdError } from '../errors/index.js';

export interface Migration {
  /** PRAGMA user_version after this migration; 1, 2, 3… in order, never renumbered. */
  version: number;
  description: string;
  sql: string;
}

/**
 * The schema's history. Append only: a released migration is never edited, a change is a
 * new entry. Ids are INTEGER PRIMARY KEY AUTOINCREMENT so that "newest" is the insertion
 * order, whatever the (injected) clock said.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'initial schema',
    sql: `
      CREATE TABLE operations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        trigger TEXT NOT NULL,
        actor TEXT NOT NULL,
        command TEXT NOT NULL,
        stack TEXT,
        action TEXT NOT NULL,
        revision TEXT,
        result TEXT NOT NULL,
        message TEXT,
        output TEXT,
        owner TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        duration_ms INTEGER
      );
      CREATE INDEX operations_stack ON operations (stack, id);
      CREATE INDEX operations_running ON operations (result) WHERE result = 'running';

      CREATE TABLE deployments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        stack TEXT NOT NULL,
        revision TEXT NOT NULL,
        ref TEXT,
        inputs_hash TEXT NOT NULL,
        config_hashes TEXT NOT NULL,
        health TEXT NOT NULL,
        status TEXT NOT NULL,
        operation_id INTEGER REFERENCES operations (id) ON DELETE SET NULL,
        at TEXT NOT NULL
      );
      CREATE INDEX deployments_stack ON deployments (stack, id);

      CREATE TABLE failed_revisions (
        stack TEXT NOT NULL,
        revision TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (stack, revision)
      );

      -- stack '' is the host-wide pin: a NULL could not be a primary key.
      CREATE TABLE pins (
        stack TEXT NOT NULL PRIMARY KEY,
        tag TEXT NOT NULL,
        "commit" TEXT NOT NULL,
        by TEXT NOT NULL,
        at TEXT NOT NULL
      );

      CREATE TABLE approvals (
        stack TEXT NOT NULL,
        revision TEXT NOT NULL,
        by TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (stack, revision)
      );

      CREATE TABLE pending (
        stack TEXT NOT NULL PRIMARY KEY,
        revision TEXT NOT NULL,
        at TEXT NOT NULL
      );

      CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        trigger TEXT NOT NULL,
        action TEXT NOT NULL,
        stack TEXT,
        detail TEXT NOT NULL
      );

      CREATE TABLE journal (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        operation_id INTEGER NOT NULL REFERENCES operations (id),
        stack TEXT NOT NULL,
        action TEXT NOT NULL,
        revision TEXT NOT NULL,
        from_revision TEXT,
        owner TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        result TEXT
      );
      CREATE INDEX journal_open ON journal (ended_at) WHERE ended_at IS NULL;

      CREATE TABLE registry_cache (
        image_ref TEXT NOT NULL,
        platform TEXT NOT NULL,
        digest TEXT NOT NULL,
        index_digest TEXT,
        checked_at TEXT NOT NULL,
        PRIMARY KEY (image_ref, platform)
      );

      CREATE TABLE stack_status (
        stack TEXT NOT NULL PRIMARY KEY,
        sync TEXT NOT NULL,
        health TEXT NOT NULL,
        reason TEXT,
        revision TEXT,
        at TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    description: 'signed revisions: verdict cache, provenance, last verification, pins that allow an unverified tag',
    sql: `
      -- One object's signature verdict (JSON), per key set (scope = keyring digest, plus the ref for tags).
      CREATE TABLE signature_verdicts (
        object_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        verdict TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (object_id, scope)
      );
      -- Who signed a deployed commit (JSON): read by history, status, reports and exports.
      CREATE TABLE provenance (
        "commit" TEXT NOT NULL PRIMARY KEY,
        provenance TEXT NOT NULL,
        at TEXT NOT NULL
      );
      -- The last verification of the target revision per repo (JSON), for status.
      CREATE TABLE verification (
        repo TEXT NOT NULL PRIMARY KEY,
        verdict TEXT NOT NULL,
        at TEXT NOT NULL
      );
      ALTER TABLE pins ADD COLUMN allow_unverified INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 3,
    description: 'notifications: the durable outbox (one row per event and channel) and the memory of what was last notified',
    sql: `
      -- One event to deliver to one channel. (event_id, channel) is unique: an event enqueued twice
      -- is one row; a row is deleted once the receiver answered 2xx, so a SIGKILL before that
      -- delivers it again after the restart, with the same event id (the receiver's idempotency key).
      CREATE TABLE notify_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        event TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'given-up')),
        last_error TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (event_id, channel)
      );
      CREATE INDEX notify_outbox_due ON notify_outbox (channel, status, next_at);
      -- What was last notified per stack and for the source (JSON, owned by src/notify/derive.ts).
      CREATE TABLE notify_memory (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        memory TEXT NOT NULL,
        at TEXT NOT NULL
      );
    `,
  },
  {
    version: 4,
    description: 'sync verdicts: per stack, what a no-change run needs, keyed by every input of its load (docs/performance.md)',
    sql: `
      -- scope 'fleet' (the host's stacks and their policy hashes) or 'stack:<name>'; key = hash of the
      -- inputs; verdict = JSON owned by src/sync/verdict.ts (config hashes and replica counts, no values).
      CREATE TABLE sync_verdicts (
        scope TEXT NOT NULL PRIMARY KEY,
        key TEXT NOT NULL,
        verdict TEXT NOT NULL,
        at TEXT NOT NULL
      );
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the database to SCHEMA_VERSION. Each migration runs in its own IMMEDIATE
 * transaction that re-reads user_version first, so two processes opening a fresh data dir
 * at the same moment apply each migration exactly once.
 */
export function migrate(db: Database.Database, file: string, migrations: readonly Migration[] = MIGRATIONS): void {
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  const found = schemaVersion(db);
  assertNotNewer(found, latest, file);
  // An up-to-date database needs no write lock: opening then never waits for another process.
  if (found === latest) return;
  for (const m of migrations) {
    db.transaction(() => {
      const current = schemaVersion(db);
      assertNotNewer(current, latest, file);
      if (current >= m.version) return;
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}

export function assertNotNewer(found: number, known: number, file: string): void {
  if (found > known) {
    throw new DriftdError(
      'StateError',
      `state database ${file} was written by a newer driftd (schema ${found}, this driftd knows up to ${known}): upgrade driftd, or use another --data-dir`,
      { file, found, known, reason: 'newer-schema' },
    );
  }
}
