/**
 * Containers next to a deployed stack that Compose itself never acts on: a `compose run` job left
 * behind (oneoff=True) and a container made by hand with the project's labels but no oneoff label.
 * `compose up --remove-orphans` leaves both alone, so a plan that counted them as replicas
 * redeployed the stack on every poll (and notified each time). Real engine, real Compose.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDockerTestScope } from '../support/docker.js';
import { fleetYaml, SyncWorld } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';

interface SyncJson {
  outcomes: { stack: string; action: string; result: string }[];
}

describe('sync next to containers Compose does not manage', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let world: SyncWorld;
  const stack = env.project();

  beforeAll(async () => {
    world = await SyncWorld.create({ labels: env.labels });
    world.repo.writeStack(stack, { 'compose.yaml': world.composeFile({ worker: { image: TEST_IMAGES.worker10 } }) }).writeFleet(fleetYaml(world.host, [stack]));
    await world.release('v1.0.0');
  });
  afterAll(async () => {
    await world?.close();
  });

  it('deploys, then a leftover job and a hand-made container plan no apply, poll after poll', async () => {
    const first = await world.json<SyncJson>('sync');
    expect(first.outcomes).toEqual([expect.objectContaining({ stack, result: 'deployed' })]);

    const like = (await env.docker.listContainers({ filters: { label: [`com.docker.compose.project=${stack}`] } }))[0]!;
    const projectLabels = Object.fromEntries(Object.entries(like.Labels).filter(([k]) => k.startsWith('com.docker.compose.') || k.startsWith('io.driftd.')));
    const make = async (name: string, labels: Record<string, string>): Promise<void> => {
      await env.docker.createContainer({ name, Image: TEST_IMAGES.worker10, Labels: { ...labels, ...env.labels } });
    };
    // What `docker compose run worker` leaves without --rm, and a hand copy without the oneoff label.
    await make(`${stack}-worker-run-0a1b2c`, { ...projectLabels, 'com.docker.compose.oneoff': 'True' });
    const { ['com.docker.compose.oneoff']: _dropped, ...noOneoff } = projectLabels;
    await make(`${stack}-worker-by-hand`, noOneoff);

    for (let poll = 0; poll < 2; poll++) {
      world.resetComposeLog();
      const again = await world.json<SyncJson>('sync', ['--no-cache']);
      expect(again.outcomes).toEqual([expect.objectContaining({ stack, action: 'none', result: 'unchanged' })]);
      expect(world.projectCalls()).toEqual([]);
    }
    // drift-check still shows the hand-made container; the job is ignored as a job.
    const check = await world.run('drift-check', ['--stack', stack, '--json']);
    expect(check.stdout).toContain('by-hand');
    expect(check.stdout).not.toContain('run-0a1b2c');
  });
});
