import { describe, expect, it } from 'vitest';
import { swarmInfoSchema, swarmNodeSchema, swarmServicesSchema, swarmTasksSchema, type SwarmLive } from '../../../src/swarm/engine-model.js';
import { swarmRole } from '../../../src/swarm/leader.js';
import { evaluateSwarmHealth, extraSwarmServices, summarizeSwarm } from '../../../src/swarm/live.js';
import { service, stack } from '../sync/fixtures.js';

const info = (swarm: unknown) => swarmInfoSchema.parse({ Swarm: swarm });
const node = (leader?: boolean) => swarmNodeSchema.parse({ ID: 'n1', ...(leader === undefined ? {} : { ManagerStatus: { Leader: leader, Reachability: 'reachable' } }) });

describe('swarmRole (the leader rule)', () => {
  it('the leader applies', () => {
    expect(swarmRole(info({ NodeID: 'n1', LocalNodeState: 'active', ControlAvailable: true }), node(true))).toEqual({ role: 'leader', nodeId: 'n1' });
  });
  it('another manager reports only, saying why', () => {
    const r = swarmRole(info({ NodeID: 'n2abcdefghijklmn', LocalNodeState: 'active', ControlAvailable: true }), node(false));
    expect(r.role).toBe('follower');
    expect(r.role === 'follower' && r.reason).toMatch(/not the Swarm leader.*reported only/);
  });
  it('a manager whose node answer lacks ManagerStatus is not taken for the leader', () => {
    expect(swarmRole(info({ NodeID: 'n1', LocalNodeState: 'active', ControlAvailable: true }), undefined).role).toBe('follower');
    expect(swarmRole(info({ NodeID: 'n1', LocalNodeState: 'active', ControlAvailable: true }), node()).role).toBe('follower');
  });
  it('a worker or an engine outside a Swarm deploys nothing', () => {
    const worker = swarmRole(info({ NodeID: 'n3', LocalNodeState: 'active', ControlAvailable: false }), node(true));
    expect(worker.role).toBe('none');
    expect(worker.role === 'none' && worker.reason).toMatch(/worker/);
    for (const s of [undefined, { LocalNodeState: 'inactive', NodeID: '' }, { LocalNodeState: 'pending', NodeID: 'x', ControlAvailable: true }, { LocalNodeState: 'locked', NodeID: 'x', ControlAvailable: true }]) {
      const r = swarmRole(info(s), node(true));
      expect(r.role).toBe('none');
      expect(r.role === 'none' && r.reason).toMatch(/not part of a Swarm/);
    }
  });
  it('follows a leader change: the same engine asked again answers by its new node status', () => {
    const i = info({ NodeID: 'n1', LocalNodeState: 'active', ControlAvailable: true });
    expect(swarmRole(i, node(true)).role).toBe('leader');
    expect(swarmRole(i, node(false)).role).toBe('follower');
  });
});

const svc = (id: string, name: string, labels: Record<string, string>, replicas: number | 'global' = 1, update?: string) => ({
  ID: id,
  Spec: { Name: name, Labels: { 'com.docker.stack.namespace': name.split('_')[0], ...labels }, Mode: replicas === 'global' ? { Global: {} } : { Replicated: { Replicas: replicas } } },
  ...(update ? { UpdateStatus: { State: update, Message: `update ${update}` } } : {}),
});
const task = (id: string, serviceId: string, state: string, desired = 'running', err?: string) => ({ ID: id, ServiceID: serviceId, DesiredState: desired, Status: { State: state, ...(err ? { Err: err } : {}) } });
const live = (services: unknown[], tasks: unknown[]): SwarmLive => ({ services: swarmServicesSchema.parse(services), tasks: swarmTasksSchema.parse(tasks) });

