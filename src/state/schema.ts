/**
 * The state database's record types. Every row read from SQLite goes through one of these
 * zod schemas (snake_case columns → camelCase records, JSON columns parsed), and every value
 * written goes through the matching input schema, so a bad write fails at once instead of
 * breaking `driftd history` later.
 */
import { z } from 'zod';
import { lazy } from '../util/lazy.js';
import { dictOf } from '../util/dict-schema.js';
import type { HealthStatus, SyncStatus } from '../drift/model.js';

export const HEALTH_STATUSES = ['Healthy', 'Progressing', 'Degraded', 'Missing', 'Unknown'] as const satisfies readonly HealthStatus[];
export const SYNC_STATUSES = ['Synced', 'OutOfSync', 'Unknown'] as const satisfies readonly SyncStatus[];
export const DEPLOYMENT_STATUSES = ['succeeded', 'failed', 'rolled-back'] as const;
export const TRIGGERS = ['schedule', 'webhook', 'cli', 'user', 'startup', 'watch'] as const;
/** Extend here (additively) when a new kind of operation appears; no migration is needed. */
export const ACTIONS = [
  'deploy',
  'rollback',
  'prune',
  'approve',
  'pin',
  'resume',
  'reconcile',
  'recover',
  'sync',
  'lock',
  'export',
  'verify',
] as const;
export const OPERATION_RESULTS = ['running', 'succeeded', 'failed', 'skipped', 'abandoned', 'refused'] as const;
export const JOURNAL_RESULTS = ['succeeded', 'failed', 'abandoned'] as const;

const Health = lazy(() => z.enum(HEALTH_STATUSES));
const Sync = lazy(() => z.enum(SYNC_STATUSES));
const DeploymentStatus = lazy(() => z.enum(DEPLOYMENT_STATUSES));
const Trigger = lazy(() => z.enum(TRIGGERS));
const Action = lazy(() => z.enum(ACTIONS));
const OperationResult = lazy(() => z.enum(OPERATION_RESULTS));
const JournalResult = lazy(() => z.enum(JOURNAL_RESULTS));

export type Trigger = z.infer<ReturnType<typeof Trigger>>;
export type Action = z.infer<ReturnType<typeof Action>>;
export type OperationResult = z.infer<ReturnType<typeof OperationResult>>;
export type JournalResult = z.infer<ReturnType<typeof JournalResult>>;
export type DeploymentStatus = z.infer<ReturnType<typeof DeploymentStatus>>;

const text = lazy(() => z.string().min(1));
const optText = lazy(() => z.string().min(1).optional());
/** A nullable column → an optional field (absent rather than null in the record). */
const nullable = <T extends z.ZodType>(schema: T) => schema.nullable().transform((v) => v ?? undefined);
const jsonColumn = <T extends z.ZodType>(schema: T) =>
  z.string().transform((s, ctx): z.infer<T> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(s);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not valid JSON' });
      return z.NEVER;
    }
    const r = schema.safeParse(parsed);
    if (!r.success) {
      ctx.addIssue({ code: 'custom', message: r.error.message });
      return z.NEVER;
    }
    return r.data;
  });

const ConfigHashes = lazy(() => dictOf(z.string(), z.string()));
const Detail = lazy(() => z.record(z.string(), z.unknown()));

// ---- deployments -------------------------------------------------------------------------

export const DeploymentInput = lazy(() =>
  z.object({
    stack: text(),
    revision: text(),
    ref: optText(),
    inputsHash: text(),
    /** service → driftd config hash (io.driftd.config-hash). */
    configHashes: ConfigHashes(),
    health: Health(),
    status: DeploymentStatus(),
    operationId: z.number().int().positive().optional(),
  }),
);
export type DeploymentInput = z.input<ReturnType<typeof DeploymentInput>>;

export const DeploymentRow = lazy(() =>
  z
    .object({
      id: z.number().int(),
      stack: z.string(),
      revision: z.string(),
      ref: nullable(z.string()),
      inputs_hash: z.string(),
      config_hashes: jsonColumn(ConfigHashes()),
      health: Health(),
      status: DeploymentStatus(),
      operation_id: nullable(z.number().int()),
      at: z.string(),
    })
    .transform((r) => ({
      id: r.id,
      stack: r.stack,
      revision: r.revision,
      ref: r.ref,
      inputsHash: r.inputs_hash,
      configHashes: r.config_hashes,
      health: r.health,
      status: r.status,
      operationId: r.operation_id,
      at: r.at,
    })),
);
export type Deployment = z.output<ReturnType<typeof DeploymentRow>>;

