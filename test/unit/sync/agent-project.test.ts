import { describe, expect, it } from 'vitest';
import { summarizeLive } from '../../../src/sync/live-summary.js';
import { planSync } from '../../../src/sync/plan.js';
import { inventory, liveContainer } from '../drift/fixtures.js';
import { input, liveOf, service, stack, target } from './fixtures.js';

// The agent runs in a Compose project of its own (deploy/agent.compose.yaml) marked io.driftd.agent=true.
const agentLabels = { 'com.docker.compose.project': 'driftd', 'com.docker.compose.service': 'driftd', 'io.driftd.agent': 'true' };

describe('the agent never manages its own Compose project', () => {
  it('summarizeLive marks the project whose container carries io.driftd.agent=true, and only when it is "true"', () => {
    const agent = liveContainer({ project: 'driftd', service: 'driftd', name: 'driftd-driftd-1', labels: agentLabels });
    const notAgent = liveContainer({ project: 'other', service: 'x', name: 'other-x-1', labels: { ...agentLabels, 'io.driftd.agent': 'false' } });
    const live = summarizeLive(inventory([agent, notAgent, liveContainer()]));
    expect(live.driftd?.agent).toBe(true);
    expect(live.other?.agent).toBeUndefined();
    expect(live.shop?.agent).toBeUndefined();
  });

  it('a declared stack with the agent project name is skipped as a problem, never deployed', () => {
    const same = stack('driftd', [service('driftd', 'new-hash')]);
    const plan = planSync(input({ targets: [target(same)], live: { driftd: { ...liveOf(stack('driftd', [service('driftd', 'old')])), agent: true } } }));
    expect(plan.stacks).toEqual([expect.objectContaining({ stack: 'driftd', action: 'skip', problem: true, reason: expect.stringMatching(/runs the driftd agent itself/) })]);
  });

  it('is never pruned, even with prune: true and --allow-mass-prune', () => {
    const agent = { ...liveOf(stack('driftd', [service('driftd', 'h')])), agent: true };
    const gone = liveOf(stack('gone', [service('gone', 'h')]));
    const plan = planSync(input({ live: { driftd: agent, gone }, prunePolicies: { driftd: { prune: true }, gone: { prune: true } }, allowMassPrune: true }));
    expect(plan.stacks.map((s) => [s.stack, s.action])).toEqual([['gone', 'prune']]);
  });
});
