import { describe, expect, it } from 'vitest';
import type { DriftResult } from '../../../src/drift/compute-drift.js';
import type { Finding } from '../../../src/drift/model.js';
import { findingCounts, reconcileOutcome, syncResultLabel, windowStates } from '../../../src/metrics/labels.js';
import type { StackResult } from '../../../src/sync/reconcile.js';
import { toSyncWindow } from '../../../src/windows/index.js';

describe('metric labels', () => {
  it.each<[StackResult, string | undefined]>([
    ['deployed', 'succeeded'],
    ['pruned', 'succeeded'],
    ['failed', 'failed'],
    ['rolled-back', 'rolled_back'],
    ['skipped', 'skipped'],
    ['awaiting-approval', 'skipped'],
    ['refused', 'skipped'],
    ['abandoned', 'skipped'],
    ['unchanged', undefined],
    ['recorded', undefined],
  ])('a stack that was %s counts as sync result %s', (result, label) => expect(syncResultLabel(result)).toBe(label));

  it('names the reconcile outcome from the exit code, or error when the run threw', () => {
    expect(reconcileOutcome(0)).toBe('ok');
    expect(reconcileOutcome(2)).toBe('degraded');
    expect(reconcileOutcome(undefined)).toBe('error');
  });

  it('counts findings per stack, kind and severity; unmanaged projects under stack ""', () => {
    const f = (kind: Finding['kind'], severity: Finding['severity'], stack = 'a'): Finding => ({ kind, severity, stack, message: `m ${Math.random()}` });
    const drift: DriftResult = {
      stacks: [
        { stack: 'a', sync: 'OutOfSync', health: 'Degraded', findings: [f('container-not-running', 'error'), f('container-not-running', 'error'), f('image-unpinned', 'warning')] },
        { stack: 'b', sync: 'Synced', health: 'Healthy', findings: [] },
      ],
      unmanaged: [f('stack-unmanaged', 'warning', 'whatever; DROP TABLE'), f('stack-unmanaged', 'warning', 'other')],
    };
    expect(findingCounts(drift).sort((x, y) => x.kind.localeCompare(y.kind))).toEqual([
      { stack: 'a', kind: 'container-not-running', severity: 'error', count: 2 },
      { stack: 'a', kind: 'image-unpinned', severity: 'warning', count: 1 },
      { stack: '', kind: 'stack-unmanaged', severity: 'warning', count: 2 },
    ]);
  });

  it('says per governed stack whether its windows are open now and when they next open', () => {
    // Deny every day 08:00–18:00 Berlin for all stacks; "night" also has its own allow window 22:00–23:00.
    const deny = toSyncWindow({ kind: 'deny', schedule: '0 8 * * *', duration: '10h', timezone: 'Europe/Berlin', stacks: ['*'] }, 'w');
    const night = toSyncWindow({ kind: 'allow', schedule: '0 22 * * *', duration: '1h', timezone: 'Europe/Berlin' }, 'own');
    const noon = Date.parse('2026-07-01T10:00:00Z'); // 12:00 in Berlin (CEST)
    expect(windowStates(['web', 'night'], [deny], new Map([['night', [night]]]), noon)).toEqual([
      { stack: 'night', open: false, nextOpenMs: Date.parse('2026-07-01T20:00:00Z') },
      { stack: 'web', open: false, nextOpenMs: Date.parse('2026-07-01T16:00:00Z') },
    ]);
    expect(windowStates(['web'], [], new Map(), noon)).toEqual([]);
    expect(windowStates(['web'], [deny], new Map(), Date.parse('2026-07-01T17:00:00Z'))).toEqual([{ stack: 'web', open: true }]);
  });
});
