import { scrub, scrubValue } from '../util/scrub.js';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { z } from 'zod';
import { DriftdError } from '../errors/index.js';
import { toStateError } from './errors.js';
import { isProcessAlive, processIdentity } from './process-identity.js';
import {
  ApprovalRow,
  AuditInput,
  AuditRow,
  CachedDigestInput,
  CachedDigestRow,
  DeploymentInput,
  DeploymentRow,
  FailedRevisionRow,
  JournalInput,
  JournalRow,
  OutboxInput,
  OutboxRow,
  OperationFinish,
  OperationRow,
  OperationStart,
  PendingRow,
  PinInput,
  PinRow,
  StackStatusInput,
  StackStatusRow,
  type Approval,
  type AuditEntry,
  type CachedDigest,
  type Deployment,
  type FailedRevision,
  type JournalEntry,
  type JournalResult,
  type Operation,
  type OutboxCount,
  type OutboxEntry,
  type OperationResult,
  type Pending,
  type Pin,
  type StackStatusRecord,
} from './schema.js';

/** Compose output beyond this many characters keeps its head and its tail (where errors are). */
export const MAX_OUTPUT_CHARS = 64 * 1024;
const OUTPUT_HEAD_CHARS = 4 * 1024;
const HOST_PIN = '';

type Row = Record<string, unknown>;

export interface IntegrityResult {
  ok: boolean;
  /** "ok", or SQLite's description of each problem. */
  messages: string[];
}

/**
 * Typed access to `<data-dir>/state.db`. Obtain one with `openState()`. Every method is
 * synchronous (better-sqlite3) and throws a StateError naming the file on failure. Lists are
 * newest first, by insertion order. Timestamps are ISO UTC strings from the injected clock.
 */
let nextConnection = 0;

export class StateStore {
  readonly file: string;

  /** True when opened read-only (writes would fail). */
  get readonly(): boolean {
    return this.#db.readonly;
  }
  readonly #db: Database.Database;
  readonly #now: () => Date;
  readonly #owner = processIdentity();
  readonly #statements = new Map<string, Database.Statement>();
  /** Device and inode of the file this connection opened: SQLite keeps writing to that inode even after the path is deleted or replaced. */
  readonly #identity: { dev: number; ino: number } | undefined;

  /** Tells this connection apart from an earlier one in the same process (generation()). */
  readonly #connection = (nextConnection += 1);
  /** Rows this connection changed in the outbox and notification memory (#outbox): not part of generation(). */
  #outboxChanges = 0;

  constructor(db: Database.Database, file: string, now: () => Date) {
    this.#db = db;
    this.file = file;
    this.#now = now;
    this.#identity = identityOf(file);
  }

