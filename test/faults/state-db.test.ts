/**
 * The state DB broken under a running agent: deleted, emptied, corrupted in place. The agent must
 * stay up, answer every HTTP request (a JSON 500 at worst), notice, re-create the DB, re-record the
 * live stacks from their labels, and never touch the running containers. Issue 13, findings 2 and 3.
 */
import { readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil, useDockerTestScope } from '../support/docker.js';
import { freePort } from '../support/free-port.js';
import { fleetYaml, SyncWorld, type RunningCli } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';
import { history, liveWeb, waitHealthyWeb, webStack, type StatusJson } from './support.js';

describe('state DB faults under a running agent', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let world: SyncWorld;
  let agent: RunningCli;
  let base: string;
  let stack: string;
  let v1: string;
  let containerId: string;
  let cycles = 0;

  const READ = 'read-token-for-faults';
  const HOOK = 'webhook-secret-for-faults';
  const get = (p: string) => fetch(`${base}${p}`, { signal: AbortSignal.timeout(10_000), headers: { authorization: `Bearer ${READ}` } });
  /** Triggers one reconcile through the webhook and waits until the agent reports it finished. */
  async function cycle(): Promise<void> {
    const before = cycles;
    expect((await fetch(`${base}/webhook`, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${HOOK}` } })).status).toBe(202);
    await pollUntil(
      'the webhook cycle to finish',
      async () => {
        const h = (await (await get('/healthz')).json()) as { cycles: number; busy: boolean };
        return h.cycles > before && !h.busy ? h : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    ).then((h) => (cycles = h.cycles));
  }
  const stateFile = () => path.join(world.dataDir, 'state.db');

  beforeAll(async () => {
    world = await SyncWorld.create({ labels: env.labels });
    stack = env.project();
    world.repo.writeStack(stack, webStack(TEST_IMAGES.app10, env.labels)).writeFleet(fleetYaml(world.host, [stack]));
    v1 = await world.release('v1.0.0');
    const port = await freePort();
    const config = path.join(world.dir, 'agent.yaml');
    writeFileSync(path.join(world.dir, 'read.token'), `${READ}\n`, { mode: 0o600 });
    writeFileSync(path.join(world.dir, 'hook.secret'), `${HOOK}\n`, { mode: 0o600 });
    writeFileSync(
      config,
      `http:\n  listen: 127.0.0.1:${port}\n  readTokenFile: ${path.join(world.dir, 'read.token')}\n  webhookSecretFile: ${path.join(world.dir, 'hook.secret')}\n`,
    );
    base = `http://127.0.0.1:${port}`;
    agent = world.start('agent', ['--interval', '1h'], { config });
    await pollUntil('the agent to deploy v1', async () => ((await liveWeb(env.docker, stack))?.revision === v1 ? true : undefined), { timeoutMs: 120_000, intervalMs: 500 });
    await waitHealthyWeb(env.docker, stack, v1);
    await pollUntil('the startup cycle to end', async () => {
      const h = (await (await get('/healthz').catch(() => undefined))?.json().catch(() => undefined)) as { cycles: number; busy: boolean } | undefined;
      return h && h.cycles >= 1 && !h.busy ? h : undefined;
    }, { timeoutMs: 60_000 }).then((h) => (cycles = h.cycles));
    containerId = (await liveWeb(env.docker, stack))!.id;
  });

  afterAll(async () => {
    agent?.child.kill('SIGTERM');
    await agent?.done;
    await world?.close();
  });

  async function assertRecovered(): Promise<void> {
    // Re-created and re-recorded from the labels; the container never touched; status truthful.
    const rows = await history(world, stack);
    expect(rows.find((r) => r.action === 'recover' && r.revision === v1)?.message).toMatch(/state database re-created: .* re-recorded from its containers' labels/);
    const status = await world.json<StatusJson>('status');
    expect(status.warnings).toEqual([]);
    expect(status.stacks).toEqual([expect.objectContaining({ stack, sync: 'Synced', health: 'Healthy', deployedRevision: v1 })]);
    const web = await liveWeb(env.docker, stack);
    expect(web).toMatchObject({ id: containerId, state: 'running', revision: v1 });
    expect(agent.child.exitCode).toBeNull();
  }

  it('deleted: `status` warns at once; the next cycle notices, re-creates the DB and re-records the stack', async () => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${stateFile()}${suffix}`, { force: true });
    // Before the agent's next cycle, a status run (which must not create the DB) warns.
    const warned = await world.run('status', ['--json']);
    expect(warned.code).toBe(0);
    expect((JSON.parse(warned.stdout) as StatusJson).warnings[0]).toMatch(/deployed .* but the state database is missing: it was deleted, emptied or replaced/);
    await cycle();
    await assertRecovered();
    expect((await get('/status')).status).toBe(200);
  });

  it('emptied to 0 bytes: never taken for a new DB silently; moved aside, re-created, re-recorded', async () => {
    truncateSync(stateFile(), 0);
    await cycle();
    await assertRecovered();
    expect(readdirSync(world.dataDir).some((n) => /^state\.db\.empty-/.test(n))).toBe(true);
  });

  it('corrupted in place: GET /status never kills the agent (a JSON 500 at worst); the next cycle moves it aside and recovers', async () => {
    writeFileSync(stateFile(), Buffer.alloc(64 * 1024, 'garbage! '));
    const res = await get('/status');
    // SQLite may still answer from the open connection's cache: either a 200 or a JSON 500 naming the DB.
    if (res.status !== 200) {
      expect(res.status).toBe(500);
      expect(((await res.json()) as { error: string }).error).toMatch(/state database /);
    }
    expect((await get('/healthz')).status).toBe(200);
    await cycle();
    expect(readdirSync(world.dataDir).some((n) => /^state\.db\.corrupt-/.test(n))).toBe(true);
    await assertRecovered();
    expect((await get('/status')).status).toBe(200);
  });
});