describe('summarizeSwarm', () => {
  it('per stack: driftd labels from service labels, replicas from the spec, running tasks', () => {
    const l = live(
      [
        svc('s1', 'edge_web', { 'io.driftd.stack': 'edge', 'io.driftd.config-hash': 'h1', 'io.driftd.revision': 'r1', 'io.driftd.ref': 'v1' }, 2),
        svc('s2', 'edge_worker', { 'io.driftd.stack': 'edge', 'io.driftd.config-hash': 'h2' }, 'global'),
        svc('s3', 'hand_app', {}, 1),
        { ID: 's4', Spec: { Name: 'loose', Labels: null } },
      ],
      [task('t1', 's1', 'running'), task('t2', 's1', 'starting'), task('t0', 's1', 'shutdown', 'shutdown'), task('t3', 's2', 'running'), task('t4', 's3', 'running')],
    );
    const s = summarizeSwarm(l);
    expect(Object.keys(s).sort()).toEqual(['edge', 'hand']);
    expect(s.edge).toEqual({
      managedByDriftd: true,
      services: {
        web: { configHash: 'h1', revision: 'r1', ref: 'v1', total: 2, running: 1, unhealthy: 0 },
        worker: { configHash: 'h2', total: 1, running: 1, unhealthy: 0 },
      },
    });
    expect(s.hand?.managedByDriftd).toBe(false);
  });
  it('a stack named __proto__ is a key, not a prototype', () => {
    const s = summarizeSwarm(live([svc('s1', '__proto___web', JSON.parse('{"com.docker.stack.namespace": "__proto__", "io.driftd.stack": "__proto__"}') as Record<string, string>)], []));
    expect(s.__proto__?.services.web?.total).toBe(1);
    expect(Object.prototype.hasOwnProperty.call(s, '__proto__')).toBe(true);
  });
});

describe('evaluateSwarmHealth (the health gate for Swarm)', () => {
  const st = stack('edge', [service('web', 'h1', 2), service('worker', 'h2')]);
  const ok = [svc('s1', 'edge_web', {}, 2), svc('s2', 'edge_worker', {}, 1, 'completed')];
  it('converged: every service has its replicas running and no update under way', () => {
    const v = evaluateSwarmHealth(st, live(ok, [task('a', 's1', 'running'), task('b', 's1', 'running'), task('c', 's2', 'running'), task('old', 's2', 'shutdown', 'shutdown')]));
    expect(v).toEqual({ ok: true, health: 'Healthy', problems: [], final: false });
  });
  it('a missing service, too few tasks, a task still starting (health check not yet passed)', () => {
    const v = evaluateSwarmHealth(st, live([ok[0]], [task('a', 's1', 'running'), task('b', 's1', 'starting')]));
    expect(v.ok).toBe(false);
    expect(v.final).toBe(false);
    expect(v.health).toBe('Missing');
    expect(v.problems).toEqual(['web: 1 of 2 tasks running; task b is starting', 'worker: no Swarm service edge_worker']);
  });
  it('an update under way is progressing; a paused or rolled back update is final', () => {
    const updating = evaluateSwarmHealth(st, live([svc('s1', 'edge_web', {}, 2, 'updating'), ok[1]], [task('a', 's1', 'running'), task('b', 's1', 'running'), task('c', 's2', 'running')]));
    expect(updating).toMatchObject({ ok: false, health: 'Progressing', final: false });
    for (const state of ['paused', 'rollback_completed']) {
      const v = evaluateSwarmHealth(st, live([svc('s1', 'edge_web', {}, 2, state), ok[1]], [task('c', 's2', 'running')]));
      expect(v).toMatchObject({ ok: false, health: 'Degraded', final: true });
      expect(v.problems[0]).toMatch(/^web: Swarm update (paused|rollback completed)/);
    }
  });
  it('a failed task makes the stack degraded and says why', () => {
    const v = evaluateSwarmHealth(st, live(ok, [task('a', 's1', 'running'), task('b', 's1', 'failed', 'running', 'task: non-zero exit (1)'), task('c', 's2', 'running')]));
    expect(v.health).toBe('Degraded');
    expect(v.problems).toEqual(['web: 1 of 2 tasks running; task b is failed (task: non-zero exit (1))']);
  });
  it('right after a deploy: tasks of the previous spec still running do not pass the gate (Swarm has not begun the update)', () => {
    const template = { ContainerSpec: { Image: 'app:2@sha256:b', Env: ['MODE=two'], Labels: { 'com.docker.stack.namespace': 'edge' } }, ForceUpdate: 0 };
    const withTemplate = (s: ReturnType<typeof svc>, t: unknown = template) => ({ ...s, Spec: { ...s.Spec, TaskTemplate: t } });
    // The API's own key order and omitted empty fields are no difference.
    const current = { Spec: { ForceUpdate: 0, ContainerSpec: { Labels: { 'com.docker.stack.namespace': 'edge' }, Env: ['MODE=two'], Image: 'app:2@sha256:b', Mounts: [] } } };
    const old = { Spec: { ContainerSpec: { Image: 'app:1@sha256:a', Env: ['MODE=two'], Labels: { 'com.docker.stack.namespace': 'edge' } } } };
    const services = [withTemplate(ok[0]!), withTemplate(ok[1]!)];
    const passed = evaluateSwarmHealth(st, live(services, [{ ...task('a', 's1', 'running'), ...current }, { ...task('b', 's1', 'running'), ...current }, { ...task('c', 's2', 'running'), ...current }]));
    expect(passed.ok).toBe(true);
    const stale = evaluateSwarmHealth(st, live(services, [{ ...task('a', 's1', 'running'), ...old }, { ...task('b', 's1', 'running'), ...current }, { ...task('c', 's2', 'running'), ...current }]));
    expect(stale).toMatchObject({ ok: false, health: 'Progressing', final: false });
    expect(stale.problems).toEqual(['web: 1 task still from the previous spec', 'web: 1 of 2 tasks running']);
    // `docker service update --force` changes only the counter: the old tasks are stale too.
    const forced = evaluateSwarmHealth(st, live([withTemplate(ok[0]!, { ...template, ForceUpdate: 1 }), withTemplate(ok[1]!)], [{ ...task('a', 's1', 'running'), ...current }, { ...task('b', 's1', 'running'), ...current }, { ...task('c', 's2', 'running'), ...current }]));
    expect(forced.problems).toEqual(['web: 2 tasks still from the previous spec', 'web: 0 of 2 tasks running']);
  });
  it('services of the stack the repo no longer declares', () => {
    expect(extraSwarmServices(st, live([...ok, svc('s9', 'edge_old', {}), svc('s8', 'other_x', {})], []))).toEqual(['old']);
  });
});