  /**
   * Changes whenever what this connection reads may have changed: another connection committed
   * (SQLite's data_version), this one wrote anything (total_changes()), or it is another
   * connection. A long-running caller (the agent) keeps what it derived from rows while this stays
   * the same, instead of reading and parsing them again every cycle.
   */
  generation(): string {
    return this.#guard('reading the database generation', () => {
      const version = this.#db.pragma('data_version', { simple: true }) as number;
      return `${this.#connection}:${version}:${this.#totalChanges() - this.#outboxChanges}`;
    });
  }

  #totalChanges(): number {
    return (this.#stmt('SELECT total_changes() AS n').get() as { n: number }).n;
  }

  /**
   * Runs a write of the notification outbox or memory (src/notify, the hub's reports) without
   * changing generation(): those rows feed nothing a caller derives and keeps, and the agent
   * writes them every cycle (hub report, cycle events) and whenever a delivery ends. Another
   * connection's commit still changes generation() (SQLite's data_version cannot tell tables apart).
   */
  #outbox<T>(fn: () => T): T {
    const before = this.#totalChanges();
    try {
      return fn();
    } finally {
      this.#outboxChanges += this.#totalChanges() - before;
    }
  }

  /**
   * Why the file at this store's path is no longer the database it has open — deleted, replaced by
   * another file, or emptied to 0 bytes — or undefined while it still is. A long-running agent asks
   * once per cycle: everything written to a deleted inode is lost at the next start.
   */
  replacedOnDisk(): { kind: 'deleted' | 'replaced' | 'empty' | 'corrupt'; message: string } | undefined {
    let st;
    try {
      st = statSync(this.file);
    } catch {
      return { kind: 'deleted', message: `${this.file} was deleted while driftd had it open` };
    }
    if (this.#identity && (st.dev !== this.#identity.dev || st.ino !== this.#identity.ino)) {
      return { kind: 'replaced', message: `${this.file} was replaced by another file while driftd had it open` };
    }
    if (st.size === 0) return { kind: 'empty', message: `${this.file} was emptied (0 bytes) while driftd had it open` };
    if (!hasSqliteHeader(this.file)) return { kind: 'corrupt', message: `${this.file} was overwritten (no SQLite header) while driftd had it open` };
    return undefined;
  }

  /** How many deployments are recorded (0 in a database that was just created or re-created). */
  deploymentCount(): number {
    return this.#guard('counting deployments', () => Number((this.#stmt('SELECT count(*) AS n FROM deployments').get() as { n: number }).n));
  }

  // ---- deployments: what was applied, and with which outcome ----------------------------

  recordDeployment(input: DeploymentInput): Deployment {
    return this.#guard('recording a deployment', () => {
      const d = valid(DeploymentInput(), input, 'a deployment');
      const lastInsertRowid = this.#insertDeployment(d, this.#iso());
      return this.#one(DeploymentRow(), 'SELECT * FROM deployments WHERE id = ?', lastInsertRowid)!;
    });
  }

  /**
   * Several deployments in one transaction (one WAL sync): the stacks a run moved to a new
   * revision without running anything (src/commands/verdict-cache.ts).
   */
  recordDeployments(inputs: readonly DeploymentInput[]): void {
    if (inputs.length === 0) return;
    this.#guard('recording deployments', () => {
      const rows = inputs.map((input) => valid(DeploymentInput(), input, 'a deployment'));
      const at = this.#iso();
      this.#transaction(() => {
        for (const d of rows) this.#insertDeployment(d, at);
      });
    });
  }

  /** One deployments row (already validated); its row id. */
  #insertDeployment(d: DeploymentInput, at: string): number | bigint {
    return this.#stmt(
      `INSERT INTO deployments (stack, revision, ref, inputs_hash, config_hashes, health, status, operation_id, at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(d.stack, d.revision, d.ref ?? null, d.inputsHash, JSON.stringify(d.configHashes), d.health, d.status, d.operationId ?? null, at).lastInsertRowid;
  }


  /** What is deployed: the stack's last `succeeded` deployment. */
  currentDeployment(stack: string): Deployment | undefined {
    return this.#guard('reading the current deployment', () =>
      this.#one(DeploymentRow(), `SELECT * FROM deployments WHERE stack = ? AND status = 'succeeded' ORDER BY id DESC LIMIT 1`, stack),
    );
  }

  /** currentDeployment of every stack, in one query (the no-change path reads the DB once). */
  currentDeployments(): Map<string, Deployment> {
    return this.#guard('reading the current deployments', () => {
      const rows = this.#all(
        DeploymentRow(),
        `SELECT * FROM deployments WHERE id IN (SELECT max(id) FROM deployments WHERE status = 'succeeded' GROUP BY stack) ORDER BY stack`,
      );
      return new Map(rows.map((r) => [r.stack, r]));
    });
  }

  /** The rollback target: the last succeeded deployment whose health was Healthy. */
  lastHealthyDeployment(stack: string, opts: { exceptRevision?: string } = {}): Deployment | undefined {
    return this.#guard('reading the last healthy deployment', () =>
      this.#one(
        DeploymentRow(),
        `SELECT * FROM deployments WHERE stack = ? AND status = 'succeeded' AND health = 'Healthy' AND revision IS NOT ?
         ORDER BY id DESC LIMIT 1`,
        stack,
        opts.exceptRevision ?? null,
      ),
    );
  }

  deployments(stack: string, limit = 50): Deployment[] {
    return this.#guard('listing deployments', () =>
      this.#all(DeploymentRow(), 'SELECT * FROM deployments WHERE stack = ? ORDER BY id DESC LIMIT ?', stack, clampLimit(limit)),
    );
  }

  // ---- failed revisions: not retried on every poll ---------------------------------------

  markRevisionFailed(stack: string, revision: string, reason: string): void {
    this.#guard('marking a revision failed', () => {
      this.#stmt(
        `INSERT INTO failed_revisions (stack, revision, reason, at) VALUES (?, ?, ?, ?)
         ON CONFLICT (stack, revision) DO UPDATE SET reason = excluded.reason, at = excluded.at`,
      ).run(stack, revision, scrub(reason), this.#iso());
    });
  }

  failedRevision(stack: string, revision: string): FailedRevision | undefined {
    return this.#guard('reading failed revisions', () =>
      this.#one(FailedRevisionRow(), 'SELECT * FROM failed_revisions WHERE stack = ? AND revision = ?', stack, revision),
    );
  }

  /** All failed revisions (for the planner's set), newest first. */
  failedRevisions(): FailedRevision[] {
    return this.#guard('listing failed revisions', () => this.#all(FailedRevisionRow(), 'SELECT * FROM failed_revisions ORDER BY rowid DESC'));
  }

  isRevisionFailed(stack: string, revision: string): boolean {
    return this.failedRevision(stack, revision) !== undefined;
  }

  /** Forgets the stack's failed revisions (all, or one); returns how many were removed. */
  clearFailed(stack: string, revision?: string): number {
    return this.#guard('clearing failed revisions', () =>
      revision === undefined
        ? this.#stmt('DELETE FROM failed_revisions WHERE stack = ?').run(stack).changes
        : this.#stmt('DELETE FROM failed_revisions WHERE stack = ? AND revision = ?').run(stack, revision).changes,
    );
  }

  // ---- operations history ------------------------------------------------------------------

  /** Records an operation as `running`; returns its id. `command` is stored as given: keep credentials out of it. */
  startOperation(input: OperationStart): number {
    return this.#guard('starting an operation', () => {
      const o = valid(OperationStart(), input, 'an operation');
      const { lastInsertRowid } = this.#stmt(
        `INSERT INTO operations (trigger, actor, command, stack, action, revision, result, owner, started_at)
         VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)`,
      ).run(o.trigger, o.actor, o.command, o.stack ?? null, o.action, o.revision ?? null, this.#owner, this.#iso());
      return Number(lastInsertRowid);
    });
  }

  /**
   * Ends a running operation. `output` and `message` are stored exactly as given (output cut
   * to MAX_OUTPUT_CHARS): redacting secrets (docs/design.md §3) is the caller's job, before this call.
   */
  finishOperation(id: number, finish: OperationFinish): Operation {
    return this.#guard('finishing an operation', () =>
      this.#transaction(() => {
        const f = valid(OperationFinish(), finish, 'an operation result');
        const op = this.#one(OperationRow(), 'SELECT * FROM operations WHERE id = ?', id);
        if (op?.result !== 'running') {
          throw new DriftdError('StateError', `operation ${id} is ${op ? `already ${op.result}` : 'unknown'}, so it cannot be finished again`, { id });
        }
        this.#end(op, f.result, f.message, f.output);
        return this.operation(id)!;
      }),
    );
  }

  operation(id: number): Operation | undefined {
    return this.#guard('reading an operation', () => this.#one(OperationRow(), 'SELECT * FROM operations WHERE id = ?', id));
  }

  /** Newest first; `stack` filters to that stack's operations. */
  history(opts: { stack?: string; limit?: number } = {}): Operation[] {
    return this.#guard('reading the history', () =>
      opts.stack === undefined
        ? this.#all(OperationRow(), 'SELECT * FROM operations ORDER BY id DESC LIMIT ?', clampLimit(opts.limit))
        : this.#all(OperationRow(), 'SELECT * FROM operations WHERE stack = ? ORDER BY id DESC LIMIT ?', opts.stack, clampLimit(opts.limit)),
    );
  }

  /**
   * Marks `running` operations whose process is gone (killed, crashed, host rebooted) as
   * `abandoned`; returns them. Run it after open journals were handled, under the lock.
   */
  abandonOrphanedOperations(message = 'driftd stopped before this operation finished'): Operation[] {
    return this.#guard('abandoning orphaned operations', () =>
      this.#transaction(() => {
        const orphans = this.#all(OperationRow(), `SELECT * FROM operations WHERE result = 'running' ORDER BY id`).filter(
          (op) => op.owner !== this.#owner && !isProcessAlive(op.owner),
        );
        for (const op of orphans) this.#end(op, 'abandoned', message);
        return orphans.map((op) => this.operation(op.id)!);
      }),
    );
  }

  #end(op: Operation, result: Exclude<OperationResult, 'running'>, message?: string, output?: string): void {
    const finished = this.#now();
    const duration = Math.max(0, finished.getTime() - Date.parse(op.startedAt));
    this.#stmt('UPDATE operations SET result = ?, message = ?, output = ?, finished_at = ?, duration_ms = ? WHERE id = ?').run(
      result,
      message === undefined ? null : scrub(message),
      output === undefined ? null : truncateOutput(scrub(output)),
      finished.toISOString(),
      duration,
      op.id,
    );
  }

  // ---- pins --------------------------------------------------------------------------------

  /** Pins the host (no `stack`) or one stack to a tag; replaces an existing pin of that scope. */
  setPin(input: PinInput): Pin {
    return this.#guard('setting a pin', () => {
      const p = valid(PinInput(), input, 'a pin');
      this.#stmt(
        `INSERT INTO pins (stack, tag, "commit", by, at, allow_unverified) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (stack) DO UPDATE SET tag = excluded.tag, "commit" = excluded."commit", by = excluded.by, at = excluded.at,
           allow_unverified = excluded.allow_unverified`,
      ).run(p.stack ?? HOST_PIN, p.tag, p.commit, p.by, this.#iso(), p.allowUnverified ? 1 : 0);
      return this.#pin(p.stack ?? HOST_PIN)!;
    });
  }

  /** Removes the host pin (no `stack`) or the stack's pin; true when there was one. */
  removePin(stack?: string): boolean {
    return this.#guard('removing a pin', () => this.#stmt('DELETE FROM pins WHERE stack = ?').run(stack ?? HOST_PIN).changes > 0);
  }

  /** The host pin first (stack undefined), then stack pins by name. */
  pins(): Pin[] {
    return this.#guard('listing pins', () => this.#all(PinRow(), `${PIN_SELECT} ORDER BY stack`));
  }

  /** What pins this stack: its own pin beats the host pin. */
  effectivePin(stack: string): Pin | undefined {
    return this.#guard('reading pins', () => this.#pin(stack) ?? this.#pin(HOST_PIN));
  }

  #pin(scope: string): Pin | undefined {
    return this.#one(PinRow(), `${PIN_SELECT} WHERE stack = ?`, scope);
  }

  // ---- approvals and pending revisions (sync: manual) --------------------------------------

  /** Approves one revision of a stack; a newer revision needs its own approval. */
  approve(stack: string, revision: string, by: string): Approval {
    return this.#guard('recording an approval', () => {
      this.#stmt(
        `INSERT INTO approvals (stack, revision, by, at) VALUES (?, ?, ?, ?)
         ON CONFLICT (stack, revision) DO UPDATE SET by = excluded.by, at = excluded.at`,
      ).run(stack, revision, by, this.#iso());
      return this.#one(ApprovalRow(), 'SELECT * FROM approvals WHERE stack = ? AND revision = ?', stack, revision)!;
    });
  }

  isApproved(stack: string, revision: string): boolean {
    return this.#guard('reading approvals', () =>
      this.#stmt('SELECT 1 FROM approvals WHERE stack = ? AND revision = ?').get(stack, revision) !== undefined,
    );
  }

  approvals(stack?: string): Approval[] {
    return this.#guard('listing approvals', () =>
      stack === undefined
        ? this.#all(ApprovalRow(), 'SELECT * FROM approvals ORDER BY rowid DESC')
        : this.#all(ApprovalRow(), 'SELECT * FROM approvals WHERE stack = ? ORDER BY rowid DESC', stack),
    );
  }

  /**
   * The revision a manual stack waits to have approved (what `driftd approve <stack>`
   * approves without --revision); `null` clears it once nothing waits.
   */
  setPending(stack: string, revision: string | null): void {
    this.#guard('recording the pending revision', () => {
      if (revision === null) {
        this.#stmt('DELETE FROM pending WHERE stack = ?').run(stack);
        return;
      }
      this.#stmt(
        `INSERT INTO pending (stack, revision, at) VALUES (?, ?, ?)
         ON CONFLICT (stack) DO UPDATE SET revision = excluded.revision,
           at = CASE WHEN pending.revision = excluded.revision THEN pending.at ELSE excluded.at END`,
      ).run(stack, revision, this.#iso());
    });
  }

  pending(stack: string): Pending | undefined {
    return this.#guard('reading the pending revision', () => this.#one(PendingRow(), 'SELECT * FROM pending WHERE stack = ?', stack));
  }

  // ---- audit trail -------------------------------------------------------------------------

  /** Records who/what did what. `detail` is stored as given: keep secrets out of it. */
  audit(input: AuditInput): AuditEntry {
    return this.#guard('writing the audit trail', () => {
      const a = valid(AuditInput(), input, 'an audit entry');
      const { lastInsertRowid } = this.#stmt('INSERT INTO audit (at, actor, trigger, action, stack, detail) VALUES (?, ?, ?, ?, ?, ?)').run(
        this.#iso(),
        a.actor,
        a.trigger,
        a.action,
        a.stack ?? null,
        JSON.stringify(scrubValue(a.detail)),
      );
      return this.#one(AuditRow(), 'SELECT * FROM audit WHERE id = ?', lastInsertRowid)!;
    });
  }

  auditTrail(opts: { stack?: string; limit?: number } = {}): AuditEntry[] {
    return this.#guard('reading the audit trail', () =>
      opts.stack === undefined
        ? this.#all(AuditRow(), 'SELECT * FROM audit ORDER BY id DESC LIMIT ?', clampLimit(opts.limit))
        : this.#all(AuditRow(), 'SELECT * FROM audit WHERE stack = ? ORDER BY id DESC LIMIT ?', opts.stack, clampLimit(opts.limit)),
    );
  }

  // ---- operation journal: detects an apply that never ended --------------------------------

  /** Written (and durable) BEFORE an apply touches anything; returns the entry's id. */
  journalBegin(input: JournalInput): number {
    return this.#guard('writing the operation journal', () => {
      const j = valid(JournalInput(), input, 'a journal entry');
      const { lastInsertRowid } = this.#stmt(
        `INSERT INTO journal (operation_id, stack, action, revision, from_revision, owner, started_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(j.operationId, j.stack, j.action, j.revision, j.fromRevision ?? null, this.#owner, this.#iso());
      return Number(lastInsertRowid);
    });
  }

  journalEnd(id: number, result: JournalResult): void {
    this.#guard('closing an operation journal entry', () => {
      const { changes } = this.#stmt('UPDATE journal SET ended_at = ?, result = ? WHERE id = ? AND ended_at IS NULL').run(this.#iso(), result, id);
      if (changes === 0) throw new DriftdError('StateError', `operation journal entry ${id} is not open, so it cannot be closed again`, { id });
    });
  }

  /**
   * Applies that began and never ended, oldest first. An entry whose `owner` still runs
   * (isProcessAlive) belongs to a command in progress, not to a killed one.
   */
  openJournals(): JournalEntry[] {
    return this.#guard('reading the operation journal', () =>
      this.#all(JournalRow(), 'SELECT * FROM journal WHERE ended_at IS NULL ORDER BY id'),
    );
  }

  // ---- caches ------------------------------------------------------------------------------

  /** The cached registry answer for image+platform, unless older than maxAgeMs (or from the future). */
  getCachedDigest(imageRef: string, platform: string, maxAgeMs: number, now: Date = this.#now()): CachedDigest | undefined {
    return this.#guard('reading the registry cache', () => {
      const hit = this.#one(CachedDigestRow(), 'SELECT * FROM registry_cache WHERE image_ref = ? AND platform = ?', imageRef, platform);
      if (!hit) return undefined;
      const age = now.getTime() - Date.parse(hit.checkedAt);
      return age >= 0 && age <= maxAgeMs ? hit : undefined;
    });
  }

  putCachedDigest(input: CachedDigestInput): void {
    this.#guard('writing the registry cache', () => {
      const c = valid(CachedDigestInput(), input, 'a registry cache entry');
      this.#stmt(
        `INSERT INTO registry_cache (image_ref, platform, digest, index_digest, checked_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (image_ref, platform) DO UPDATE SET digest = excluded.digest, index_digest = excluded.index_digest, checked_at = excluded.checked_at`,
      ).run(c.imageRef, c.platform, c.digest, c.indexDigest ?? null, this.#iso());
    });
  }

  /** The last known sync/health of a stack, for `driftd status`. */
  setStackStatus(input: StackStatusInput): void {
    this.setStackStatuses([input]);
  }

  /**
   * Several stacks' statuses in one transaction: a no-change run over 200 stacks is one commit
   * (one WAL sync), not 200. A row that already says the same is left as it is (its `at` is when
   * the status last changed): an unchanged status is no write and does not change generation().
   */
  setStackStatuses(inputs: readonly StackStatusInput[]): void {
    if (inputs.length === 0) return;
    this.#guard('writing the stack status', () => {
      const rows = inputs.map((input) => valid(StackStatusInput(), input, 'a stack status'));
      const upsert = this.#stmt(
        `INSERT INTO stack_status (stack, sync, health, reason, revision, at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (stack) DO UPDATE SET sync = excluded.sync, health = excluded.health, reason = excluded.reason,
           revision = excluded.revision, at = excluded.at
         WHERE sync IS NOT excluded.sync OR health IS NOT excluded.health OR reason IS NOT excluded.reason OR revision IS NOT excluded.revision`,
      );
      const at = this.#iso();
      const write = () => {
        for (const s of rows) upsert.run(s.stack, s.sync, s.health, s.reason === undefined ? null : scrub(s.reason), s.revision ?? null, at);
      };
      if (rows.length === 1) write();
      else this.#transaction(write);
    });
  }

  /** Drops a stack's status (after it was pruned from this host). */
  removeStackStatus(stack: string): void {
    this.#guard('removing a stack status', () => {
      this.#stmt('DELETE FROM stack_status WHERE stack = ?').run(stack);
    });
  }

  /** By stack name. */
  stackStatuses(): StackStatusRecord[] {
    return this.#guard('reading stack statuses', () => this.#all(StackStatusRow(), 'SELECT * FROM stack_status ORDER BY stack'));
  }

  // ---- sync verdicts (docs/performance.md): JSON values, parsed by their owner (src/sync/verdict.ts) ----

  /** Every stored sync verdict by scope; a row whose JSON does not parse has verdict undefined. */
  syncVerdicts(): Map<string, { key: string; verdict: unknown }> {
    return this.#guard('reading sync verdicts', () => {
      const rows = this.#stmt('SELECT scope, key, verdict FROM sync_verdicts').all() as { scope: string; key: string; verdict: string }[];
      return new Map(rows.map((r) => [r.scope, { key: r.key, verdict: parseJson(r.verdict) }]));
    });
  }

  /** Replaces the rows of `put` and deletes those of `remove`, in one transaction. */
  putSyncVerdicts(put: readonly { scope: string; key: string; verdict: unknown }[], remove: readonly string[] = []): void {
    this.#guard('writing sync verdicts', () => {
      const upsert = this.#stmt(
        `INSERT INTO sync_verdicts (scope, key, verdict, at) VALUES (?, ?, ?, ?)
         ON CONFLICT (scope) DO UPDATE SET key = excluded.key, verdict = excluded.verdict, at = excluded.at`,
      );
      const del = this.#stmt('DELETE FROM sync_verdicts WHERE scope = ?');
      const at = this.#iso();
      this.#transaction(() => {
        for (const r of put) upsert.run(r.scope, r.key, JSON.stringify(r.verdict), at);
        for (const scope of remove) del.run(scope);
      });
    });
  }

  /** Forgets every sync verdict (`--no-cache`): the next run loads and plans every stack. */
  clearSyncVerdicts(): void {
    this.#guard('clearing sync verdicts', () => {
      this.#stmt('DELETE FROM sync_verdicts').run();
    });
  }

  // ---- signed revisions (docs/design.md §9): JSON values, parsed by their owner (src/verify) --------

  /** A cached signature verdict for an object under a key set, or undefined. */
  getVerdict(objectId: string, scope: string): unknown {
    return this.#guard('reading a signature verdict', () => {
      const row = this.#stmt('SELECT verdict FROM signature_verdicts WHERE object_id = ? AND scope = ?').get(objectId, scope) as { verdict: string } | undefined;
      return row ? parseJson(row.verdict) : undefined;
    });
  }

  putVerdict(objectId: string, scope: string, verdict: unknown): void {
    this.#guard('caching a signature verdict', () => {
      this.#stmt(
        `INSERT INTO signature_verdicts (object_id, scope, verdict, at) VALUES (?, ?, ?, ?)
         ON CONFLICT (object_id, scope) DO UPDATE SET verdict = excluded.verdict, at = excluded.at`,
      ).run(objectId, scope, JSON.stringify(verdict), this.#iso());
    });
  }

  /** Who signed `commit` (recorded when it was verified for a deploy). */
  recordProvenance(commit: string, provenance: unknown): void {
    this.#guard('recording provenance', () => {
      this.#stmt(
        `INSERT INTO provenance ("commit", provenance, at) VALUES (?, ?, ?)
         ON CONFLICT ("commit") DO UPDATE SET provenance = excluded.provenance, at = excluded.at`,
      ).run(commit, JSON.stringify(provenance), this.#iso());
    });
  }

  provenance(commit: string): unknown {
    return this.#guard('reading provenance', () => {
      const row = this.#stmt('SELECT provenance FROM provenance WHERE "commit" = ?').get(commit) as { provenance: string } | undefined;
      return row ? parseJson(row.provenance) : undefined;
    });
  }

  /** The last verification outcome of the repo's target revision (status shows a refusal). */
  setVerification(repo: string, verdict: unknown): void {
    this.#guard('recording a verification', () => {
      this.#stmt(
        `INSERT INTO verification (repo, verdict, at) VALUES (?, ?, ?)
         ON CONFLICT (repo) DO UPDATE SET verdict = excluded.verdict, at = excluded.at`,
      ).run(repo, JSON.stringify(verdict), this.#iso());
    });
  }

  verification(repo: string): { verdict: unknown; at: string } | undefined {
    return this.#guard('reading the last verification', () => {
      const row = this.#stmt('SELECT verdict, at FROM verification WHERE repo = ?').get(repo) as { verdict: string; at: string } | undefined;
      return row ? { verdict: parseJson(row.verdict), at: row.at } : undefined;
    });
  }

  // ---- notifications (docs/notifications.md): the outbox and the memory of what was notified ----

  /** The notification memory (JSON owned by src/notify), or undefined before the first cycle. */
  notifyMemory(): unknown {
    return this.#guard('reading the notification memory', () => {
      const row = this.#stmt('SELECT memory FROM notify_memory WHERE id = 1').get() as { memory: string } | undefined;
      return row ? parseJson(row.memory) : undefined;
    });
  }

  /**
   * In one transaction: the new memory and the cycle's events (one row per event and channel;
   * an (event, channel) pair already there is kept as it is). Then each channel keeps at most
   * `capPerChannel` pending rows, dropping its oldest: returns how many were dropped per channel.
   */
  enqueueNotifications(memory: unknown, rows: readonly OutboxInput[], capPerChannel: number): Record<string, number> {
    return this.#guard('queueing notifications', () =>
      this.#outbox(() => this.#transaction(() => {
        const at = this.#iso();
        this.#stmt(`INSERT INTO notify_memory (id, memory, at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET memory = excluded.memory, at = excluded.at`).run(JSON.stringify(memory), at);
        const insert = this.#stmt(`INSERT INTO notify_outbox (event_id, channel, event, next_at, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (event_id, channel) DO NOTHING`);
        const channels = new Set<string>();
        for (const input of rows) {
          const r = valid(OutboxInput(), input, 'a notification');
          insert.run(r.eventId, r.channel, scrub(r.event), at, at);
          channels.add(r.channel);
        }
        const dropped: Record<string, number> = {};
        for (const channel of channels) {
          const { changes } = this.#stmt(
            `DELETE FROM notify_outbox WHERE channel = ? AND status = 'pending' AND id NOT IN
               (SELECT id FROM notify_outbox WHERE channel = ? AND status = 'pending' ORDER BY id DESC LIMIT ?)`,
          ).run(channel, channel, Math.max(1, Math.floor(capPerChannel)));
          if (changes > 0) Object.defineProperty(dropped, channel, { value: changes, enumerable: true });
        }
        return dropped;
      })),
    );
  }

  /**
   * Latest wins (the hub's status document, docs/hub.md): a channel holds at most one row per
   * `eventId`, and a newer document replaces the one not yet delivered, as a new row (a new id):
   * a send of the older text that is in flight when it is replaced then deletes nothing when it
   * succeeds, and the newer one is still delivered. A pending row's attempts, next attempt and
   * creation time carry over (the backoff goes on: a hub that is down is not hit once per cycle,
   * and `status` shows since when nothing got through); after a given-up row (a refusal) the new
   * document starts afresh, due now.
   */
  enqueueLatest(input: OutboxInput): void {
    this.#guard('queueing a status report', () =>
      this.#outbox(() => this.#transaction(() => {
        const r = valid(OutboxInput(), input, 'a status report');
        const at = this.#iso();
        const old = this.#stmt(`SELECT attempts, next_at, created_at, last_error FROM notify_outbox WHERE event_id = ? AND channel = ? AND status = 'pending'`).get(r.eventId, r.channel) as
          | { attempts: number; next_at: string; created_at: string; last_error: string | null }
          | undefined;
        this.#stmt('DELETE FROM notify_outbox WHERE event_id = ? AND channel = ?').run(r.eventId, r.channel);
        this.#stmt(`INSERT INTO notify_outbox (event_id, channel, event, attempts, next_at, created_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(
          r.eventId,
          r.channel,
          scrub(r.event),
          old?.attempts ?? 0,
          old?.next_at ?? at,
          old?.created_at ?? at,
          old?.last_error ?? null,
        );
      })),
    );
  }

  /** A channel's pending rows that are due at `now`, oldest first. */
  outboxDue(channel: string, limit: number, now: Date = this.#now()): OutboxEntry[] {
    return this.#guard('reading the notification outbox', () =>
      this.#all(OutboxRow(), `SELECT * FROM notify_outbox WHERE channel = ? AND status = 'pending' AND next_at <= ? ORDER BY id LIMIT ?`, channel, now.toISOString(), clampLimit(limit)),
    );
  }

  /** The earliest next attempt among a channel's pending rows. */
  outboxNextAt(channel: string): string | undefined {
    return this.#guard('reading the notification outbox', () => {
      const row = this.#stmt(`SELECT min(next_at) AS at FROM notify_outbox WHERE channel = ? AND status = 'pending'`).get(channel) as { at: string | null };
      return row.at ?? undefined;
    });
  }

  /** Rows the receiver accepted: gone. */
  outboxDelivered(ids: readonly number[]): void {
    this.#guard('recording a delivery', () =>
      this.#outbox(() => this.#transaction(() => {
        for (const id of ids) this.#stmt('DELETE FROM notify_outbox WHERE id = ?').run(id);
      })),
    );
  }

  /** Rows whose delivery failed: retried at `nextAt`, or given up (kept for status) when it is undefined. */
  outboxFailed(ids: readonly number[], error: string, nextAt: Date | undefined): void {
    this.#guard('recording a failed delivery', () =>
      this.#outbox(() => this.#transaction(() => {
        const message = scrub(error);
        for (const id of ids) {
          this.#stmt(
            `UPDATE notify_outbox SET attempts = attempts + 1, last_error = ?, next_at = coalesce(?, next_at), status = CASE WHEN ? IS NULL THEN 'given-up' ELSE status END WHERE id = ?`,
          ).run(message, nextAt?.toISOString() ?? null, nextAt?.toISOString() ?? null, id);
        }
      })),
    );
  }

  /** Drops rows of channels no longer configured, and all but the newest `keepGivenUp` given-up rows; returns how many went. */
  pruneOutbox(channels: readonly string[], keepGivenUp = 100): number {
    return this.#guard('pruning the notification outbox', () =>
      this.#outbox(() => this.#transaction(() => {
        const list = JSON.stringify(channels);
        const gone = this.#stmt(`DELETE FROM notify_outbox WHERE channel NOT IN (SELECT value FROM json_each(?))`).run(list).changes;
        const old = this.#stmt(
          `DELETE FROM notify_outbox WHERE status = 'given-up' AND id NOT IN (SELECT id FROM notify_outbox WHERE status = 'given-up' ORDER BY id DESC LIMIT ?)`,
        ).run(Math.max(0, Math.floor(keepGivenUp))).changes;
        return gone + old;
      })),
    );
  }

  /** Per channel: pending and given-up rows, the oldest pending, the last error. */
  outboxCounts(): OutboxCount[] {
    return this.#guard('counting notifications', () => {
      const rows = this.#stmt(
        `SELECT channel,
           sum(status = 'pending') AS pending,
           sum(status = 'given-up') AS given_up,
           min(CASE WHEN status = 'pending' THEN created_at END) AS oldest,
           (SELECT last_error FROM notify_outbox o2 WHERE o2.channel = o.channel AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1) AS last_error
         FROM notify_outbox o GROUP BY channel ORDER BY channel`,
      ).all() as { channel: string; pending: number; given_up: number; oldest: string | null; last_error: string | null }[];
      return rows.map((r) => ({
        channel: r.channel,
        pending: Number(r.pending),
        givenUp: Number(r.given_up),
        ...(r.oldest ? { oldestPending: r.oldest } : {}),
        ...(r.last_error ? { lastError: r.last_error } : {}),
      }));
    });
  }

  // ---- maintenance -------------------------------------------------------------------------

  integrityCheck(): IntegrityResult {
    return this.#guard('checking integrity', () => {
      const messages = (this.#db.pragma('integrity_check') as Row[])
        .flatMap((r) => String(Object.values(r)[0]).split('\n'))
        .filter((line) => line !== '');
      return { ok: messages.length === 1 && messages[0] === 'ok', messages };
    });
  }

  /** Runs fn in one IMMEDIATE transaction (e.g. record a deployment, close its journal entry and its operation together). */
  transaction<T>(fn: () => T): T {
    return this.#guard('running a transaction', () => this.#transaction(fn));
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  // ---- helpers -----------------------------------------------------------------------------

  #transaction<T>(fn: () => T): T {
    // Nested calls (a method inside transaction()) join the outer transaction.
    return this.#db.inTransaction ? fn() : this.#db.transaction(fn).immediate();
  }

  #guard<T>(doing: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw toStateError(this.file, doing, e);
    }
  }

  #stmt(sql: string): Database.Statement {
    let s = this.#statements.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  #one<S extends z.ZodType>(schema: S, sql: string, ...params: unknown[]): z.output<S> | undefined {
    const row = this.#stmt(sql).get(...params);
    return row === undefined ? undefined : schema.parse(row);
  }

  #all<S extends z.ZodType>(schema: S, sql: string, ...params: unknown[]): z.output<S>[] {
    return this.#stmt(sql)
      .all(...params)
      .map((row) => schema.parse(row));
  }

  #iso(): string {
    return this.#now().toISOString();
  }
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** 16 bytes read per call: a database overwritten in place keeps its inode but loses this header. */
function hasSqliteHeader(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const head = Buffer.alloc(SQLITE_HEADER.length);
    return readSync(fd, head, 0, head.length, 0) === head.length && head.equals(SQLITE_HEADER);
  } catch {
    return true; // unreadable now: the next database call reports why
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function identityOf(file: string): { dev: number; ino: number } | undefined {
  try {
    const st = statSync(file);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

/** Validates a value before it is written; a bad one is the caller's bug, reported as such. */
function valid<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue ? `${issue.path.join('.') || 'value'}: ${issue.message}` : r.error.message;
  throw new DriftdError('StateError', `refusing to store ${what} in the state database (${where}): this is a driftd bug, please report it`, {
    what,
    issues: r.error.issues,
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const PIN_SELECT = `SELECT nullif(stack, '') AS stack, tag, "commit", by, at, allow_unverified FROM pins`;

function clampLimit(limit = 50): number {
  return Number.isFinite(limit) ? Math.max(1, Math.floor(limit)) : -1;
}

/** Keeps the head and the tail (where Compose prints its error) of long output. */
export function truncateOutput(output: string, max = MAX_OUTPUT_CHARS): string {
  if (output.length <= max) return output;
  const tail = max - OUTPUT_HEAD_CHARS;
  const cut = output.length - OUTPUT_HEAD_CHARS - tail;
  return `${output.slice(0, OUTPUT_HEAD_CHARS)}\n…[${cut} characters cut]…\n${output.slice(-tail)}`;
}
