/**
 * The Git server failing under a RUNNING agent (issue 13, "Git server 500 / hang / truncated
 * pack"; git.test.ts covers `driftd sync`): a request that hangs (the ref listing, or the pack
 * request) and a pack cut short. The agent must stay alive and answer /healthz while its cycle
 * faces the fault, keep the last good revision running (nothing applied, nothing blacklisted), say
 * why in GET /status (lastRun) and in `driftd status`, and deploy the new tag on the first cycle
 * after the server is healthy again. Waits are on conditions with generous ceilings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil, useDockerTestScope } from '../support/docker.js';
import type { SyncWorld } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';
import { failedRevisions, GIT_TIMEOUT_YAML, gitFaultWorld, HttpAgent, liveWeb, waitHealthyWeb, webStack, type StatusJson } from './support.js';

interface AgentStatus {
  lastRun?: { ok: boolean; error?: string };
  stacks: { stack: string; revision?: string | null }[];
}

describe('Git server faults under a running agent', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let world: SyncWorld;
  let agent: HttpAgent | undefined;
  let stack: string;
  let good: string;
  let cliConfig: string;
  let round = 0;

  beforeAll(async () => {
    // A short Git timeout, so a hung request ends the cycle in seconds (the agent's and the CLI's).
    ({ world, stack, v1: good, config: cliConfig } = await gitFaultWorld(env));
    agent = await HttpAgent.start(world, { extra: GIT_TIMEOUT_YAML });
    await pollUntil('the agent to deploy v1.0.0', async () => ((await liveWeb(env.docker, stack))?.revision === good ? true : undefined), { timeoutMs: 240_000, intervalMs: 500 });
    await waitHealthyWeb(env.docker, stack, good, 240_000);
    await agent.idleAfter(1, 240_000);
  }, 600_000);

  afterAll(async () => {
    if (world) world.server.fault = undefined;
    await agent?.stop();
    await world?.close();
  });

  async function agentStatus(): Promise<AgentStatus> {
    const r = await agent!.get('/status');
    expect(r.status).toBe(200);
    return (await r.json()) as AgentStatus;
  }

  /** Runs one webhook cycle while sampling /healthz every 200 ms; every sample must be answered. */
  async function cycleSampled(): Promise<{ samples: number; busySeen: boolean }> {
    let samples = 0;
    let unanswered = 0;
    let busySeen = false;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const h = await agent!.health();
        if (h === undefined) unanswered += 1;
        else {
          samples += 1;
          busySeen ||= h.busy;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    try {
      await agent!.cycle();
    } finally {
      sampling = false;
      await sampler;
    }
    expect(unanswered, '/healthz requests that got no answer while the cycle faced the fault').toBe(0);
    return { samples, busySeen };
  }

  it.each([
    ['the ref listing hangs', { mode: 'hang', service: 'refs' } as const, /timed out/, true],
    ['the pack request hangs', { mode: 'hang', service: 'pack' } as const, /timed out/, true],
    ['the pack is cut short', { mode: 'truncate-pack', service: 'pack' } as const, /the pack the Git server sent for .* was incomplete or corrupt/, false],
  ])('%s: the agent stays up, keeps the last good revision, says why, and recovers', async (_name, fault, reason, hangs) => {
    round += 1;
    world.repo.writeStack(stack, webStack(TEST_IMAGES.app11, env.labels));
    const next = await world.release(`v1.${round}.1`);
    world.server.fault = fault;
    try {
      const { samples, busySeen } = await cycleSampled();
      expect(samples).toBeGreaterThan(0);
      // A hang holds the cycle for the whole Git timeout: /healthz answered while it was busy.
      if (hangs) expect(busySeen).toBe(true);
      expect(agent!.alive()).toBe(true);

      // Nothing applied, nothing blacklisted, the last good revision still runs.
      expect(await liveWeb(env.docker, stack)).toMatchObject({ state: 'running', revision: good });
      expect(failedRevisions(world, stack)).toEqual([]);

      // GET /status says why the last run failed and still names the deployed revision.
      const s = await agentStatus();
      expect(s.lastRun?.ok).toBe(false);
      expect(s.lastRun?.error).toMatch(reason);
      expect(s.lastRun?.error).not.toMatch(/check the repo URL/);
      expect(s.stacks.find((x) => x.stack === stack)?.revision).toBe(good);

      // `driftd status` (its own Git request meets the same fault): Unknown, with the reason.
      const run = await world.run('status', ['--json'], { config: cliConfig });
      expect(run.code).toBe(0);
      const status = JSON.parse(run.stdout) as StatusJson;
      expect(status.stacks).toEqual([expect.objectContaining({ stack, sync: 'Unknown', deployedRevision: good })]);
      expect(status.stacks[0]!.reason).toMatch(reason);
    } finally {
      world.server.fault = undefined;
    }

    // Healthy again: the next cycle deploys the new tag (a backoff retry may run it first).
    await agent!.cycle();
    await pollUntil(`the agent to deploy v1.${round}.1`, async () => ((await liveWeb(env.docker, stack))?.revision === next ? true : undefined), { timeoutMs: 240_000, intervalMs: 500 });
    await waitHealthyWeb(env.docker, stack, next, 240_000);
    await agent!.idleAfter(agent!.cycles, 240_000);
    expect((await agentStatus()).lastRun?.ok).toBe(true);
    expect(failedRevisions(world, stack)).toEqual([]);
    expect(agent!.alive()).toBe(true);

    // Back to the old image under a newer tag: the next case starts from a good revision again.
    world.repo.writeStack(stack, webStack(TEST_IMAGES.app10, env.labels));
    good = await world.release(`v1.${round}.2`);
    await agent!.cycle();
    await pollUntil(`the agent to deploy v1.${round}.2`, async () => ((await liveWeb(env.docker, stack))?.revision === good ? true : undefined), { timeoutMs: 240_000, intervalMs: 500 });
    await waitHealthyWeb(env.docker, stack, good, 240_000);
    await agent!.idleAfter(agent!.cycles, 240_000);
  }, 900_000);
});
