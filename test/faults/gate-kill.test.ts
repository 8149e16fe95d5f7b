/**
 * SIGKILL of the agent during the health gate (after `compose up` ended, before the verdict), then a
 * restart. The DB must tell the truth at each step: while the gate runs and after the kill the stack
 * is `Progressing`/`Unknown`, never `Synced`; after the restart the interrupted apply is verified —
 * an unhealthy revision gets a `failed` row with the gate's reason AND the rollback (docs/design.md
 * §7), a healthy one is recorded as deployed. Issue 13, findings 6 and 7.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil, useDockerTestScope } from '../support/docker.js';
import { fleetYaml, SyncWorld, type ComposeCall } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';
import { failedRevisions, history, HttpAgent, liveWeb, waitHealthyWeb, webStack, type StatusJson } from './support.js';

describe('SIGKILL of the agent during the health gate', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let world: SyncWorld;
  let stack: string;
  let v1: string;
  const agents: HttpAgent[] = [];

  beforeAll(async () => {
    world = await SyncWorld.create({ labels: env.labels });
    stack = env.project();
    world.repo.writeStack(stack, webStack(TEST_IMAGES.app10, env.labels)).writeFleet(fleetYaml(world.host, [stack]));
    v1 = await world.release('v1.0.0');
    expect((await world.run('sync')).code).toBe(0);
    await waitHealthyWeb(env.docker, stack, v1);
  });

  afterAll(async () => {
    for (const a of agents) await a.stop('SIGKILL');
    await world?.close();
  });

  /** Starts an agent, waits until its `compose up` of the stack has ended (the gate runs now) and SIGKILLs it. */
  async function killDuringGate(revision: string): Promise<void> {
    world.resetComposeLog();
    const agent = await HttpAgent.start(world);
    agents.push(agent);
    await pollUntil(
      'the agent’s compose up to end (the health gate starts)',
      () => Promise.resolve(world.projectCalls().find((c): c is ComposeCall & { endNs: bigint } => c.project === stack && c.command === 'up' && c.endNs !== undefined)),
      { timeoutMs: 180_000, intervalMs: 20 },
    );
    // In flight: the DB says so, never Synced.
    const during = await world.json<StatusJson>('status');
    expect(during.stacks).toEqual([expect.objectContaining({ stack, sync: 'Unknown', health: 'Progressing' })]);
    expect(during.stacks[0]!.reason).toMatch(/Compose and the health gate are running/);
    await agent.stop('SIGKILL');
    expect(agent.run.child.signalCode).toBe('SIGKILL');
    const open = world.readState((db) => db.prepare('SELECT revision FROM journal WHERE ended_at IS NULL').all());
    expect(open).toEqual([{ revision }]);
  }

  it('unhealthy revision: restart → failed row with the gate’s reason, rollback to v1, v1 healthy', async () => {
    world.repo.writeStack(stack, webStack(TEST_IMAGES.appUnhealthy, env.labels));
    const bad = await world.release('v2.0.0');
    await killDuringGate(bad);
    // After the kill, before any restart: still not Synced (the gate never decided).
    const after = await world.json<StatusJson>('status');
    expect(after.stacks[0]!.sync).not.toBe('Synced');

    const agent = await HttpAgent.start(world);
    agents.push(agent);
    await agent.idleAfter(1, 300_000);
    await waitHealthyWeb(env.docker, stack, v1, 180_000);
    expect(agent.alive()).toBe(true);

    const rows = await history(world, stack);
    const killed = rows.find((r) => r.action === 'deploy' && r.revision === bad && r.result === 'abandoned');
    const failed = rows.find((r) => r.revision === bad && r.result === 'failed');
    const rollback = rows.find((r) => r.action === 'rollback' && r.result === 'succeeded');
    expect(killed).toBeDefined();
    // The restart re-runs the gate on what the killed run left (labels match, the DB never recorded
    // v2): its verdict is in history as a failure of v2, with the gate's reason.
    expect(failed?.message).toMatch(/health gate failed.* v2\.0\.0 .*web.*unhealthy/);
    expect(rollback?.revision).toBe(v1);
    expect(failed!.id).toBeGreaterThan(killed!.id);
    expect(rollback!.id).toBeGreaterThan(failed!.id);
    // A failure OF the revision: it is held back (unlike a host fault).
    expect(failedRevisions(world, stack)).toEqual([bad]);
    expect(world.readState((db) => db.prepare('SELECT count(*) AS n FROM journal WHERE ended_at IS NULL').get())).toEqual({ n: 0 });

    const status = await world.json<StatusJson>('status', [], 0);
    expect(status.stacks).toEqual([expect.objectContaining({ stack, health: 'Healthy', deployedRevision: v1 })]);
    expect(await liveWeb(env.docker, stack)).toMatchObject({ state: 'running', health: 'healthy', revision: v1 });
    await agent.stop();
  });

  it('healthy revision: restart → the interrupted apply is verified and recorded, Synced/Healthy', async () => {
    // A first health check 6 s after start: a wide window between `up` and the verdict to kill in.
    const slowCheck = {
      'compose.yaml': `${webStack(TEST_IMAGES.app11, env.labels)['compose.yaml']}    healthcheck:\n      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]\n      interval: 6s\n      retries: 3\n`,
    };
    world.repo.writeStack(stack, slowCheck);
    const good = await world.release('v3.0.0');
    await killDuringGate(good);

    const agent = await HttpAgent.start(world);
    agents.push(agent);
    await agent.idleAfter(1, 300_000);
    await waitHealthyWeb(env.docker, stack, good, 180_000);
    const rows = await history(world, stack);
    expect(rows.find((r) => r.action === 'recover' && r.revision === good)).toBeDefined();
    expect(rows.filter((r) => r.revision === good && r.result === 'failed')).toEqual([]);
    expect(failedRevisions(world, stack)).toEqual([expect.any(String)]); // v2 from the first case only
    const status = await world.json<StatusJson>('status');
    expect(status.stacks).toEqual([expect.objectContaining({ stack, sync: 'Synced', health: 'Healthy', deployedRevision: good })]);
    await agent.stop();
  });
});
