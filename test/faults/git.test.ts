/**
 * The Git server failing: HTTP 500, a hung request, a pack cut short. Nothing is applied or
 * removed, the running stack keeps running, status says Unknown with the reason, and the next
 * run after the fault clears deploys the new tag. Issue 13, finding 9.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDockerTestScope } from '../support/docker.js';
import type { SyncWorld } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';
import { failedRevisions, gitFaultWorld, liveWeb, waitHealthyWeb, webStack, type StatusJson, type SyncJson } from './support.js';

describe('Git server faults', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let world: SyncWorld;
  let stack: string;
  let v1: string;
  let config: string;
  /** Each case releases v1.<n>.1 (the new tag) and v1.<n>.2 (back to v1): always newer than the last. */
  let round = 0;

  beforeAll(async () => {
    ({ world, stack, v1, config } = await gitFaultWorld(env));
    expect((await world.run('sync', [], { config })).code).toBe(0);
    await waitHealthyWeb(env.docker, stack, v1);
  });

  afterAll(async () => {
    world.server.fault = undefined;
    await world?.close();
  });

  async function assertUntouched(reason: RegExp): Promise<void> {
    expect((await liveWeb(env.docker, stack))).toMatchObject({ state: 'running', revision: v1 });
    expect(failedRevisions(world, stack)).toEqual([]);
    const run = await world.run('status', ['--json'], { config });
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout) as StatusJson;
    expect(status.stacks).toEqual([expect.objectContaining({ stack, sync: 'Unknown', deployedRevision: v1 })]);
    expect(status.stacks[0]!.reason).toMatch(reason);
  }

  it.each([
    ['HTTP 500 on the ref listing', { mode: 'status500', service: 'refs' } as const, /HTTP 500/],
    ['a hung request', { mode: 'hang', service: 'refs' } as const, /timed out/],
    ['a pack cut short', { mode: 'truncate-pack', service: 'pack' } as const, /the pack the Git server sent for .* was incomplete or corrupt/],
    // isomorphic-git alone takes an answer cut on a line boundary before its pack data for an empty
    // fetch; under load git's progress lines made the half-way cut above land there too (a CI flake).
    ['an answer cut before its pack data', { mode: 'truncate-pack', service: 'pack', bytes: 'before-pack' } as const, /the pack the Git server sent for .* was incomplete or corrupt/],
  ])('%s: nothing applied, status Unknown with the reason; the run after the fault deploys', async (_name, fault, reason) => {
    world.repo.writeStack(stack, webStack(TEST_IMAGES.app11, env.labels));
    round += 1;
    const next = await world.release(`v1.${round}.1`);
    world.server.fault = fault;
    try {
      const r = await world.run('sync', [], { config });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(reason);
      expect(r.stderr).not.toMatch(/check the repo URL/);
      // status makes its own refs request: let it see the same fault
      await assertUntouched(reason);
    } finally {
      world.server.fault = undefined;
    }
    const ok = await world.json<SyncJson>('sync', [], 0);
    expect(ok.outcomes).toEqual([expect.objectContaining({ stack, result: 'deployed', revision: next })]);
    // Back to v1 for the next case.
    world.repo.writeStack(stack, webStack(TEST_IMAGES.app10, env.labels));
    v1 = await world.release(`v1.${round}.2`);
    expect((await world.run('sync')).code).toBe(0);
  });
});
