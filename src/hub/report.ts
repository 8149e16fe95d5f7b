/**
 * The status document an agent pushes to the hub (`POST /api/report`, docs/hub.md): outside
 * input for the hub, so it is validated here, at the boundary, with hard limits. Everything is
 * an array or a fixed set of keys (no maps keyed by names an agent chooses), so a stack or host
 * called `__proto__` or `constructor` can never reach an object's prototype; unknown keys are
 * dropped; strings are capped; a stack name must be a valid stack name.
 */
import { z } from 'zod';
import { STACK_NAME_RE } from '../compose/safe-fs.js';
import { ACTIONS, OPERATION_RESULTS } from '../state/schema.js';

export const REPORT_SCHEMA_VERSION = 1;
/** A body over this is refused before it is parsed (413). 500 stacks of full rows fit in ~300 KiB. */
export const REPORT_MAX_BYTES = 512 * 1024;
export const REPORT_MAX_STACKS = 500;
const TEXT_MAX = 2000;

/** Host names: what `--host` and fleet.yaml use, as a DNS-ish label (the tokens file is keyed by them). */
export const HOST_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

const text = z.string().max(TEXT_MAX);
const iso = z.string().max(40).refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO 8601 time');
const commit = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'a full commit id');
const revision = z.object({ commit, ref: z.string().min(1).max(255).optional() });

export const SYNC_STATUSES = ['Synced', 'OutOfSync', 'Unknown'] as const;
export const HEALTH_STATUSES = ['Healthy', 'Progressing', 'Degraded', 'Missing', 'Unknown'] as const;

export const reportStackSchema = z.object({
  name: z.string().regex(STACK_NAME_RE, 'a stack name (^[a-z0-9][a-z0-9_-]{0,62}$)'),
  desired: revision.optional(),
  deployed: revision.optional(),
  sync: z.enum(SYNC_STATUSES),
  health: z.enum(HEALTH_STATUSES),
  reason: text.optional(),
  /** How many drift findings the last cycle saw, and the worst one's kind. */
  findings: z.number().int().min(0).max(100_000),
  worstKind: z.string().regex(/^[a-z][a-z-]{0,40}$/).optional(),
  worstSeverity: z.enum(['error', 'warning', 'info']).optional(),
  pin: z.string().max(255).optional(),
  pending: commit.optional(),
  last: z.object({ action: z.enum(ACTIONS), result: z.enum(OPERATION_RESULTS), at: iso, message: text.optional() }).optional(),
});

export const reportSchema = z.object({
  schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
  host: z.string().regex(HOST_NAME_RE, 'a host name'),
  /** `cycle`: sent after a reconcile; `heartbeat`: the same document, re-sent to say "still here". */
  kind: z.enum(['cycle', 'heartbeat']),
  sentAt: iso,
  version: z.string().max(64),
  target: revision.optional(),
  targetError: text.optional(),
  lastRun: z.object({ at: iso, ok: z.boolean(), error: text.optional(), durationMs: z.number().min(0).max(1e10) }).optional(),
  stacks: z
    .array(reportStackSchema)
    .max(REPORT_MAX_STACKS)
    .refine((stacks) => new Set(stacks.map((s) => s.name)).size === stacks.length, 'a stack appears twice'),
});

export type Report = z.infer<typeof reportSchema>;
export type ReportStack = z.infer<typeof reportStackSchema>;

/** The first problem of an invalid report, as one sentence naming the field (for the 400 answer). */
export function reportProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid report';
  const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  return `${where || 'report'}: ${issue.message}`;
}
