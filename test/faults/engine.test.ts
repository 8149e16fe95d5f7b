/**
 * Docker itself failing, on a PRIVATE dockerd (test/support/private-dockerd.ts) so that the shared
 * engine never notices: stopped in the middle of `compose up`, and down while driftd starts.
 * Issue 13, findings 1, 4 and 7.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../support/docker-resources.js';
import { hostDocker0Present, linkExists, PrivateDockerd } from '../support/private-dockerd.js';
import { fleetYaml, SyncWorld } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';
import { failedRevisions, history, liveWeb, waitHealthyWeb, webStack, type StatusJson, type SyncJson } from './support.js';

describe('Docker stopped and restarted under driftd (private engine)', () => {
  let engine: PrivateDockerd;
  let world: SyncWorld;
  const stack = 'faultweb';

  beforeAll(async () => {
    engine = await PrivateDockerd.start();
    await engine.pull([TEST_IMAGES.app10, TEST_IMAGES.app11]);
    world = await SyncWorld.create({ dockerHost: engine.host });
  });

  afterAll(async () => {
    await world?.close();
    await engine?.close();
    // The private engine leaves nothing behind and never touches the host's default bridge.
    expect(await hostDocker0Present()).toBe(true);
    if (engine) expect(await linkExists(engine.bridge)).toBe(false);
  });

  it('dockerd stopped mid-apply: the revision is not blacklisted, status says Unknown, and the next sync gates and deploys it', async () => {
    world.repo.writeStack(stack, webStack(TEST_IMAGES.app10)).writeFleet(fleetYaml(world.host, [stack]));
    const v1 = await world.release('v1.0.0');
    expect((await world.run('sync')).code).toBe(0);
    await waitHealthyWeb(engine.docker, stack, v1);

    world.repo.writeStack(stack, webStack(TEST_IMAGES.app11));
    const v2 = await world.release('v2.0.0');
    world.resetComposeLog();
    const run = world.start('sync', ['--json']);
    await pollUntil('compose up of v2 to start', () => Promise.resolve(world.projectCalls().find((c) => c.project === stack && c.command === 'up')), {
      timeoutMs: 120_000,
      intervalMs: 20,
    });
    await engine.stop('SIGTERM');
    const broken = await run.done;
    expect(broken.code, broken.stderr).not.toBe(0);

    // While the engine is down: nothing claims Synced/Healthy.
    const down = await world.json<StatusJson>('status');
    expect(down.dockerError).toMatch(/cannot reach Docker/);
    expect(down.stacks).toEqual([expect.objectContaining({ stack, sync: 'Unknown', health: 'Unknown' })]);
    const refused = await world.run('sync');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cannot reach Docker/);

    // A host fault is not a failure of v2: it is not in failed_revisions, and history says why.
    expect(failedRevisions(world, stack)).toEqual([]);
    const rows = await history(world, stack);
    const attempt = rows.find((r) => r.action === 'deploy' && r.revision === v2);
    expect(attempt?.result).toBe('failed');
    expect(attempt?.message).toMatch(/host fault during the deploy of v2\.0\.0 .*not held against the revision, retried at the next run/);
    expect(rows.some((r) => r.result === 'abandoned')).toBe(false);

    await engine.start();
    // The next sync must not record v2 without a health check (labels may already say v2 while the container is down).
    const again = await world.json<SyncJson>('sync');
    expect(again.outcomes).toEqual([expect.objectContaining({ stack, result: 'deployed', health: 'Healthy', revision: v2 })]);
    await waitHealthyWeb(engine.docker, stack, v2);
    const status = await world.json<StatusJson>('status');
    expect(status.stacks).toEqual([expect.objectContaining({ stack, sync: 'Synced', health: 'Healthy', deployedRevision: v2 })]);
    expect(failedRevisions(world, stack)).toEqual([]);
  });

  it('a container a crash left created is started and gated: sync --force never says "unchanged" while it is down', async () => {
    const web = await liveWeb(engine.docker, stack);
    expect(web?.state).toBe('running');
    // What a crash between create and start leaves: the container of the recorded revision, not running.
    await engine.docker.getContainer(web!.id).stop({ t: 1 });
    const plain = await world.json<SyncJson>('sync', [], 2);
    expect(plain.outcomes).toEqual([expect.objectContaining({ stack, result: 'unchanged', health: 'Degraded' })]);
    expect(plain.outcomes[0]!.message).toMatch(/selfHeal off: reported only/);
    const forced = await world.json<SyncJson>('sync', ['--force']);
    expect(forced.outcomes).toEqual([expect.objectContaining({ stack, result: 'deployed', health: 'Healthy' })]);
    expect((await liveWeb(engine.docker, stack))?.state).toBe('running');
  });

  it('dockerd restarted in the middle of the agent’s apply: a host fault, retried by the agent itself until the revision runs', async () => {
    world.repo.writeStack(stack, webStack(TEST_IMAGES.app10));
    const v3 = await world.release('v3.0.0');
    world.resetComposeLog();
    const agent = world.start('agent', ['--interval', '20s']);
    try {
      await pollUntil('the agent’s compose up of v3 to start', () => Promise.resolve(world.projectCalls().find((c) => c.project === stack && c.command === 'up')), {
        timeoutMs: 120_000,
        intervalMs: 20,
      });
      await engine.stop('SIGKILL');
      await engine.start();
      // No one runs sync by hand: the agent's retry (or its next tick) brings v3 up and gates it.
      await waitHealthyWeb(engine.docker, stack, v3, 240_000);
      await pollUntil(
        'the agent to record v3 as Synced/Healthy',
        async () => {
          const s = await world.json<StatusJson>('status');
          return s.stacks[0]?.sync === 'Synced' && s.stacks[0].health === 'Healthy' && s.stacks[0].deployedRevision === v3 ? s : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 1000 },
      );
      expect(agent.child.exitCode).toBeNull();
      expect(failedRevisions(world, stack)).toEqual([]);
      const rows = (await history(world, stack)).filter((r) => r.revision === v3);
      expect(rows.some((r) => r.result === 'abandoned')).toBe(false);
      expect(rows.at(-1)?.result).toMatch(/^(succeeded|recorded)$/);
    } finally {
      agent.child.kill('SIGTERM');
      await agent.done;
    }
  });

  it('engine down when the agent starts: the agent stays up, status says Unknown, and it recovers on a later cycle', async () => {
    await engine.stop('SIGTERM');
    const agent = world.start('agent', ['--interval', '8s']);
    try {
      await pollUntil(
        'the agent to record Docker as unreachable',
        async () => {
          const s = await world.json<StatusJson>('status');
          return s.stacks[0]?.sync === 'Unknown' && /cannot reach Docker/.test(s.stacks[0].reason ?? '') ? s : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      expect(agent.child.exitCode).toBeNull();
      await engine.start();
      await pollUntil(
        'the agent to reconcile after the engine came back',
        async () => {
          const s = await world.json<StatusJson>('status');
          return s.stacks[0]?.sync === 'Synced' && s.stacks[0].health === 'Healthy' ? s : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 1000 },
      );
      expect(agent.child.exitCode).toBeNull();
      expect((await liveWeb(engine.docker, stack))?.state).toBe('running');
    } finally {
      agent.child.kill('SIGTERM');
      await agent.done;
    }
  });
});