// ---- failed revisions --------------------------------------------------------------------

export const FailedRevisionRow = lazy(() =>
  z
    .object({ stack: z.string(), revision: z.string(), reason: z.string(), at: z.string() })
    .transform((r) => ({ ...r })),
);
export type FailedRevision = z.output<ReturnType<typeof FailedRevisionRow>>;

// ---- operations --------------------------------------------------------------------------

export const OperationStart = lazy(() =>
  z.object({
    trigger: Trigger(),
    /** Who: a user name, "agent", a webhook source. */
    actor: text(),
    /** The command line or API call that started it, e.g. "driftd sync --stack edge". */
    command: text(),
    stack: optText(),
    action: Action(),
    revision: optText(),
  }),
);
export type OperationStart = z.input<ReturnType<typeof OperationStart>>;

export const OperationFinish = lazy(() =>
  z.object({
    result: OperationResult().exclude(['running']),
    message: z.string().optional(),
    output: z.string().optional(),
  }),
);
export type OperationFinish = z.input<ReturnType<typeof OperationFinish>>;

export const OperationRow = lazy(() =>
  z
    .object({
      id: z.number().int(),
      trigger: Trigger(),
      actor: z.string(),
      command: z.string(),
      stack: nullable(z.string()),
      action: Action(),
      revision: nullable(z.string()),
      result: OperationResult(),
      message: nullable(z.string()),
      output: nullable(z.string()),
      /** The process that wrote it (process-identity.ts). */
      owner: z.string(),
      started_at: z.string(),
      finished_at: nullable(z.string()),
      duration_ms: nullable(z.number().int()),
    })
    .transform((r) => ({
      id: r.id,
      trigger: r.trigger,
      actor: r.actor,
      command: r.command,
      stack: r.stack,
      action: r.action,
      revision: r.revision,
      result: r.result,
      message: r.message,
      output: r.output,
      owner: r.owner,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      durationMs: r.duration_ms,
    })),
);
export type Operation = z.output<ReturnType<typeof OperationRow>>;

// ---- pins, approvals, pending ------------------------------------------------------------

export const PinInput = lazy(() =>
  z.object({
    /** undefined = the host-wide pin. */
    stack: optText(),
    tag: text(),
    commit: text(),
    by: text(),
    /** `rollback --allow-unverified`: this pin's tag is deployed without signature verification. */
    allowUnverified: z.boolean().optional(),
  }),
);
export type PinInput = z.input<ReturnType<typeof PinInput>>;

export const PinRow = lazy(() =>
  z
    .object({ stack: nullable(z.string()), tag: z.string(), commit: z.string(), by: z.string(), at: z.string(), allow_unverified: z.number().int() })
    .transform(({ allow_unverified, ...r }): typeof r & { allowUnverified?: true } => (allow_unverified === 1 ? { ...r, allowUnverified: true } : r)),
);
export type Pin = z.output<ReturnType<typeof PinRow>>;

export const ApprovalRow = lazy(() =>
  z
    .object({ stack: z.string(), revision: z.string(), by: z.string(), at: z.string() })
    .transform((r) => ({ ...r })),
);
export type Approval = z.output<ReturnType<typeof ApprovalRow>>;

export const PendingRow = lazy(() =>
  z
    .object({ stack: z.string(), revision: z.string(), at: z.string() })
    .transform((r) => ({ ...r })),
);
export type Pending = z.output<ReturnType<typeof PendingRow>>;

// ---- audit trail -------------------------------------------------------------------------

export const AuditInput = lazy(() =>
  z.object({
    actor: text(),
    trigger: Trigger(),
    action: Action(),
    stack: optText(),
    detail: Detail().default({}),
  }),
);
export type AuditInput = z.input<ReturnType<typeof AuditInput>>;

export const AuditRow = lazy(() =>
  z
    .object({
      id: z.number().int(),
      at: z.string(),
      actor: z.string(),
      trigger: Trigger(),
      action: Action(),
      stack: nullable(z.string()),
      detail: jsonColumn(Detail()),
    })
    .transform((r) => ({ ...r })),
);
export type AuditEntry = z.output<ReturnType<typeof AuditRow>>;

