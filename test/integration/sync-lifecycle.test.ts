/**
 * The main life of a host, in order, against the real engine, Compose CLI, registry and a
 * loopback Git server: first deploy of three stacks, a config-file change that recreates one
 * container, a broken health check that is rolled back and not retried until --force.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operation } from '../../src/state/schema.js';
import { execFileCapture } from '../../src/util/exec.js';
import { useDockerTestScope } from '../support/docker.js';
import { fleetYaml, projectContainers, SyncWorld, type ProjectContainer } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';

interface SyncJson {
  outcomes: { stack: string; action: string; result: string; message: string; health?: string }[];
}

describe('sync lifecycle: deploy, change one mounted file, failed health gate and rollback', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let world: SyncWorld;
  const [a, b, c] = [env.project(), env.project(), env.project()];
  const stacks = [a, b, c];
  const commits: Record<string, string> = {};
  let before: Record<string, Record<string, ProjectContainer>> = {};

  const writeStacks = (webConf: string, bImage: string): void => {
    world.repo
      .writeStack(a, {
        'compose.yaml': world.composeFile({
          web: { image: TEST_IMAGES.app10, volumes: ['./conf/web.conf:/etc/web.conf:ro'] },
          worker: { image: TEST_IMAGES.worker10 },
        }),
        'conf/web.conf': webConf,
      })
      .writeStack(b, { 'compose.yaml': world.composeFile({ web: { image: bImage } }) })
      .writeStack(c, { 'compose.yaml': world.composeFile({ worker: { image: TEST_IMAGES.worker10 } }) })
      .writeFleet(fleetYaml(world.host, stacks));
  };

  const snapshot = async (): Promise<Record<string, Record<string, ProjectContainer>>> =>
    Object.fromEntries(await Promise.all(stacks.map(async (s) => [s, await projectContainers(env.docker, s)] as const)));

  beforeAll(async () => {
    world = await SyncWorld.create({ labels: env.labels });
  });
  afterAll(async () => {
    await world?.close();
  });

  it('v1.0.0: deploys three stacks, all running, healthy and labelled; drift-check is clean', async () => {
    writeStacks('greeting = hello\n', TEST_IMAGES.app10);
    commits['v1.0.0'] = await world.release('v1.0.0');

    const r = await world.run('sync');
    expect(r.code, r.stdout + r.stderr).toBe(0);

    before = await snapshot();
    for (const s of stacks) {
      const containers = Object.values(before[s]!);
      expect(containers.length).toBeGreaterThan(0);
      for (const ctr of containers) {
        expect(ctr.state).toBe('running');
        if (ctr.service === 'web') expect(ctr.health).toBe('healthy');
        expect(ctr.labels['io.driftd.stack']).toBe(s);
        expect(ctr.labels['io.driftd.revision']).toBe(commits['v1.0.0']);
        expect(ctr.labels['io.driftd.ref']).toBe('v1.0.0');
        expect(ctr.labels['io.driftd.config-hash']).toMatch(/^[0-9a-f]{16,64}$/);
      }
    }
    expect(Object.keys(before[a]!).sort()).toEqual(['web', 'worker']);

    const check = await world.run('drift-check', stacks.flatMap((s) => ['--stack', s]));
    expect(check.code, check.stdout + check.stderr).toBe(0);
    for (const s of stacks) expect(check.stdout).toMatch(new RegExp(`${s}\\s+Synced\\s+Healthy`));
  });

  it('v1.1.0 changes a file only one service mounts: only that container is recreated, Compose runs for that stack only', async () => {
    writeStacks('greeting = bonjour\n', TEST_IMAGES.app10);
    commits['v1.1.0'] = await world.release('v1.1.0');
    world.resetComposeLog();

    const r = await world.run('sync');
    expect(r.code, r.stdout + r.stderr).toBe(0);

    const after = await snapshot();
    expect(after[a]!.web!.id).not.toBe(before[a]!.web!.id);
    expect(after[a]!.web!.health).toBe('healthy');
    expect(after[a]!.web!.labels['io.driftd.revision']).toBe(commits['v1.1.0']);
    const mounted = await execFileCapture('docker', ['exec', after[a]!.web!.id, 'cat', '/etc/web.conf']);
    expect(mounted.stdout).toBe('greeting = bonjour\n');
    expect(after[a]!.worker!.id).toBe(before[a]!.worker!.id);
    expect(after[b]!.web!.id).toBe(before[b]!.web!.id);
    expect(after[c]!.worker!.id).toBe(before[c]!.worker!.id);

    // Compose ran once, for stack a only, never for b or c: web's image is already the registry's
    // current one, so there was nothing to pull (sync-pull.test.ts covers when a pull runs).
    expect(world.projectCalls().map((call) => `${call.project} ${call.command}`)).toEqual([`${a} up`]);
    before = after;
  });

  it('v1.2.0 breaks one stack health check: rolled back to v1.1.0, in history, not retried until --force', async () => {
    writeStacks('greeting = bonjour\n', TEST_IMAGES.appUnhealthy);
    commits['v1.2.0'] = await world.release('v1.2.0');
    const lastId = (await world.json<Operation[]>('history', ['--limit', '1']))[0]!.id;

    const r = await world.json<SyncJson>('sync', [], 2);
    expect(r.outcomes.find((o) => o.stack === b)).toMatchObject({
      result: 'rolled-back',
      health: 'Healthy',
      message: expect.stringMatching(/^health gate failed for v1\.2\.0 .*; rolled back to v1\.1\.0/),
    });
    for (const s of [a, c]) expect(r.outcomes.find((o) => o.stack === s)?.result).toMatch(/^(unchanged|recorded)$/);

    const after = await snapshot();
    expect(after[b]!.web).toMatchObject({ state: 'running', health: 'healthy', image: TEST_IMAGES.app10 });
    expect(after[b]!.web!.labels['io.driftd.revision']).toBe(commits['v1.1.0']);
    expect(after[a]!.web!.id).toBe(before[a]!.web!.id);
    expect(after[c]!.worker!.id).toBe(before[c]!.worker!.id);

    // History, oldest first: the failed attempt, then the rollback.
    const rows = (await world.json<Operation[]>('history', ['--stack', b])).filter((h) => h.id > lastId).reverse();
    expect(rows.map((h) => [h.action, h.result, h.revision])).toEqual([
      ['deploy', 'failed', commits['v1.2.0']],
      ['rollback', 'succeeded', commits['v1.1.0']],
    ]);
    expect(rows[0]!.message).toMatch(/health gate failed for v1\.2\.0/);

    const status = await world.json<{ stacks: { stack: string; sync: string; health: string; deployedRevision?: string }[] }>('status');
    expect(status.stacks.find((s) => s.stack === b)).toMatchObject({ sync: 'OutOfSync', health: 'Healthy', deployedRevision: commits['v1.1.0'] });

    // The next poll leaves the failed revision alone: exit 2, no Compose run.
    world.resetComposeLog();
    const again = await world.json<SyncJson>('sync', [], 2);
    expect(again.outcomes.find((o) => o.stack === b)).toMatchObject({ action: 'skip', message: expect.stringMatching(/failed before/) });
    expect(world.projectCalls()).toEqual([]);
    expect((await projectContainers(env.docker, b)).web!.id).toBe(after[b]!.web!.id);

    // --force retries it (and rolls back again).
    const forced = await world.json<SyncJson>('sync', ['--force'], 2);
    expect(forced.outcomes.find((o) => o.stack === b)).toMatchObject({ action: 'deploy', result: 'rolled-back' });
    expect(world.projectCalls().filter((call) => call.command === 'up').map((call) => call.project)).toEqual([b, b]);
    const forcedRows = (await world.json<Operation[]>('history', ['--stack', b, '--limit', '2'])).reverse();
    expect(forcedRows.map((h) => [h.action, h.result, h.revision, h.command])).toEqual([
      ['deploy', 'failed', commits['v1.2.0'], 'driftd sync --force'],
      ['rollback', 'succeeded', commits['v1.1.0'], 'driftd sync --force'],
    ]);
    expect((await projectContainers(env.docker, b)).web).toMatchObject({ health: 'healthy', image: TEST_IMAGES.app10 });
  });
});
