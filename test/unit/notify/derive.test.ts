import { describe, expect, it } from 'vitest';
import { deriveEvents, EMPTY_MEMORY, memoryFrom, type CycleView, type NotifyMemory, type OutcomeView, type StackView } from '../../../src/notify/derive.js';

const now = '2026-12-05T10:00:00Z';
const view = (v: Partial<StackView> = {}): StackView => ({ stack: 'web', sync: 'Synced', health: 'Healthy', kinds: [], ...v });
const ok = (stacks: StackView[], outcomes: OutcomeView[] = []): CycleView => ({ ok: true, outcomes, stacks });

/** Runs cycles in order, returning the event names of each. */
function run(cycles: CycleView[], memory: NotifyMemory = EMPTY_MEMORY): string[][] {
  const out: string[][] = [];
  let m = memory;
  for (const c of cycles) {
    const r = deriveEvents(m, c, { now });
    out.push(r.events.map((e) => `${e.event}${e.stack ? `:${e.stack}` : ''}`));
    m = r.memory;
  }
  return out;
}

describe('deriveEvents', () => {
  it('a stack that stays drifted notifies once, and once when it is resolved', () => {
    const drifted = ok([view({ sync: 'OutOfSync', kinds: ['replicas-mismatch'] })]);
    expect(run([ok([view()]), drifted, drifted, drifted, drifted, ok([view()]), ok([view()])])).toEqual([[], ['drift-detected:web'], [], [], [], ['drift-resolved:web'], []]);
  });

  it('health: degraded once, recovered once; Progressing and Unknown change nothing', () => {
    const down = ok([view({ health: 'Degraded', kinds: ['container-not-running'] })]);
    expect(run([ok([view()]), down, ok([view({ health: 'Progressing' })]), down, ok([view({ health: 'Unknown' })]), ok([view()])])).toEqual([[], ['health-degraded:web'], [], [], [], ['health-recovered:web']]);
  });

  it('a deploy is one event: the drift and health changes of the same run are part of it', () => {
    const r = run([ok([view({ sync: 'OutOfSync', health: 'Degraded', kinds: ['revision-behind'] })], [{ stack: 'web', result: 'rolled-back', message: 'health gate failed; rolled back to v1', revision: 'b'.repeat(40), tag: 'v2' }])]);
    expect(r).toEqual([['rolled-back:web']]);
  });

  it('repeated failures of one revision notify once and are counted in the next success', () => {
    const fail = ok([view({ sync: 'OutOfSync', kinds: ['revision-behind'] })], [{ stack: 'web', result: 'failed', message: 'pull failed', revision: 'r2' }]);
    let m = EMPTY_MEMORY;
    const names: string[] = [];
    for (const c of [fail, fail, fail]) {
      const r = deriveEvents(m, c, { now });
      names.push(...r.events.map((e) => e.event));
      m = r.memory;
    }
    expect(names).toEqual(['sync-failed']);
    const success = deriveEvents(m, ok([view()], [{ stack: 'web', result: 'deployed', message: 'running and healthy', revision: 'r2', tag: 'v2' }]), { now });
    expect(success.events).toEqual([expect.objectContaining({ event: 'sync-succeeded', message: expect.stringContaining('after 3 failed attempts') as string })]);
    // A newer revision failing is a new state: notified.
    expect(run([fail, ok([view()], [{ stack: 'web', result: 'failed', message: 'x', revision: 'r3' }])])).toEqual([['sync-failed:web'], ['sync-failed:web']]);
  });

  it('approval-needed and revision-refused once per revision', () => {
    const wait = (rev: string): CycleView => ok([view({ stack: 'db', sync: 'OutOfSync' })], [{ stack: 'db', result: 'awaiting-approval', message: 'sync: manual', revision: rev }]);
    expect(run([wait('a'), wait('a'), wait('b')])).toEqual([['approval-needed:db'], [], ['approval-needed:db']]);
    const refuse: CycleView = ok([], [{ stack: 'x', result: 'refused', message: 'privileged', revision: 'a' }]);
    expect(run([refuse, refuse])).toEqual([['revision-refused:x'], []]);
  });

  it('source-unreachable after 3 consecutive failed polls, once; source-recovered once with the count', () => {
    const down: CycleView = { ok: false, error: 'connection refused' };
    expect(run([down, down, down, down, down, ok([view()]), ok([view()])])).toEqual([[], [], ['source-unreachable'], [], [], ['source-recovered'], []]);
    expect(run([down, down, ok([view()])])).toEqual([[], [], []]);
    let m = EMPTY_MEMORY;
    for (let i = 0; i < 4; i++) m = deriveEvents(m, down, { now }).memory;
    expect(deriveEvents(m, ok([]), { now }).events[0]?.message).toContain('after 4 failed polls since 2026-12-05T10:00:00Z');
  });

  it('ignores unchanged, recorded and skipped outcomes', () => {
    expect(run([ok([view()], [{ stack: 'web', result: 'unchanged', message: 'in sync' }, { stack: 'web', result: 'recorded', message: '' }, { stack: 'web', result: 'skipped', message: '' }])])).toEqual([[]]);
  });

  it('is pure: the input memory is not modified', () => {
    const m: NotifyMemory = { stacks: { web: { sync: 'Synced', health: 'Healthy' } }, source: { failures: 0, notified: false } };
    const copy = structuredClone(m);
    deriveEvents(m, ok([view({ sync: 'OutOfSync' })]), { now });
    deriveEvents(m, { ok: false, error: 'x' }, { now });
    expect(m).toEqual(copy);
  });

  it('a whole-repo refusal (signature) notifies once per revision; Docker/disk failures notify nothing and keep the memory', () => {
    const refused = (rev: string): CycleView => ({ ok: false, kind: 'refused', error: 'tag v2 is not signed by a trusted key', revision: rev, tag: 'v2' });
    expect(run([refused('a'.repeat(40)), refused('a'.repeat(40)), refused('b'.repeat(40))])).toEqual([['revision-refused'], [], ['revision-refused']]);
    const other: CycleView = { ok: false, kind: 'other', error: 'Docker does not answer' };
    const drifted = ok([view({ sync: 'OutOfSync' })]);
    expect(run([drifted, other, other, other, other, drifted])).toEqual([['drift-detected:web'], [], [], [], [], []]);
  });

  it('stacks named like prototype keys are plain data', () => {
    const r = run([ok([view({ stack: '__proto__', sync: 'OutOfSync' }), view({ stack: 'constructor', health: 'Degraded' })]), ok([view({ stack: '__proto__' }), view({ stack: 'constructor' })])]);
    expect(r).toEqual([['drift-detected:__proto__', 'health-degraded:constructor'], ['drift-resolved:__proto__', 'health-recovered:constructor']]);
    expect(({} as Record<string, unknown>).sync).toBeUndefined();
  });

  it('memoryFrom: damaged or foreign JSON is forgotten, never trusted', () => {
    expect(memoryFrom(undefined)).toEqual(EMPTY_MEMORY);
    expect(memoryFrom('x')).toEqual(EMPTY_MEMORY);
    expect(memoryFrom({ stacks: { web: { sync: 'OutOfSync' }, bad: 3 }, source: { failures: 'many' }, refused: 7 })).toEqual({ stacks: { web: { sync: 'OutOfSync' } }, source: { failures: 0, notified: false } });
    const m = memoryFrom(JSON.parse('{"stacks":{"__proto__":{"sync":"OutOfSync"}}}'));
    expect(Object.keys(m.stacks)).toEqual(['__proto__']);
  });
});
