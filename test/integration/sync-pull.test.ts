/**
 * Which images a deploy pulls, against the real engine, Compose CLI and registry: an image the
 * host lacks is pulled; a changed service whose tag still names the image the host has is not;
 * a tag that moved in the registry is pulled and runs; `pull_policy: missing` keeps what is here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryTag, uniqueTag, useDockerTestScope } from '../support/docker.js';
import { fleetYaml, projectContainers, SyncWorld } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';

describe('sync pulls only what can bring something new', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let world: SyncWorld;
  const stack = env.project();
  let image = '';
  let round = 0;

  const imageId = async (ref: string): Promise<string> => (await env.docker.getImage(ref).inspect()).Id;
  const release = async (pullPolicy?: string): Promise<void> => {
    round += 1;
    world.repo.writeStack(stack, {
      'compose.yaml': world.composeFile({ web: { image, environment: { ROUND: String(round) }, ...(pullPolicy ? { pullPolicy } : {}) } }),
    });
    await world.release(`v1.0.${round}`);
    world.resetComposeLog();
  };
  const commands = (): string[] => world.projectCalls().map((c) => `${c.command} ${c.code}`);
  const runningImage = async (): Promise<string> => {
    const web = (await projectContainers(env.docker, stack)).web;
    return (await env.docker.getContainer(web!.id).inspect()).Image;
  };
  const historyOutput = (): string =>
    world.readState((db) => (db.prepare("SELECT output FROM operations WHERE action = 'deploy' ORDER BY id DESC LIMIT 1").get() as { output: string }).output);

  beforeAll(async () => {
    world = await SyncWorld.create({ labels: env.labels });
    world.repo.writeFleet(fleetYaml(world.host, [stack]));
    // A tag of our own in the registry, never on this engine yet.
    image = await registryTag(TEST_IMAGES.app10, uniqueTag());
  });
  afterAll(async () => {
    await world?.close();
    await env.docker
      .getImage(image)
      .remove()
      .catch(() => undefined);
  });

  it('an image the host does not have: pulled, then up', async () => {
    await release();
    const r = await world.run('sync');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(commands()).toEqual(['pull 0', 'up 0']);
    expect(historyOutput()).toMatch(/web \(.*\): pull: not on this host/);
  });

  it('a changed service whose tag still names the local image: no pull, one Compose run', async () => {
    await release();
    const r = await world.run('sync');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(commands()).toEqual(['up 0']);
    expect(historyOutput()).toMatch(/web \(.*\): no pull: the local image is the registry's current one/);
    expect(await runningImage()).toBe(await imageId(TEST_IMAGES.app10));
  });

  it('the tag moved in the registry: pulled, and the new image runs', async () => {
    await registryTag(TEST_IMAGES.app11, image.split(':').pop()!);
    await release();
    const r = await world.run('sync');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(commands()).toEqual(['pull 0', 'up 0']);
    expect(historyOutput()).toMatch(/web \(.*\): pull: the registry has a newer image for the tag/);
    expect(await runningImage()).toBe(await imageId(TEST_IMAGES.app11));
  });

  it('pull_policy: if_not_present keeps the local image even when the tag moved', async () => {
    await registryTag(TEST_IMAGES.app10, image.split(':').pop()!);
    await release('if_not_present'); // Compose v1 knows this spelling of "missing"
    const r = await world.run('sync');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(commands()).toEqual(['up 0']);
    expect(historyOutput()).toMatch(/no pull: pull_policy: if_not_present and present on this host/);
    expect(await runningImage()).toBe(await imageId(TEST_IMAGES.app11));
  });
});
