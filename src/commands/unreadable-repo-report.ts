import type { ResolvedConfig } from '../config/resolve.js';
import type { DriftReport } from '../drift/model.js';
import { isDriftdError, type DriftdError } from '../errors/index.js';
import { VERSION } from '../version.js';

const SOURCE_ERRORS: ReadonlySet<string> = new Set(['GitUnreachable', 'GitAuthRefused', 'GitRefNotFound', 'RepoNotFound', 'InvalidRef']);

/** The drift-check failed because the repo (or its ref) could not be read, not because of Docker or a stack. */
export function isUnreadableRepo(e: unknown): e is DriftdError {
  return isDriftdError(e) && SOURCE_ERRORS.has(e.code);
}

/** The repo could not be read: a `drift-check --json` caller still gets a report, with `revisionError` and no stacks. */
export function unreadableRepoReport(config: Pick<ResolvedConfig, 'host' | 'repo'>, now: Date, reason: string): DriftReport {
  return {
    schemaVersion: 1,
    driftdVersion: VERSION,
    host: config.host,
    generatedAt: now.toISOString(),
    repo: config.repo,
    revisionError: reason,
    summary: { stacks: 0, synced: 0, outOfSync: 0, unknown: 0, findings: 0, bySeverity: { error: 0, warning: 0, info: 0 } },
    stacks: [],
    unmanaged: [],
    timings: {},
  };
}
