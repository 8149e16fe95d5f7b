/** What a reconcile (or a failed poll) looks like to notifications (src/notify/derive.ts). */
import { describeError, isDriftdError } from '../errors/index.js';
import { isUnverified } from '../commands/verify-target.js';
import type { SyncResult } from '../commands/sync.js';
import type { CycleView, StackView } from '../notify/derive.js';

/** The repo did not answer or refused: counts towards source-unreachable. */
const SOURCE_CODES = new Set(['GitUnreachable', 'GitAuthRefused', 'GitRefNotFound', 'RepoNotFound']);

export function cycleOf(result: SyncResult): CycleView {
  const tagOf = (revision: string | undefined): string | undefined => (revision === result.revision.commit && result.revision.refKind === 'tag' ? result.revision.ref : undefined);
  const outcomes = result.outcomes.map((o) => {
    const tag = tagOf(o.revision);
    return { stack: o.stack, result: o.result, message: o.message, ...(o.revision ? { revision: o.revision } : {}), ...(tag ? { tag } : {}) };
  });
  const stacks: StackView[] = (result.drift?.stacks ?? []).map((s) => {
    const revision = s.deployedRevision;
    const tag = tagOf(revision);
    return {
      stack: s.stack,
      sync: s.sync,
      health: s.health,
      // What made it drift or degrade: warnings and errors, never hygiene notes.
      kinds: s.findings.filter((f) => f.severity !== 'info').map((f) => f.kind),
      ...(revision ? { revision } : {}),
      ...(tag ? { tag } : {}),
    };
  });
  return { ok: true, outcomes, stacks };
}

export function failedCycleOf(e: unknown): CycleView {
  const error = describeError(e);
  if (isUnverified(e)) {
    const tag = e.data.ref;
    return { ok: false, kind: 'refused', error, revision: e.data.commit, ...(tag ? { tag } : {}) };
  }
  return { ok: false, kind: isDriftdError(e) && SOURCE_CODES.has(e.code) ? 'source' : 'other', error };
}
