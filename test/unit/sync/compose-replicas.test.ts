import { describe, expect, it } from 'vitest';
import { summarizeLive } from '../../../src/sync/live-summary.js';
import { planSync } from '../../../src/sync/plan.js';
import { evaluateHealth } from '../../../src/sync/health-gate.js';
import { isComposeReplica } from '../../../src/util/labels.js';
import type { LiveContainer } from '../../../src/live/model.js';
import { inventory, liveContainer } from '../drift/fixtures.js';
import { input, service, stack, target } from './fixtures.js';

// The planner counts only the containers Compose itself acts on. A `compose run` job left behind
// (oneoff=True) or a hand-made container wearing the project's labels without `oneoff` is never
// touched by `compose up --remove-orphans`, so counting it planned a useless apply on every poll.

const DEPLOYED = { 'io.driftd.stack': 'shop', 'io.driftd.config-hash': 'h1', 'io.driftd.revision': 'c2' };

function replica(over: Partial<LiveContainer> = {}, labels: Record<string, string> = {}): LiveContainer {
  const base = liveContainer({ project: 'shop', service: 'web', ...over });
  return { ...base, labels: { ...base.labels, ...DEPLOYED, ...labels } };
}

function withoutOneoff(c: LiveContainer): LiveContainer {
  const labels = Object.fromEntries(Object.entries(c.labels).filter(([k]) => k !== 'com.docker.compose.oneoff'));
  return { ...c, labels };
}

describe('isComposeReplica', () => {
  it.each([
    ['False', true],
    ['false', true],
    ['FALSE', true],
    ['True', false],
    ['true', false],
    ['', false],
    ['no', false],
  ])('oneoff=%j → %s', (value, expected) => {
    expect(isComposeReplica({ 'com.docker.compose.oneoff': value })).toBe(expected);
  });

  it('no oneoff label (a container made by hand) is not a replica Compose manages', () => {
    expect(isComposeReplica({ 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web' })).toBe(false);
  });
});

describe('summarizeLive counts only Compose-managed replicas', () => {
  const job = replica({ name: 'shop-web-run-1a2b', state: 'exited', health: 'none' }, { 'com.docker.compose.oneoff': 'True' });
  const handMade = withoutOneoff(replica({ name: 'shop-web-by-hand', state: 'exited', health: 'none' }));
  const handMadeExtra = withoutOneoff(replica({ service: 'sidecar', name: 'shop-sidecar-by-hand' }));

  it('a leftover `compose run` job, a hand-made replica and a hand-made extra service are not counted', () => {
    const live = summarizeLive(inventory([replica(), job, handMade, handMadeExtra]));
    expect(live.shop?.services).toEqual({ web: expect.objectContaining({ total: 1, running: 1, unhealthy: 0, configHash: 'h1' }) });
  });

  it('so a stack at its target with such containers next to it plans no apply, poll after poll', () => {
    const s = stack('shop', [service('web', 'h1')]);
    const live = summarizeLive(inventory([replica(), job, handMade, handMadeExtra]));
    const deployed = { shop: { revision: 'c2', inputsHash: s.inputsHash, configHashes: { web: 'h1' } } };
    for (let poll = 0; poll < 3; poll++) {
      const plan = planSync(input({ targets: [target(s)], live, deployed }));
      expect(plan.stacks).toEqual([expect.objectContaining({ stack: 'shop', action: 'none', reason: 'in sync' })]);
    }
  });

  it('the same containers counted as replicas would have planned an apply (the case this guards)', () => {
    const s = stack('shop', [service('web', 'h1')]);
    const counted = [replica(), replica({ name: 'shop-web-2' }, { 'com.docker.compose.oneoff': 'False' })];
    const plan = planSync(input({ targets: [target(s)], live: summarizeLive(inventory(counted)), deployed: { shop: { revision: 'c2', inputsHash: s.inputsHash, configHashes: { web: 'h1' } } } }));
    expect(plan.stacks).toEqual([expect.objectContaining({ stack: 'shop', action: 'deploy', reason: 'config changed for web' })]);
  });
});

describe('the health gate judges only Compose-managed replicas', () => {
  const s = stack('shop', [service('web', 'h1')]);
  const exitedJob = replica({ name: 'shop-web-run-9f8e', state: 'exited', health: 'none', exitCode: 1 }, { 'com.docker.compose.oneoff': 'True' });
  const exitedByHand = withoutOneoff(replica({ name: 'shop-web-by-hand', state: 'exited', health: 'none', exitCode: 1 }));

  it('an exited migration job and an exited hand-made look-alike do not fail a healthy release', () => {
    expect(evaluateHealth(s, [replica(), exitedJob, exitedByHand])).toEqual({ ok: true, health: 'Healthy', problems: [], final: false });
  });

  it('they do not stand in for a missing replica either', () => {
    expect(evaluateHealth(s, [exitedJob, exitedByHand])).toMatchObject({ ok: false, health: 'Missing', problems: ['web: 0 of 1 containers exist'] });
  });
});
