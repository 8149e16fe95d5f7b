/**
 * The one way an apply, a prune and a recovery are recorded: an operation row and a journal
 * entry start together, end together, and the audit trail gets one line. The journal entry is
 * what survives a kill (docs/design.md §7): it is written before Compose touches anything, so a
 * stopped driftd finds it open at its next start (recoverInterruptedApplies).
 */
import { describeError } from '../errors/index.js';
import type { StateStore } from '../state/index.js';
import type { Action, JournalResult, OperationResult, Trigger } from '../state/schema.js';
import type { Logger } from '../util/logger.js';

/** Who records: the state DB and the run's trigger, actor and command line. */
export interface Recorder {
  state: StateStore;
  logger: Logger;
  trigger: Trigger;
  actor: string;
  command: string;
}

export interface JournalStep {
  stack: string;
  action: Action;
  /** The revision the step applies (a prune of a stack without one journals "none"). */
  revision?: string;
  fromRevision?: string;
}

/** An operation row and, once begun, its journal entry. */
export interface Journaled {
  op: number;
  journal: number | undefined;
}

export interface JournalEnding {
  result: Exclude<OperationResult, 'running'>;
  /** The journal's own result when it differs from the operation's (a recovery abandons the old entry). */
  journalResult?: JournalResult;
  message: string;
  output?: string;
  /** The audit line's detail; `false`: no audit line. */
  audit: Record<string, unknown> | false;
  /** Further state writes that belong to the same transaction (the deployment record). */
  also?: () => void;
}

/** The operation row, then the journal entry (a failed journal write still ends the row, see runJournaled). */
export function startOperation(rec: Recorder, step: JournalStep): number {
  return rec.state.startOperation({
    trigger: rec.trigger,
    actor: rec.actor,
    command: rec.command,
    stack: step.stack,
    action: step.action,
    ...(step.revision !== undefined ? { revision: step.revision } : {}),
  });
}

function beginJournal(rec: Recorder, op: number, step: JournalStep): number {
  return rec.state.journalBegin({
    operationId: op,
    stack: step.stack,
    action: step.action,
    revision: step.revision ?? 'none',
    ...(step.fromRevision ? { fromRevision: step.fromRevision } : {}),
  });
}

/** Ends the journal entry and the operation row and writes the audit line, in one transaction. */
export function endJournaled(rec: Recorder, step: JournalStep, j: Journaled, end: JournalEnding): void {
  const { state } = rec;
  state.transaction(() => {
    end.also?.();
    if (j.journal !== undefined) state.journalEnd(j.journal, end.journalResult ?? (end.result === 'succeeded' ? 'succeeded' : 'failed'));
    state.finishOperation(j.op, { result: end.result, message: end.message, ...(end.output !== undefined ? { output: end.output } : {}) });
    if (end.audit !== false) state.audit({ actor: rec.actor, trigger: rec.trigger, action: step.action, stack: step.stack, detail: end.audit });
  });
}

/** Best effort: a state DB that just failed must not hide the error that is being reported. */
export function tryState(rec: Pick<Recorder, 'logger'>, what: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    rec.logger.error({ err: describeError(e) }, `could not ${what}: ${describeError(e)}`);
  }
}

/** What `work` says at its end: how to end the records, or `undefined` to leave the journal open (stopping mid-apply). */
export interface WorkDone<T> {
  value: T;
  end?: JournalEnding;
}

/** How a thrown error is recorded and what is thrown on. */
export interface FailureRecord {
  message: string;
  output?: string;
  /** Thrown after the records are closed. */
  error: unknown;
}

/**
 * start → journal → work → end + audit; on a throw, the journal entry and the row end `failed`
 * (best effort) and `onError`'s error is thrown. A journal that cannot even be written fails the
 * row the same way: nothing ran yet.
 */
export async function runJournaled<T>(
  rec: Recorder,
  step: JournalStep,
  work: (j: Journaled) => Promise<WorkDone<T>>,
  onError: (e: unknown) => Promise<FailureRecord>,
): Promise<T> {
  const j: Journaled = { op: startOperation(rec, step), journal: undefined };
  try {
    j.journal = beginJournal(rec, j.op, step);
    const done = await work(j);
    if (done.end) endJournaled(rec, step, j, done.end);
    return done.value;
  } catch (e) {
    const failure = await onError(e);
    if (j.journal !== undefined) tryState(rec, 'close the journal entry', () => rec.state.journalEnd(j.journal!, 'failed'));
    tryState(rec, 'record the failed operation', () =>
      rec.state.finishOperation(j.op, { result: 'failed', message: failure.message, ...(failure.output !== undefined ? { output: failure.output } : {}) }),
    );
    throw failure.error;
  }
}
