import { describe, expect, it } from 'vitest';
import { isProcessAlive, processIdentity } from '../../../src/state/process-identity.js';
import { openState } from '../../../src/state/open.js';
import { child, freshStore, tempDir, thrown } from './helpers.js';

describe('operation journal', () => {
  it('an entry begun and ended is not open; ending it twice is refused', () => {
    const { store, clock } = freshStore();
    const op = store.startOperation({ trigger: 'cli', actor: 'alice', command: 'driftd sync', stack: 'web', action: 'deploy', revision: 'r2' });
    const id = store.journalBegin({ operationId: op, stack: 'web', action: 'deploy', revision: 'r2', fromRevision: 'r1' });
    expect(store.openJournals()).toEqual([
      {
        id,
        operationId: op,
        stack: 'web',
        action: 'deploy',
        revision: 'r2',
        fromRevision: 'r1',
        owner: processIdentity(),
        startedAt: '2026-01-01T00:00:00.000Z',
        endedAt: undefined,
        result: undefined,
      },
    ]);
    clock.advance(500);
    store.journalEnd(id, 'succeeded');
    expect(store.openJournals()).toEqual([]);
    expect(thrown(() => store.journalEnd(id, 'failed')).message).toMatch(/journal entry 1 is not open/);
  });

  it('needs an existing operation', () => {
    const { store } = freshStore();
    thrown(() => store.journalBegin({ operationId: 7, stack: 'web', action: 'deploy', revision: 'r2' }));
  });

  it('an entry never ended survives closing and re-opening the database', () => {
    const { store, dataDir } = freshStore();
    const op = store.startOperation({ trigger: 'schedule', actor: 'agent', command: 'driftd agent', stack: 'web', action: 'deploy', revision: 'r2' });
    store.journalBegin({ operationId: op, stack: 'web', action: 'deploy', revision: 'r2' });
    store.close();
    const again = openState(dataDir);
    expect(again.openJournals()).toMatchObject([{ operationId: op, stack: 'web', revision: 'r2', fromRevision: undefined }]);
    again.close();
  });

  it('a process SIGKILLed mid-apply leaves an open entry of a dead owner; its operation is abandoned; the DB stays intact', async () => {
    const dataDir = tempDir();
    const c = child('apply', dataDir);
    const [, journalId, opId] = /^journal (\d+) op (\d+)$/.exec(await c.line(/^journal \d+ op \d+$/))!;
    c.proc.kill('SIGKILL');
    await c.exited;

    const store = openState(dataDir);
    const open = store.openJournals();
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ id: Number(journalId), operationId: Number(opId), stack: 'web', revision: 'b'.repeat(40), fromRevision: 'a'.repeat(40) });
    expect(open[0]!.owner).not.toBe(processIdentity());
    expect(isProcessAlive(open[0]!.owner)).toBe(false);

    const abandoned = store.abandonOrphanedOperations();
    expect(abandoned.map((o) => [o.id, o.result])).toEqual([[Number(opId), 'abandoned']]);
    expect(abandoned[0]!.message).toBe('driftd stopped before this operation finished');
    expect(store.abandonOrphanedOperations()).toEqual([]);
    expect(store.integrityCheck().ok).toBe(true);
    store.close();
  });
});

describe('processIdentity', () => {
  it('identifies this process as alive, and a finished one as dead', async () => {
    expect(isProcessAlive(processIdentity())).toBe(true);
    const c = child('open', tempDir(), '0');
    await c.line(/^opened$/);
    const identity = processIdentity(c.proc.pid);
    await c.exited;
    expect(isProcessAlive(identity)).toBe(false);
  });

  it('a reused pid with another start time is not the same process', () => {
    const mine = processIdentity();
    if (!mine.startsWith('linux:')) return;
    const parts = mine.split(':');
    parts[3] = String(Number(parts[3]) + 1);
    expect(isProcessAlive(parts.join(':'))).toBe(false);
    expect(isProcessAlive(`pid:${process.pid}`)).toBe(true);
    expect(isProcessAlive('garbage')).toBe(false);
  });
});