describe('prune after a leader change: which Swarm stacks are driftd’s comes from the service labels, not a state DB', () => {
  it('a new leader with an empty state DB (deployed: {}) prunes the stacks driftd stamped, never one deployed by hand or labelled for another stack', async () => {
    const { planSync } = await import('../../../src/sync/plan.js');
    const { input, target } = await import('../sync/fixtures.js');
    const l = live(
      [
        svc('s1', 'gone_web', { 'io.driftd.stack': 'gone', 'io.driftd.config-hash': 'h' }),
        svc('s2', 'gone_db', { 'io.driftd.stack': 'gone' }),
        svc('s3', 'hand_app', {}),
        // A label copied from elsewhere names another stack: not this one's proof.
        svc('s4', 'spoof_app', { 'io.driftd.stack': 'gone' }),
        svc('s5', '__proto___app', JSON.parse('{"com.docker.stack.namespace": "__proto__"}') as Record<string, string>),
      ],
      [],
    );
    const summaries = summarizeSwarm(l);
    expect(Object.entries(summaries).map(([n, s]) => [n, s.managedByDriftd]).sort()).toEqual([
      ['__proto__', false],
      ['gone', true],
      ['hand', false],
      ['spoof', false],
    ]);
    const liveSummaries = Object.fromEntries(Object.entries(summaries).map(([n, s]) => [n, { ...s, swarm: true }]));
    const keep = stack('keep', [service('app', 'h1')], { engine: 'swarm' });
    const prune = { prune: true };
    // What reconcile hands the plan: this state DB deployed nothing (deployedHere is false for all).
    const { ownedStacks } = await import('../../../src/sync/plan.js');
    const compose = { services: {}, managedByDriftd: true };
    const owned = ownedStacks({ ...liveSummaries, composeElsewhere: compose }, new Set(['keep']), () => false);
    const prunePolicies = Object.fromEntries(['gone', 'hand', 'spoof', '__proto__', 'composeElsewhere'].map((n) => [n, prune]));
    const plan = planSync(input({ targets: [target(keep)], live: owned, deployed: {}, prunePolicies }));
    // A Compose project another driftd deployed on a shared engine stays the other's (its state DB is not this one).
    expect(plan.stacks.filter((p) => p.stack !== 'keep').map((p) => [p.stack, p.action])).toEqual([['gone', 'prune']]);
    expect(ownedStacks({ composeElsewhere: compose }, new Set(), () => true).composeElsewhere?.managedByDriftd).toBe(true);
  });
});

describe('planSync with reportOnly (the leader rule in the plan)', () => {
  it('a Swarm stack on a non-leader is skipped with the reason, not a problem; other stacks plan as usual', async () => {
    const { planSync } = await import('../../../src/sync/plan.js');
    const { input, target } = await import('../sync/fixtures.js');
    const a = stack('edge', [service('web', 'h1')], { engine: 'swarm' });
    const b = stack('plain', [service('app', 'h2')]);
    const plan = planSync(input({ targets: [target(a), target(b)], reportOnly: { edge: 'this manager is not the Swarm leader' } }));
    const edge = plan.stacks.find((p) => p.stack === 'edge')!;
    expect(edge).toMatchObject({ action: 'skip', problem: false });
    expect(edge.reason).toBe('this manager is not the Swarm leader (not deployed)');
    expect(plan.stacks.find((p) => p.stack === 'plain')?.action).toBe('deploy');
  });
});
