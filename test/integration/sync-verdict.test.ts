/**
 * The persistent no-change verdict on the real engine, Compose and a loopback Git server
 * (docs/performance.md): a no-change `driftd sync` decides from the state DB and one container
 * list — no Compose run, no YAML parse — and a change in each class of input (a stack's folder,
 * its fleet policy, its host env file, the live containers, a hostile DB row) makes exactly the
 * stacks it concerns be loaded again.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openState } from '../../src/state/index.js';
import { useDockerTestScope } from '../support/docker.js';
import { fleetYaml, projectContainers, SyncWorld } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';

interface SyncJson {
  outcomes: { stack: string; action: string; result: string; health?: string }[];
  exitCode: number;
  verdict?: { hit: boolean; reason?: string; changed?: string[]; loaded?: string[] };
  yamlParses: number;
}

describe('sync: the stored no-change verdict', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let world: SyncWorld;
  const [a, b, c] = [env.project(), env.project(), env.project()].sort();
  const stacks = [a!, b!, c!];
  let policies: Record<string, Record<string, string | boolean>> = {};
  let fullParses = 0;

  const writeAll = (greeting: string): void => {
    world.repo
      .writeStack(a!, { 'compose.yaml': world.composeFile({ web: { image: TEST_IMAGES.app10, environment: { GREETING: greeting } } }) })
      // b reads a variable from its host env file.
      .writeStack(b!, { 'compose.yaml': world.composeFile({ web: { image: TEST_IMAGES.app10, environment: { MODE: '${MODE:-plain}' } } }) })
      .writeStack(c!, { 'compose.yaml': world.composeFile({ worker: { image: TEST_IMAGES.worker10 } }) })
      .writeFleet(fleetYaml(world.host, stacks, policies));
  };
  const sync = async (args: string[] = [], code = 0): Promise<SyncJson> => world.json<SyncJson>('sync', args, code);
  const composeRunsFor = (): string[] => [...new Set(world.projectCalls().map((call) => call.project ?? ''))].sort();

  beforeAll(async () => {
    world = await SyncWorld.create({ labels: env.labels });
    writeAll('hello');
    await world.release('v1.0.0');
  });
  afterAll(async () => {
    await world?.close();
  });

  it('the first sync deploys and stores verdicts; the next one runs no Compose and parses no YAML', async () => {
    const first = await sync();
    expect(first.outcomes.map((o) => o.result)).toEqual(['deployed', 'deployed', 'deployed']);
    expect(first.verdict).toMatchObject({ hit: false, reason: 'no verdict stored' });
    expect(first.yamlParses).toBeGreaterThan(0);
    fullParses = first.yamlParses;

    world.resetComposeLog();
    const again = await sync();
    expect(again.verdict).toEqual({ hit: true });
    expect(again.yamlParses).toBe(0);
    expect(again.exitCode).toBe(0);
    expect(again.outcomes.map((o) => [o.stack, o.result, o.health])).toEqual(stacks.map((s) => [s, 'unchanged', 'Healthy']));
    // Not even the Compose version probe.
    expect(world.composeCalls()).toEqual([]);
    const statuses = world.readState((db) => db.prepare('SELECT stack, sync, health FROM stack_status ORDER BY stack').all());
    expect(statuses).toEqual(stacks.map((stack) => ({ stack, sync: 'Synced', health: 'Healthy' })));
    // Only hashes and counts are stored: no environment value.
    const rows = world.readState((db) => db.prepare('SELECT verdict FROM sync_verdicts').all() as { verdict: string }[]);
    expect(rows.map((r) => r.verdict).join('\n')).not.toMatch(/hello|plain|GREETING/);
  });

  it("a new tag that changes one stack's folder: only that stack's inputs changed, only it runs Compose", async () => {
    writeAll('bonjour');
    await world.release('v1.1.0');
    world.resetComposeLog();
    const r = await sync();
    // The other stacks' verdicts still hold: only the changed one is loaded and planned.
    expect(r.verdict).toMatchObject({ hit: false, changed: [a], loaded: [a] });
    expect(r.yamlParses).toBeLessThan(fullParses);
    expect(Object.fromEntries(r.outcomes.map((o) => [o.stack, o.result]))).toEqual({ [a!]: 'deployed', [b!]: 'recorded', [c!]: 'recorded' });
    expect(composeRunsFor()).toEqual([a]);
    // The stacks not loaded are recorded at the new revision exactly as a full plan records them.
    const head = await world.repo.head();
    const deployed = world.readState((db) =>
      db.prepare(`SELECT stack, revision, ref FROM deployments WHERE id IN (SELECT max(id) FROM deployments GROUP BY stack) ORDER BY stack`).all(),
    );
    expect(deployed).toEqual(stacks.map((stack) => ({ stack, revision: head, ref: 'v1.1.0' })));
    const statuses = world.readState((db) => db.prepare('SELECT stack, sync, health, revision FROM stack_status ORDER BY stack').all());
    expect(statuses).toEqual(stacks.map((stack) => ({ stack, sync: 'Synced', health: 'Healthy', revision: head })));
    expect((await sync()).verdict).toEqual({ hit: true });
  });

  it('a new tag that changes none of the stacks: none is loaded, each is recorded at the new revision, no Compose', async () => {
    world.repo.write('README.md', 'docs only\n');
    await world.release('v1.1.1');
    world.resetComposeLog();
    const r = await sync();
    expect(r.verdict).toMatchObject({ hit: false, changed: [], loaded: [] });
    expect(r.yamlParses).toBe(0);
    expect(r.outcomes.map((o) => [o.stack, o.result, o.health])).toEqual(stacks.map((s) => [s, 'recorded', 'Healthy']));
    expect(world.composeCalls()).toEqual([]);
    expect((await sync()).verdict).toEqual({ hit: true });
  });

  it('a new tag while a container of an unchanged stack is stopped: that stack is planned in full (up and the health gate start it), the changed one deploys', async () => {
    const worker = Object.values(await projectContainers(env.docker, c!))[0]!;
    await env.docker.getContainer(worker.id).stop({ t: 1 });
    try {
      writeAll('hola');
      const commit = await world.release('v1.1.2');
      world.resetComposeLog();
      const r = await sync();
      expect(r.verdict).toMatchObject({ hit: false, changed: [a], loaded: [a, c] });
      expect(Object.fromEntries(r.outcomes.map((o) => [o.stack, [o.result, o.health]]))).toEqual({
        [a!]: ['deployed', 'Healthy'],
        [b!]: ['recorded', 'Healthy'],
        // As in a full plan: its labels match a revision not recorded with these containers down, so it is applied again.
        [c!]: ['deployed', 'Healthy'],
      });
      expect(composeRunsFor()).toEqual([a, c].sort());
      // The recorded stack's new row (written with the run's other recorded rows, in one transaction at its end).
      const state = openState(world.dataDir);
      try {
        expect(state.currentDeployment(b!)).toMatchObject({ revision: commit, status: 'succeeded', health: 'Healthy' });
      } finally {
        state.close();
      }
    } finally {
      // Started again by the run itself when it passed (304 then).
      await env.docker.getContainer(worker.id).start().catch(() => undefined);
    }
    await sync();
    expect((await sync()).verdict).toEqual({ hit: true });
  });

  it("a new tag that changes one stack's fleet policy: only that stack's inputs changed", async () => {
    policies = { [c!]: { healthTimeout: '90s' } };
    writeAll('hola');
    await world.release('v1.2.0');
    world.resetComposeLog();
    const r = await sync();
    expect(r.verdict).toMatchObject({ hit: false, changed: [c] });
    expect(r.outcomes.every((o) => o.result === 'recorded')).toBe(true);
    expect(world.projectCalls()).toEqual([]);
    expect((await sync()).verdict).toEqual({ hit: true });
  });

  it("the host env file of one stack: only that stack's inputs changed, and its new value is deployed", async () => {
    const envDir = path.join(world.dataDir, 'env');
    mkdirSync(envDir, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(envDir, `${b!}.env`), 'MODE=strict\n', { mode: 0o600 });
    world.resetComposeLog();
    const r = await sync();
    expect(r.verdict).toMatchObject({ hit: false, changed: [b] });
    expect(Object.fromEntries(r.outcomes.map((o) => [o.stack, o.result]))).toEqual({ [a!]: 'unchanged', [b!]: 'deployed', [c!]: 'unchanged' });
    expect(composeRunsFor()).toEqual([b]);
    expect((await sync()).verdict).toEqual({ hit: true });
  });

  it('a container stopped by hand: the verdict misses on the live list and the stack is reported', async () => {
    const worker = Object.values(await projectContainers(env.docker, c!))[0]!;
    await env.docker.getContainer(worker.id).stop({ t: 1 });
    const r = await sync([], 2);
    expect(r.verdict?.hit).toBe(false);
    expect(r.verdict?.changed).toEqual([]);
    expect(r.outcomes.find((o) => o.stack === c)?.health).toBe('Degraded');
    await env.docker.getContainer(worker.id).start();
  });

  it('hostile verdict rows (garbage, forged hashes) never decide: the full run plans and rewrites them', async () => {
    await sync();
    const db = await import('better-sqlite3').then((m) => new m.default(path.join(world.dataDir, 'state.db')));
    try {
      db.prepare(`UPDATE sync_verdicts SET verdict = 'not json' WHERE scope = ?`).run(`stack:${a!}`);
      const forged = JSON.stringify({ inputsHash: 'x', services: { worker: { configHash: 'f'.repeat(64), replicas: 1 } } });
      db.prepare('UPDATE sync_verdicts SET verdict = ? WHERE scope = ?').run(forged, `stack:${c!}`);
    } finally {
      db.close();
    }
    world.resetComposeLog();
    const r = await sync();
    expect(r.verdict?.hit).toBe(false);
    expect(r.outcomes.map((o) => o.result)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(world.projectCalls()).toEqual([]);
    expect((await sync()).verdict).toEqual({ hit: true });
  });

  it('--no-cache forgets the verdicts and plans in full; --dry-run and --stack never use them', async () => {
    const r = await sync(['--no-cache']);
    expect(r.verdict).toBeUndefined();
    expect(r.yamlParses).toBeGreaterThan(0);
    expect((await sync(['--stack', a!])).verdict).toBeUndefined();
    expect((await sync(['--dry-run'])).verdict).toBeUndefined();
    expect((await sync()).verdict).toEqual({ hit: true });
  });
});
