/**
 * Recovery at the start of a run: an apply that never ended (driftd was killed) is recorded and
 * its stack re-evaluated, never replayed blindly. Its own module: every sync runs it, also a
 * no-change one that loads nothing of the planner (src/commands/sync.ts imports that lazily).
 */
import type { StateStore } from '../state/index.js';
import type { Trigger } from '../state/schema.js';
import type { Logger } from '../util/logger.js';
import { shortCommit } from '../util/text.js';
import { endJournaled, startOperation, type JournalStep, type Recorder } from './journaled.js';
import { waitForComposeRuns } from './orphaned-compose.js';

/** Recovery: an apply that never ended (the agent was killed) is recorded and its stack re-evaluated, never replayed blindly. */
export async function recoverInterruptedApplies(state: StateStore, logger: Logger, trigger: Trigger, actor: string, composeTimeoutMs: number): Promise<string[]> {
  const recovered: string[] = [];
  const rec: Recorder = { state, logger, trigger, actor, command: 'recover' };
  for (const entry of state.openJournals()) {
    if (!(await waitForComposeRuns(entry.stack, composeTimeoutMs))) {
      logger.warn({ stack: entry.stack }, `a Compose run left by the interrupted apply of ${entry.stack} is still going after ${Math.round(composeTimeoutMs / 1000)} s; re-evaluating anyway`);
    }
    const step: JournalStep = { stack: entry.stack, action: 'recover', revision: entry.revision };
    const op = startOperation(rec, step);
    const message = `the ${entry.action} of ${shortCommit(entry.revision)} started ${entry.startedAt} never finished (driftd was stopped); re-evaluating the stack against live state`;
    logger.warn({ stack: entry.stack }, message);
    // The interrupted apply's own journal entry is the one this recovery closes.
    endJournaled(rec, step, { op, journal: entry.id }, {
      result: 'succeeded',
      journalResult: 'abandoned',
      message,
      audit: { revision: entry.revision, fromRevision: entry.fromRevision },
      also: () => {
        const original = state.operation(entry.operationId);
        if (original?.result === 'running') state.finishOperation(entry.operationId, { result: 'abandoned', message });
      },
    });
    recovered.push(entry.stack);
  }
  state.abandonOrphanedOperations();
  return recovered;
}
