/**
 * The agent's no-change cycle decides from the stored verdict (docs/performance.md) on the real
 * engine, Compose and a loopback Git server: one refs request, one listing of the containers and
 * the agent's in-memory desired state — and it still compares desired and live exactly as a full
 * run does, so drift made by hand between two cycles is found and handled at the next one. With the
 * engine's event stream open, a quiet cycle reuses the last listing (no container list at all).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent/daemon.js';
import { DesiredMemo } from '../../src/commands/desired-memo.js';
import { sync, type SyncResult } from '../../src/commands/sync.js';
import { resolveConfig, type ResolvedConfig } from '../../src/config/resolve.js';
import { createDockerClient, DEFAULT_DOCKER_HOST, type DockerConnection } from '../../src/live/docker-client.js';
import { EngineClient } from '../../src/live/engine-client.js';
import { engineEndpointFor } from '../../src/live/engine-endpoint.js';
import { EngineWatch, ListingCache } from '../../src/live/engine-watch.js';
import type { Listing } from '../../src/live/inventory.js';
import { openState } from '../../src/state/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { targetEnv } from '../support/compose-target.js';
import { useDockerTestScope } from '../support/docker.js';
import { fleetYaml, projectContainers, SyncWorld } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';
import { waitFor } from '../support/wait-for.js';

describe('agent: the no-change cycle uses the stored verdict', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let world: SyncWorld;
  const [a, b] = [env.project(), env.project()].sort() as [string, string];
  let config: ResolvedConfig;

  beforeAll(async () => {
    world = await SyncWorld.create({ labels: env.labels });
    world.repo
      .writeStack(a, { 'compose.yaml': world.composeFile({ web: { image: TEST_IMAGES.app10, environment: { GREETING: 'hello' } } }) })
      .writeStack(b, { 'compose.yaml': world.composeFile({ worker: { image: TEST_IMAGES.worker10 } }) })
      .writeFleet(fleetYaml(world.host, [a, b], { [a]: { healthTimeout: '90s' }, [b]: { healthTimeout: '90s' } }));
    await world.release('v1.0.0');
    config = resolveConfig({ flags: { repo: world.served.url, dataDir: world.dataDir, host: world.host }, env: targetEnv() });
  }, 120_000);
  afterAll(async () => {
    await world?.close();
  });

  /** One cycle as the agent runs it (src/agent/daemon.ts): its own state, source and memo, drift compared after. */
  const agentSync = (memo: DesiredMemo, extra: { noCache?: boolean; docker?: DockerConnection; listing?: ListingCache<Listing> } = {}): Promise<SyncResult> => {
    const state = openState(config.dataDir);
    return sync({ config, logger: silentLogger, trigger: 'schedule', actor: 'agent', command: 'test', state, docker: createDockerClient(config), waitForLock: true, desiredMemo: memo, drift: true, ...extra }).finally(() =>
      state.close(),
    );
  };
  /** The real engine client, counting its container lists. */
  const countingClient = (): DockerConnection & { docker: EngineClient & { lists: number } } => {
    const address = config.dockerHost ?? DEFAULT_DOCKER_HOST;
    class Counting extends EngineClient {
      lists = 0;
      override listContainers(options: Parameters<EngineClient['listContainers']>[0]): Promise<unknown> {
        this.lists += 1;
        return super.listContainers(options);
      }
    }
    return { docker: new Counting(engineEndpointFor(address, targetEnv()), address), address };
  };
  const until = async (what: string, ok: () => boolean): Promise<void> => {
    await waitFor(what, () => Promise.resolve(ok() ? true : undefined), 30_000, 20);
  };
  const byStack = (r: SyncResult) => Object.fromEntries((r.drift?.stacks ?? []).filter((s) => s.stack === a || s.stack === b).map((s) => [s.stack, s]));

  it('after the deploy, a cycle with nothing changed is a verdict hit with the same drift result as a full run', async () => {
    const memo = new DesiredMemo();
    const first = await agentSync(memo);
    expect(first.outcomes.map((o) => [o.stack, o.result])).toEqual([
      [a, 'deployed'],
      [b, 'deployed'],
    ]);
    expect(first.verdict).toMatchObject({ hit: false });

    const hit = await agentSync(memo);
    expect(hit.verdict).toEqual({ hit: true });
    expect(hit.yamlParses).toBe(0);
    expect(hit.exitCode).toBe(0);
    expect(hit.outcomes.map((o) => [o.stack, o.result, o.health])).toEqual([
      [a, 'unchanged', 'Healthy'],
      [b, 'unchanged', 'Healthy'],
    ]);
    expect(byStack(hit)[a]).toMatchObject({ sync: 'Synced', health: 'Healthy' });
    expect(byStack(hit)[b]).toMatchObject({ sync: 'Synced', health: 'Healthy' });

    // The same inputs planned in full (verdicts forgotten first): the comparison is the same, finding for finding.
    const full = await agentSync(memo, { noCache: true });
    expect(full.verdict).toBeUndefined();
    expect(full.outcomes.map((o) => o.result)).toEqual(['unchanged', 'unchanged']);
    expect(hit.drift).toEqual(full.drift);
    expect((await agentSync(memo)).verdict).toEqual({ hit: true });
  }, 300_000);

  it('a container stopped by hand between two cycles misses the verdict; the next cycle reports it in its drift', async () => {
    const memo = new DesiredMemo();
    expect((await agentSync(memo)).verdict).toEqual({ hit: true });
    const [worker] = Object.values(await projectContainers(env.docker, b));
    execFileSync('docker', ['stop', '--time', '1', worker!.id]);

    const r = await agentSync(memo);
    expect(r.verdict).toMatchObject({ hit: false, reason: expect.stringContaining(b) as string });
    const drifted = byStack(r)[b];
    // Whatever the plan did about it (selfHeal is off), the comparison after the run saw the stopped container.
    expect(drifted?.health).not.toBe('Healthy');
    expect(byStack(r)[a]).toMatchObject({ sync: 'Synced', health: 'Healthy' });
    execFileSync('docker', ['start', worker!.id]);
  }, 300_000);

  it("with the engine's event stream open, a quiet cycle lists no container; a container stopped by hand is listed and handled at the next cycle", async () => {
    const conn = countingClient();
    const watch = new EngineWatch(conn.docker);
    const listing = new ListingCache<Listing>(watch);
    watch.start();
    try {
      await until('the event stream', () => watch.open);
      const memo = new DesiredMemo();
      const listed = await agentSync(memo, { docker: conn, listing });
      const lists = conn.docker.lists;
      expect(lists).toBeGreaterThan(0);

      const quiet = await agentSync(memo, { docker: conn, listing });
      expect(conn.docker.lists).toBe(lists);
      expect(quiet.verdict).toEqual({ hit: true });
      expect(quiet.drift).toEqual(listed.drift);

      const mark = watch.mark();
      const [worker] = Object.values(await projectContainers(env.docker, b));
      execFileSync('docker', ['stop', '--time', '1', worker!.id]);
      await until('the stop on the event stream', () => !watch.unchangedSince(mark!));
      const r = await agentSync(memo, { docker: conn, listing });
      expect(conn.docker.lists).toBeGreaterThan(lists);
      expect(r.verdict).toMatchObject({ hit: false, reason: expect.stringContaining(b) as string });
      expect(byStack(r)[b]?.health).not.toBe('Healthy');
      execFileSync('docker', ['start', worker!.id]);
    } finally {
      watch.stop();
    }
  }, 300_000);

  it('the running agent reports the verdict of each cycle in lastRun', async () => {
    // A start after the stopped container: redeploy or record as needed, then the verdict decides.
    const conn = countingClient();
    const agent = await startAgent({ config, logger: silentLogger, runAtStart: false, intervalMs: 3_600_000, docker: conn });
    try {
      await agent.trigger('schedule');
      expect(agent.lastRun).toMatchObject({ ok: true, exitCode: 0 });
      await agent.trigger('schedule');
      expect(agent.lastRun).toMatchObject({ ok: true, exitCode: 0, verdict: { hit: true } });
      // The agent holds the engine's event stream: once it is open, quiet cycles list no container.
      let quiet = false;
      for (let i = 0; i < 50 && !quiet; i++) {
        const before = conn.docker.lists;
        await agent.trigger('schedule');
        quiet = conn.docker.lists === before;
        if (!quiet) await new Promise((r) => setTimeout(r, 100));
      }
      expect(quiet).toBe(true);
      expect(agent.lastRun).toMatchObject({ ok: true, exitCode: 0, verdict: { hit: true } });
    } finally {
      await agent.stop();
    }
  }, 300_000);
});
