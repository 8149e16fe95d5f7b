/**
 * The hub's SQLite database (`--database PATH`, default `<data-dir>/hub.db`, WAL): the latest
 * report per host, a bounded history of reports per host, and when each target commit was
 * first seen (for stragglers and rollouts). The latest reports are also kept in memory, so a
 * fleet page or `/api/fleet` never reads the disk; writes are one small transaction per report.
 * PostgreSQL: the same three tables (docs/hub.md); only this file knows SQL.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DriftdError } from '../errors/index.js';
import type { HostRecord } from './fleet.js';
import { reportSchema, type Report } from './report.js';

export const HUB_DB_FILE = 'hub.db';

export interface HubStore {
  /** Stores a validated report as the host's latest, appends it to the history (trimmed to `historyPerHost`). */
  record(host: string, report: Report, receivedAt: string): void;
  latest(): HostRecord[];
  firstSeen(): ReadonlyMap<string, string>;
  /** The host's newest `limit` reports, newest first. */
  history(host: string, limit: number): HostRecord[];
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS latest (host TEXT PRIMARY KEY, report TEXT NOT NULL, received_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports (id INTEGER PRIMARY KEY AUTOINCREMENT, host TEXT NOT NULL, report TEXT NOT NULL, received_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS reports_host ON reports (host, id);
CREATE TABLE IF NOT EXISTS targets (commit_id TEXT PRIMARY KEY, ref TEXT, first_seen TEXT NOT NULL);
`;

/** A stored row is re-validated on load: a hand-edited or older database never reaches the model unchecked. */
function parseRow(row: { host: string; report: string; received_at: string }): HostRecord | undefined {
  try {
    const parsed = reportSchema.safeParse(JSON.parse(row.report));
    return parsed.success ? { host: row.host, report: parsed.data, receivedAt: row.received_at } : undefined;
  } catch {
    return undefined;
  }
}

/** `--database postgres://…` is refused (docs/hub.md has the path to PostgreSQL); checked before anything starts. */
export function refuseUnsupportedDatabase(file: string): void {
  if (/^postgres(ql)?:\/\//i.test(file)) {
    throw new DriftdError('ConfigError', 'the hub stores its data in SQLite in this version; PostgreSQL is the documented path for a highly available hub (docs/hub.md), not built yet', { key: '--database' });
  }
}

export function openHubStore(file: string, opts: { historyPerHost: number }): HubStore {
  refuseUnsupportedDatabase(file);
  let db: Database.Database;
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
  } catch (e) {
    throw new DriftdError('StateError', `hub database ${file} cannot be opened: ${(e as Error).message}`, { file });
  }
  const latest = new Map<string, HostRecord>();
  for (const row of db.prepare('SELECT host, report, received_at FROM latest').all() as { host: string; report: string; received_at: string }[]) {
    const rec = parseRow(row);
    if (rec) latest.set(rec.host, rec);
  }
  const firstSeen = new Map<string, string>();
  for (const row of db.prepare('SELECT commit_id, first_seen FROM targets').all() as { commit_id: string; first_seen: string }[]) firstSeen.set(row.commit_id, row.first_seen);

  const upsert = db.prepare('INSERT INTO latest (host, report, received_at) VALUES (?, ?, ?) ON CONFLICT (host) DO UPDATE SET report = excluded.report, received_at = excluded.received_at');
  const append = db.prepare('INSERT INTO reports (host, report, received_at) VALUES (?, ?, ?)');
  const trim = db.prepare('DELETE FROM reports WHERE host = ? AND id <= (SELECT id FROM reports WHERE host = ? ORDER BY id DESC LIMIT 1 OFFSET ?)');
  const seen = db.prepare('INSERT INTO targets (commit_id, ref, first_seen) VALUES (?, ?, ?) ON CONFLICT (commit_id) DO NOTHING');
  const historyOf = db.prepare('SELECT host, report, received_at FROM reports WHERE host = ? ORDER BY id DESC LIMIT ?');
  const write = db.transaction((host: string, json: string, receivedAt: string, target: Report['target']) => {
    upsert.run(host, json, receivedAt);
    append.run(host, json, receivedAt);
    trim.run(host, host, opts.historyPerHost);
    if (target) seen.run(target.commit, target.ref ?? null, receivedAt);
  });

  return {
    record(host, report, receivedAt) {
      write(host, JSON.stringify(report), receivedAt, report.target);
      latest.set(host, { host, report, receivedAt });
      if (report.target && !firstSeen.has(report.target.commit)) firstSeen.set(report.target.commit, receivedAt);
    },
    latest: () => [...latest.values()],
    firstSeen: () => firstSeen,
    history: (host, limit) =>
      (historyOf.all(host, limit) as { host: string; report: string; received_at: string }[]).map(parseRow).filter((r): r is HostRecord => r !== undefined),
    close: () => db.close(),
  };
}
