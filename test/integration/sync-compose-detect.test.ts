/**
 * Compose CLI detection across `driftd sync` processes, with the real Compose CLI behind the
 * harness's logging wrappers: the first sync that needs Compose detects it and remembers it in
 * the data dir; the next one runs no `version` probe at all, and a sync with nothing to do
 * never detects.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDockerTestScope } from '../support/docker.js';
import { fleetYaml, SyncWorld } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';

describe('sync remembers the detected Compose CLI in the data dir', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let world: SyncWorld;
  const stack = env.project();

  const release = (tag: string, mode: string): Promise<string> => {
    world.repo
      .writeStack(stack, { 'compose.yaml': world.composeFile({ worker: { image: TEST_IMAGES.worker10, environment: { MODE: mode } } }) })
      .writeFleet(fleetYaml(world.host, [stack]));
    return world.release(tag);
  };
  const versionProbes = (): number => world.composeCalls().filter((c) => c.command === 'version').length;
  const projectCommands = (): string[] => world.projectCalls().map((c) => `${c.project} ${c.command}`);

  beforeAll(async () => {
    world = await SyncWorld.create({ labels: env.labels });
  });
  afterAll(async () => {
    await world?.close();
  });

  it('the first sync probes once (no plugin probe without a plugin file) and writes <data-dir>/cache/compose-cli.json', async () => {
    await release('v1.0.0', 'one');
    const r = await world.run('sync');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(versionProbes()).toBe(1);
    expect(projectCommands()).toContain(`${stack} up`);
    const cached = JSON.parse(readFileSync(path.join(world.dataDir, 'cache', 'compose-cli.json'), 'utf8')) as { name: string; version: string };
    expect(cached.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('the next sync that changes a stack runs Compose for it with no `version` probe', async () => {
    await release('v1.1.0', 'two');
    world.resetComposeLog();
    const r = await world.run('sync');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(versionProbes()).toBe(0);
    // The worker image is already the registry's current one: nothing to pull (sync-pull.test.ts).
    expect(projectCommands()).toEqual([`${stack} up`]);
  });

  it('a sync with nothing to do runs no Compose at all', async () => {
    world.resetComposeLog();
    const r = await world.run('sync');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(world.composeCalls()).toEqual([]);
  });
});
