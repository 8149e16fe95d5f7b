/**
 * A tag storm: many tags pushed quickly, one webhook each, into a running agent. Runs must coalesce
 * (never two at once, one follow-up at most per run), only the newest revision of what a run sees
 * is applied, nothing fails, and the agent stays up. Issue 13 (fault suite: tag storm with webhooks).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDockerTestScope } from '../support/docker.js';
import { fleetYaml, SyncWorld } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';
import { failedRevisions, history, HttpAgent, waitHealthyWeb, webStack, type HistoryRow, type StatusJson } from './support.js';

describe('tag storm with webhooks', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let world: SyncWorld;
  let agent: HttpAgent;
  let stack: string;

  beforeAll(async () => {
    world = await SyncWorld.create({ labels: env.labels });
    stack = env.project();
    world.repo.writeStack(stack, webStack(TEST_IMAGES.app10, env.labels)).writeFleet(fleetYaml(world.host, [stack]));
    const v1 = await world.release('v1.0.0');
    agent = await HttpAgent.start(world, { extra: 'jitter: 0s\n' });
    await agent.idleAfter(1);
    await waitHealthyWeb(env.docker, stack, v1);
  });

  afterAll(async () => {
    await agent?.stop();
    await world?.close();
  });

  /** Commits one storm revision (a label that changes the service's config) and tags it; returns the commit. */
  async function stormTag(tag: string): Promise<string> {
    world.repo.writeStack(stack, webStack(TEST_IMAGES.app10, { ...env.labels, storm: tag }));
    await world.repo.commit(`storm ${tag}`);
    return world.repo.tag(tag);
  }

  /** Deploy operations since `afterId`, oldest first, and checks that no two overlapped in time. */
  async function deploysAfter(afterId: number): Promise<HistoryRow[]> {
    const rows = (await history(world, stack)).filter((r) => r.id > afterId);
    expect(rows.filter((r) => r.result === 'failed' || r.action === 'rollback')).toEqual([]);
    return rows.filter((r) => r.action === 'deploy');
  }

  async function lastId(): Promise<number> {
    return Math.max(0, ...(await history(world, stack)).map((r) => r.id));
  }

  it('12 tags in one push and 12 webhooks at once: one run applies the newest only, the rest coalesce', async () => {
    const since = await lastId();
    const cyclesBefore = agent.cycles;
    const commits: string[] = [];
    for (let i = 1; i <= 12; i++) commits.push(await stormTag(`v2.0.${i}`));
    await world.repo.push(world.served.path);
    const statuses = await Promise.all(Array.from({ length: 12 }, () => agent.webhook()));
    expect(statuses.every((s) => s === 202)).toBe(true);

    const newest = commits.at(-1)!;
    await waitHealthyWeb(env.docker, stack, newest, 180_000);
    const cycles = await agent.idleAfter(cyclesBefore + 1);
    // One run plus at most one coalesced follow-up for twelve webhooks.
    expect(cycles - cyclesBefore).toBeLessThanOrEqual(2);
    const deploys = await deploysAfter(since);
    expect(deploys.map((d) => [d.revision, d.result])).toEqual([[newest, 'succeeded']]);
    expect(failedRevisions(world, stack)).toEqual([]);
    expect(agent.alive()).toBe(true);
  });

  it('8 tags pushed one by one, a webhook after each: far fewer runs than tags, the newest last, nothing in parallel', async () => {
    const since = await lastId();
    const cyclesBefore = agent.cycles;
    const commits: string[] = [];
    for (let i = 1; i <= 8; i++) {
      commits.push(await stormTag(`v3.0.${i}`));
      await world.repo.push(world.served.path);
      expect(await agent.webhook()).toBe(202);
    }
    const newest = commits.at(-1)!;
    await waitHealthyWeb(env.docker, stack, newest, 180_000);
    const cycles = await agent.idleAfter(cyclesBefore + 1);
    const deploys = await deploysAfter(since);
    // Every run applies the newest tag it sees; runs coalesce, so there are fewer deploys than tags.
    expect(deploys.length).toBeGreaterThanOrEqual(1);
    expect(deploys.length).toBeLessThan(commits.length);
    expect(deploys.length).toBeLessThanOrEqual(cycles - cyclesBefore);
    expect(deploys.at(-1)).toMatchObject({ revision: newest, result: 'succeeded' });
    // In tag order: an older tag is never applied after a newer one.
    const order = deploys.map((d) => commits.indexOf(d.revision!));
    expect(order.every((n) => n >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // Never two runs at once: each deploy starts after the previous one finished (ids are in start order).
    const ops = world.readState((db) =>
      db.prepare("SELECT started_at AS s, finished_at AS f FROM operations WHERE stack = ? AND action = 'deploy' AND id > ? ORDER BY id").all(stack, since) as { s: string; f: string }[],
    );
    for (let i = 1; i < ops.length; i++) expect(Date.parse(ops[i]!.s)).toBeGreaterThanOrEqual(Date.parse(ops[i - 1]!.f));
    const status = await world.json<StatusJson>('status');
    expect(status.stacks).toEqual([expect.objectContaining({ stack, sync: 'Synced', health: 'Healthy', deployedRevision: newest })]);
    expect(agent.alive()).toBe(true);
  });
});