// ---- operation journal -------------------------------------------------------------------

export const JournalInput = lazy(() =>
  z.object({
    operationId: z.number().int().positive(),
    stack: text(),
    action: Action(),
    /** The revision being applied. */
    revision: text(),
    /** What was deployed before (undefined for a first deploy): the recovery compares against both. */
    fromRevision: optText(),
  }),
);
export type JournalInput = z.input<ReturnType<typeof JournalInput>>;

export const JournalRow = lazy(() =>
  z
    .object({
      id: z.number().int(),
      operation_id: z.number().int(),
      stack: z.string(),
      action: Action(),
      revision: z.string(),
      from_revision: nullable(z.string()),
      /** The process that wrote it (process-identity.ts). */
      owner: z.string(),
      started_at: z.string(),
      ended_at: nullable(z.string()),
      result: nullable(JournalResult()),
    })
    .transform((r) => ({
      id: r.id,
      operationId: r.operation_id,
      stack: r.stack,
      action: r.action,
      revision: r.revision,
      fromRevision: r.from_revision,
      owner: r.owner,
      startedAt: r.started_at,
      endedAt: r.ended_at,
      result: r.result,
    })),
);
export type JournalEntry = z.output<ReturnType<typeof JournalRow>>;

// ---- caches ------------------------------------------------------------------------------

export const CachedDigestInput = lazy(() =>
  z.object({
    imageRef: text(),
    platform: text(),
    /** The platform manifest digest. */
    digest: text(),
    /** The index (manifest list) digest, when the tag points at an index. */
    indexDigest: optText(),
  }),
);
export type CachedDigestInput = z.input<ReturnType<typeof CachedDigestInput>>;

export const CachedDigestRow = lazy(() =>
  z
    .object({
      image_ref: z.string(),
      platform: z.string(),
      digest: z.string(),
      index_digest: nullable(z.string()),
      checked_at: z.string(),
    })
    .transform((r) => ({
      imageRef: r.image_ref,
      platform: r.platform,
      digest: r.digest,
      indexDigest: r.index_digest,
      checkedAt: r.checked_at,
    })),
);
export type CachedDigest = z.output<ReturnType<typeof CachedDigestRow>>;

export const StackStatusInput = lazy(() =>
  z.object({
    stack: text(),
    sync: Sync(),
    health: Health(),
    /** Why sync or health is Unknown/Degraded, or what the stack waits for. */
    reason: optText(),
    /** The revision the status was evaluated against. */
    revision: optText(),
  }),
);
export type StackStatusInput = z.input<ReturnType<typeof StackStatusInput>>;

export const StackStatusRow = lazy(() =>
  z
    .object({
      stack: z.string(),
      sync: Sync(),
      health: Health(),
      reason: nullable(z.string()),
      revision: nullable(z.string()),
      at: z.string(),
    })
    .transform((r) => ({ ...r })),
);
export type StackStatusRecord = z.output<ReturnType<typeof StackStatusRow>>;

/** One event to deliver to one channel (src/notify owns the event's JSON; the store keeps it opaque). */
export const OutboxInput = lazy(() =>
  z.object({
    eventId: text(),
    channel: text(),
    /** The event as JSON (already scrubbed by its producer; scrubbed again on write). */
    event: text(),
  }),
);
export type OutboxInput = z.input<ReturnType<typeof OutboxInput>>;

export const OutboxRow = lazy(() =>
  z
    .object({
      id: z.number().int(),
      event_id: z.string(),
      channel: z.string(),
      event: z.string(),
      attempts: z.number().int(),
      next_at: z.string(),
      status: z.enum(['pending', 'given-up']),
      last_error: nullable(z.string()),
      created_at: z.string(),
    })
    .transform((r) => ({
      id: r.id,
      eventId: r.event_id,
      channel: r.channel,
      event: r.event,
      attempts: r.attempts,
      nextAt: r.next_at,
      status: r.status,
      ...(r.last_error !== undefined ? { lastError: r.last_error } : {}),
      createdAt: r.created_at,
    })),
);
export type OutboxEntry = z.output<ReturnType<typeof OutboxRow>>;

export interface OutboxCount {
  channel: string;
  pending: number;
  givenUp: number;
  /** The oldest pending row's creation time. */
  oldestPending?: string;
  lastError?: string;
}
