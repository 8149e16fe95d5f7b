import { describe, expect, it } from 'vitest';
import { planSync } from '../../../src/sync/plan.js';
import { input, liveOf, service, stack, target } from './fixtures.js';

const web = stack('web', [service('web', 'h1'), service('cache', 'h2')]);

function only(plan: ReturnType<typeof planSync>, name: string) {
  const p = plan.stacks.find((s) => s.stack === name);
  if (!p) throw new Error(`no plan for ${name}`);
  return p;
}

describe('planSync', () => {
  it('does nothing for a stack whose services all carry the desired config hash', () => {
    const plan = planSync(input({ targets: [target(web)], live: { web: liveOf(web) } }));
    expect(only(plan, 'web')).toMatchObject({ action: 'none', reason: 'in sync', changedServices: [] });
  });

  it('deploys a stack that is not deployed', () => {
    const plan = planSync(input({ targets: [target(web)] }));
    expect(only(plan, 'web')).toMatchObject({ action: 'deploy', reason: 'not deployed', changedServices: ['cache', 'web'] });
  });

  it('names exactly the services whose config hash changed', () => {
    const plan = planSync(input({ targets: [target(web)], live: { web: liveOf(web, { cache: { configHash: 'old' } }) } }));
    expect(only(plan, 'web')).toMatchObject({ action: 'deploy', changedServices: ['cache'] });
  });

  it('treats a replica count change as a change of that service', () => {
    const scaled = stack('web', [service('web', 'h1', 3)]);
    const plan = planSync(input({ targets: [target(scaled)], live: { web: liveOf(stack('web', [service('web', 'h1', 1)])) } }));
    expect(only(plan, 'web')).toMatchObject({ action: 'deploy', changedServices: ['web'] });
  });

  it('deploys when a live service is no longer declared (removed by --remove-orphans)', () => {
    const live = liveOf(web);
    live.services.old = { configHash: 'x', running: 1, total: 1, unhealthy: 0 };
    expect(only(planSync(input({ targets: [target(web)], live: { web: live } })), 'web')).toMatchObject({
      action: 'deploy',
      reason: 'services no longer declared: old',
    });
  });

  it.each([
    ['auto', 'deploy'],
    ['manual', 'await-approval'],
    ['off', 'skip'],
  ] as const)('sync: %s with a change → %s', (sync, action) => {
    const s = stack('web', [service('web', 'h9')], { sync });
    expect(only(planSync(input({ targets: [target(s)] })), 'web').action).toBe(action);
  });

  it('deploys a manual stack once its revision is approved, and only that revision', () => {
    const s = stack('db', [service('db', 'h1')], { sync: 'manual' });
    expect(only(planSync(input({ targets: [target(s, 'c2')], approvals: new Set(['db@c2']) })), 'db').action).toBe('deploy');
    expect(only(planSync(input({ targets: [target(s, 'c3')], approvals: new Set(['db@c2']) })), 'db').action).toBe('await-approval');
  });

  it('does not retry a revision that failed its health gate, unless forced', () => {
    const failed = new Set(['web@c2']);
    expect(only(planSync(input({ targets: [target(web)], failedRevisions: failed })), 'web')).toMatchObject({ action: 'skip', problem: true });
    expect(only(planSync(input({ targets: [target(web)], failedRevisions: failed, force: true })), 'web').action).toBe('deploy');
    expect(only(planSync(input({ targets: [target(web, 'c3')], failedRevisions: failed })), 'web').action).toBe('deploy');
  });

  it('calls a move to a pinned older revision a rollback', () => {
    const plan = planSync(
      input({
        targets: [target(web, 'c1', 'v1.0.0')],
        live: { web: liveOf(web, { web: { configHash: 'newer' } }) },
        deployed: { web: { revision: 'c2', inputsHash: 'x', configHashes: {} } },
      }),
    );
    expect(only(plan, 'web')).toMatchObject({ action: 'rollback', reason: 'pinned to v1.0.0: config changed for web' });
  });

  it('self-heals drifted stacks only when selfHeal is on', () => {
    const healing = stack('web', [service('web', 'h1')], { selfHeal: true });
    const plain = stack('app', [service('app', 'h1')]);
    const plan = planSync(
      input({ targets: [target(healing), target(plain)], live: { web: liveOf(healing), app: liveOf(plain) }, drifted: new Set(['web', 'app']) }),
    );
    expect(only(plan, 'web').action).toBe('deploy');
    expect(only(plan, 'app')).toMatchObject({ action: 'none' });
    expect(only(plan, 'app').reason).toMatch(/reported only/);
  });

  it('restarts stopped containers only under selfHeal', () => {
    const healing = stack('web', [service('web', 'h1')], { selfHeal: true });
    const live = liveOf(healing, { web: { running: 0 } });
    expect(only(planSync(input({ targets: [target(healing)], live: { web: live } })), 'web').action).toBe('deploy');
    const plain = stack('web', [service('web', 'h1')]);
    const deployed = { web: { revision: 'c2', inputsHash: plain.inputsHash, configHashes: { web: 'h1' } } };
    expect(only(planSync(input({ targets: [target(plain)], deployed, live: { web: liveOf(plain, { web: { running: 0 } }) } })), 'web')).toMatchObject({
      action: 'none',
      problem: true,
      reason: 'Degraded: web: not running (selfHeal off: reported only)',
    });
  });

  describe('labels match the target but the containers are not up (issue 13, finding 1)', () => {
    const plain = stack('web', [service('web', 'h1')]);
    const recorded = { web: { revision: 'c2', inputsHash: plain.inputsHash, configHashes: { web: 'h1' } } };
    const crashed = { web: liveOf(plain, { web: { running: 0 } }) };
    const created = { web: { health: 'Degraded' as const, problems: ['web: container dt-web-1 is created'] } };

    it('an unrecorded revision whose container a crash left created gets Compose and the health gate, never "in sync"', () => {
      const p = only(planSync(input({ targets: [target(plain)], live: crashed, health: created })), 'web');
      expect(p.action).toBe('deploy');
      expect(p.reason).toMatch(/^containers of this revision are not running and healthy \(web: container dt-web-1 is created\): the apply did not finish/);
    });

    it('an unrecorded revision that is still starting is gated too (the gate waits for it)', () => {
      const starting = { web: { health: 'Progressing' as const, problems: ['web: container x health check is starting'] } };
      expect(only(planSync(input({ targets: [target(plain)], live: { web: liveOf(plain) }, health: starting })), 'web').action).toBe('deploy');
    });

    it('an unrecorded revision with its inputs recorded under another hash is gated as well', () => {
      const other = { web: { ...recorded.web, inputsHash: 'older-inputs' } };
      expect(only(planSync(input({ targets: [target(plain)], live: crashed, deployed: other, health: created })), 'web').action).toBe('deploy');
    });

    it('a healthy unrecorded revision is just recorded (no Compose run)', () => {
      const healthy = { web: { health: 'Healthy' as const, problems: [] } };
      expect(only(planSync(input({ targets: [target(plain)], live: { web: liveOf(plain) }, health: healthy })), 'web')).toMatchObject({ action: 'none', reason: 'in sync' });
    });

    it('a revision that failed before stays held back, as a problem, unless --force', () => {
      const failed = new Set(['web@c2']);
      expect(only(planSync(input({ targets: [target(plain)], live: crashed, health: created, failedRevisions: failed })), 'web')).toMatchObject({ action: 'skip', problem: true });
      expect(only(planSync(input({ targets: [target(plain)], live: crashed, health: created, failedRevisions: failed, force: true })), 'web').action).toBe('deploy');
    });

    it('sync: off and manual stacks keep their gates', () => {
      const off = stack('web', [service('web', 'h1')], { sync: 'off' });
      expect(only(planSync(input({ targets: [target(off)], live: { web: liveOf(off, { web: { running: 0 } }) } })), 'web').action).toBe('skip');
      const manual = stack('web', [service('web', 'h1')], { sync: 'manual' });
      expect(only(planSync(input({ targets: [target(manual)], live: { web: liveOf(manual, { web: { running: 0 } }) } })), 'web').action).toBe('await-approval');
    });

    it('--force re-applies a recorded stack whose container is down (never "unchanged")', () => {
      expect(only(planSync(input({ targets: [target(plain)], live: crashed, health: created, deployed: recorded, force: true })), 'web')).toMatchObject({
        action: 'deploy',
        reason: '--force: re-applying (web: container dt-web-1 is created)',
      });
    });

    it('a recorded stack with a stopped container and selfHeal off is reported as a problem (sync exits 2)', () => {
      expect(only(planSync(input({ targets: [target(plain)], live: crashed, health: created, deployed: recorded })), 'web')).toMatchObject({ action: 'none', problem: true });
    });

    it('a recorded stack whose health check is starting is transient, not a problem', () => {
      const starting = { web: { health: 'Progressing' as const, problems: ['web: starting'] } };
      const p = only(planSync(input({ targets: [target(plain)], live: { web: liveOf(plain) }, health: starting, deployed: recorded })), 'web');
      expect(p).toMatchObject({ action: 'none', reason: 'in sync' });
      expect(p.problem).toBeUndefined();
    });

    it('without a health verdict, an unhealthy container counted in the summary is enough', () => {
      expect(only(planSync(input({ targets: [target(plain)], live: { web: liveOf(plain, { web: { unhealthy: 1 } }) } })), 'web').action).toBe('deploy');
    });
  });

  it('skips a stack that failed to load, and plans the others', () => {
    const plan = planSync(input({ targets: [target(web)], loadErrors: [{ stack: 'broken', message: 'compose.yaml:3: bad' }] }));
    expect(only(plan, 'broken')).toMatchObject({ action: 'skip', problem: true, reason: 'invalid at target revision: compose.yaml:3: bad' });
    expect(only(plan, 'web').action).toBe('deploy');
  });

  it('prunes a managed stack that left the host only when its policy says prune', () => {
    const gone = liveOf(stack('gone', [service('gone', 'h')]));
    const kept = liveOf(stack('kept', [service('kept', 'h')]));
    const plan = planSync(
      input({ targets: [target(web)], live: { web: liveOf(web), gone, kept }, prunePolicies: { gone: { prune: true } } }),
    );
    expect(only(plan, 'gone').action).toBe('prune');
    expect(only(plan, 'kept')).toMatchObject({ action: 'skip' });
  });

  it('never prunes a stack it did not deploy', () => {
    const manual = { ...liveOf(stack('handmade', [service('x', 'h')])), managedByDriftd: false };
    const plan = planSync(input({ targets: [target(web)], live: { handmade: manual }, prunePolicies: { handmade: { prune: true } } }));
    expect(plan.stacks.find((s) => s.stack === 'handmade')).toBeUndefined();
  });

  it('refuses to prune every managed stack when the target declares none', () => {
    const a = liveOf(stack('a', [service('a', 'h')]));
    const b = liveOf(stack('b', [service('b', 'h')]));
    const policies = { a: { prune: true }, b: { prune: true } };
    const refused = planSync(input({ live: { a, b }, prunePolicies: policies }));
    expect(refused.stacks.map((s) => s.action)).toEqual(['skip', 'skip']);
    expect(refused.warnings[0]).toMatch(/refusing to prune every managed stack/);
    const allowed = planSync(input({ live: { a, b }, prunePolicies: policies, allowMassPrune: true }));
    expect(allowed.stacks.map((s) => s.action)).toEqual(['prune', 'prune']);
  });

  it('refuses a prune from a revision that declares nothing even when another managed stack stays', () => {
    const a = liveOf(stack('a', [service('a', 'h')]));
    const kept = liveOf(stack('kept', [service('k', 'h')]));
    const refused = planSync(input({ live: { a, kept }, prunePolicies: { a: { prune: true }, kept: { prune: false } } }));
    expect(only(refused, 'a')).toMatchObject({ action: 'skip', reason: 'no longer declared for this host; mass prune refused, left running' });
    expect(only(refused, 'kept')).toMatchObject({ action: 'skip', reason: 'no longer declared for this host; prune is off, left running' });
    expect(refused.warnings).toEqual([expect.stringMatching(/refusing to prune every managed stack at once \(a\)/)]);
  });

  it('limits the plan to --stack', () => {
    const other = stack('other', [service('o', 'h')]);
    const plan = planSync(input({ targets: [target(web), target(other)], only: ['other'] }));
    expect(plan.stacks.map((s) => s.stack)).toEqual(['other']);
  });

  it('is deterministic and sorted by stack', () => {
    const b = stack('b', [service('b', 'h')]);
    const a = stack('a', [service('a', 'h')]);
    const i = input({ targets: [target(b), target(a)] });
    expect(planSync(i)).toEqual(planSync(i));
    expect(planSync(i).stacks.map((s) => s.stack)).toEqual(['a', 'b']);
  });
});
