import { describe, expect, it } from 'vitest';
import { heldByWindow } from '../../../src/sync/reconcile.js';
import { planSync } from '../../../src/sync/plan.js';
import { toSyncWindow } from '../../../src/windows/index.js';
import { input, liveOf, service, stack, target } from '../sync/fixtures.js';

const HELD = 'waiting for sync window (opens at 2026-12-04T17:00:00Z)';
const web = stack('web', [service('web', 'h1')]);

describe('sync windows in the plan', () => {
  it('holds back a deploy, and says why first', () => {
    const plan = planSync(input({ targets: [target(web)], heldByWindow: { web: HELD } }));
    expect(plan.stacks[0]).toMatchObject({ action: 'skip', problem: true, reason: `${HELD}; not deployed` });
  });
  it('holds back a selfHeal re-apply, a pinned rollback and a prune', () => {
    const healing = stack('web', [service('web', 'h1')], { selfHeal: true });
    const selfHeal = planSync(input({ targets: [target(healing)], live: { web: liveOf(healing) }, drifted: new Set(['web']), heldByWindow: { web: HELD } }));
    expect(selfHeal.stacks[0]?.action).toBe('skip');
    const old = stack('web', [service('web', 'h0')]);
    const pinned = planSync(
      input({ targets: [target(old, 'c1', 'v1')], live: { web: liveOf(web) }, deployed: { web: { revision: 'c2', inputsHash: 'x', configHashes: {} } }, heldByWindow: { web: HELD } }),
    );
    expect(pinned.stacks[0]?.action).toBe('skip');
    const gone = planSync(input({ targets: [target(stack('api', [service('api', 'a')]))], live: { web: liveOf(web) }, prunePolicies: { web: { prune: true } }, heldByWindow: { web: HELD } }));
    expect(gone.stacks.find((p) => p.stack === 'web')).toMatchObject({ action: 'skip', reason: expect.stringContaining(HELD) as string });
  });
  it('leaves in-sync stacks, approvals and other stacks alone', () => {
    const manual = stack('db', [service('db', 'd')], { sync: 'manual' });
    const plan = planSync(input({ targets: [target(web), target(manual)], live: { web: liveOf(web) }, heldByWindow: { web: HELD, db: HELD } }));
    expect(plan.stacks.map((p) => [p.stack, p.action])).toEqual([
      ['db', 'await-approval'],
      ['web', 'none'],
    ]);
  });
});

describe('heldByWindow', () => {
  const deny = toSyncWindow({ kind: 'deny', schedule: '0 8 * * 1-5', duration: '10h', timezone: 'Europe/Berlin', stacks: ['web'] }, 'windows[0]');
  const manualOk = toSyncWindow({ kind: 'deny', schedule: '0 8 * * 1-5', duration: '10h', timezone: 'Europe/Berlin', manualSync: true }, 'windows[1]');
  const base = { desired: { stacks: [], errors: [] } as never, only: [], dryRun: false, force: false, allowMassPrune: false };
  const fridayTen = Date.parse('2026-12-04T09:00:00Z');

  it('evaluates host-wide windows by stack pattern and the stack own windows, for live stacks too', () => {
    const api = stack('api', [service('api', 'a')], { windows: [manualOk] });
    const held = heldByWindow([deny], { ...base, targets: [target(web), target(api)], windows: { manual: false, ignore: false, nowMs: fridayTen } }, { old: liveOf(web) });
    expect(held).toEqual({ web: HELD, api: HELD });
  });
  it('lets a manual sync through a manualSync window only', () => {
    const api = stack('api', [service('api', 'a')], { windows: [manualOk] });
    const held = heldByWindow([deny], { ...base, targets: [target(web), target(api)], windows: { manual: true, ignore: false, nowMs: fridayTen } }, {});
    expect(held).toEqual({ web: HELD });
  });
  it('holds nothing outside the windows', () => {
    expect(heldByWindow([deny], { ...base, targets: [target(web)], windows: { manual: false, ignore: false, nowMs: Date.parse('2026-12-05T09:00:00Z') } }, {})).toEqual({});
  });
});
