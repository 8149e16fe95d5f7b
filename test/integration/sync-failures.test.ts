/**
 * What `driftd sync` does when things go wrong, against the real engine, Compose CLI, registry
 * and a loopback Git server: an image missing from the registry, invalid Compose in one stack,
 * a dry run, and the Git server going away.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDockerTestScope } from '../support/docker.js';
import { fleetYaml, projectContainers, SyncWorld, type ProjectContainer } from '../support/sync-harness.js';
import { REGISTRY_HOST, TEST_IMAGES } from '../support/test-env.js';

interface SyncJson {
  revision: { commit: string; ref?: string };
  plan: { stack: string; action: string; reason: string; changedServices: string[] }[];
  outcomes: { stack: string; action: string; result: string; message: string; health?: string }[];
  exitCode: number;
}

const MISSING_IMAGE = `${REGISTRY_HOST}/driftd/app:does-not-exist`;

describe('sync under failure', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let world: SyncWorld;
  const [x, y] = [env.project(), env.project()];

  const outcome = (r: SyncJson, stack: string) => r.outcomes.find((o) => o.stack === stack);
  const live = async (): Promise<Record<string, Record<string, ProjectContainer>>> => ({
    [x]: await projectContainers(env.docker, x),
    [y]: await projectContainers(env.docker, y),
  });
  const historyCount = (): number => world.readState((db) => (db.prepare('SELECT count(*) AS n FROM operations').get() as { n: number }).n);

  beforeAll(async () => {
    world = await SyncWorld.create({ labels: env.labels });
    world.repo
      .writeStack(x, { 'compose.yaml': world.composeFile({ web: { image: TEST_IMAGES.app10 } }) })
      .writeStack(y, { 'compose.yaml': world.composeFile({ worker: { image: TEST_IMAGES.worker10, environment: { LEVEL: '1' } } }) })
      .writeFleet(fleetYaml(world.host, [x, y]));
    await world.release('v1.0.0');
    const first = await world.run('sync');
    if (first.code !== 0) throw new Error(`first sync failed: ${first.stdout}${first.stderr}`);
  });
  afterAll(async () => {
    await world?.close();
  });

  it('an image missing from the registry: the pull fails, the running stack is untouched, exit 2', async () => {
    const before = await live();
    world.repo.writeStack(x, { 'compose.yaml': world.composeFile({ web: { image: MISSING_IMAGE } }) });
    await world.release('v1.1.0');
    world.resetComposeLog();

    const r = await world.json<SyncJson>('sync', [], 2);
    expect(outcome(r, x)).toMatchObject({ result: 'failed', message: expect.stringMatching(/compose pull failed for stack .*does-not-exist/) });
    expect(outcome(r, y)?.result).toMatch(/^(unchanged|recorded)$/);
    // Compose pulled and stopped there: no `up` ran, so no container was touched.
    // (A failed pull exits 1 in Compose v1 and 18 in Compose v2: any non-zero code is the failure.)
    expect(world.projectCalls().map((c) => `${c.project} ${c.command} ${c.code === 0 ? 'ok' : 'failed'}`)).toEqual([`${x} pull failed`]);
    expect(world.projectCalls()[0]?.code).toBeGreaterThan(0);

    const after = await live();
    expect(after[x]!.web!.id).toBe(before[x]!.web!.id);
    expect(after[x]!.web!.image).toBe(TEST_IMAGES.app10);
    expect(after[x]!.web!.state).toBe('running');
    expect(after[y]!.worker!.id).toBe(before[y]!.worker!.id);
  });

  it('invalid YAML in one stack fails that stack alone, naming file and line; the others deploy; exit 2', async () => {
    const before = await live();
    world.repo
      .writeStack(x, { 'compose.yaml': `${world.composeFile({ web: { image: TEST_IMAGES.app10 } })}    environment: [oops\n` })
      .writeStack(y, { 'compose.yaml': world.composeFile({ worker: { image: TEST_IMAGES.worker10, environment: { LEVEL: '2' } } }) });
    await world.release('v1.2.0');
    world.resetComposeLog();

    const r = await world.json<SyncJson>('sync', [], 2);
    expect(outcome(r, x)).toMatchObject({ result: 'skipped', message: expect.stringMatching(new RegExp(`stacks/${x}/compose\\.yaml:\\d+: invalid YAML`)) });
    expect(outcome(r, y)).toMatchObject({ action: 'deploy', result: 'deployed' });
    expect(new Set(world.projectCalls().map((c) => c.project))).toEqual(new Set([y]));

    const after = await live();
    expect(after[x]!.web!.id).toBe(before[x]!.web!.id);
    expect(after[y]!.worker!.id).not.toBe(before[y]!.worker!.id);
    expect(after[y]!.worker!.labels['io.driftd.ref']).toBe('v1.2.0');
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    const before = await live();
    world.repo.writeStack(x, { 'compose.yaml': world.composeFile({ web: { image: TEST_IMAGES.app11 } }) });
    await world.release('v1.3.0');
    world.resetComposeLog();
    const operations = historyCount();
    const dbBefore = world.readState((db) => db.prepare('SELECT * FROM deployments ORDER BY id').all());

    const r = await world.run('sync', ['--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/plan for revision v1\.3\.0 \([0-9a-f]{12}\) \(dry run: nothing changed\)/);
    expect(r.stdout).toMatch(new RegExp(`${x}\\s+deploy\\s+web\\s+config changed for web`));
    expect(r.stdout).toMatch(new RegExp(`${y}\\s+none\\s+-\\s+in sync`));

    expect(world.projectCalls()).toEqual([]);
    expect(historyCount()).toBe(operations);
    expect(world.readState((db) => db.prepare('SELECT * FROM deployments ORDER BY id').all())).toEqual(dbBefore);
    expect(await live()).toEqual(before);
  });

  it('Git server down: exit 1 with one clear sentence, nothing changed, status Unknown with the reason', async () => {
    const before = await live();
    world.resetComposeLog();
    const operations = historyCount();
    await world.server.stop();
    try {
      const r = await world.run('sync');
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      // One line, one sentence: what failed, where, and what happens next.
      expect(r.stderr).toMatch(/^driftd: cannot reach the Git server for http:\/\/127\.0\.0\.1:\d+\/desired\.git \(connection refused\);[^\n.]*\n$/);
      const stored = world.readState((db) => db.prepare('SELECT stack, sync, reason FROM stack_status ORDER BY stack').all());
      expect(stored).toEqual(
        [x, y].sort().map((stack) => ({ stack, sync: 'Unknown', reason: expect.stringMatching(/^cannot reach the Git server/) })),
      );

      expect(world.projectCalls()).toEqual([]);
      expect(historyCount()).toBe(operations);
      expect(await live()).toEqual(before);

      const status = await world.json<{ targetError?: string; stacks: { stack: string; sync: string; reason?: string }[] }>('status');
      for (const s of [x, y]) {
        const row = status.stacks.find((st) => st.stack === s);
        expect(row).toMatchObject({ sync: 'Unknown', reason: expect.stringMatching(/^cannot reach the Git server/) });
      }
    } finally {
      await world.server.start();
    }
  });
});
