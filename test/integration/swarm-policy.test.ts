/**
 * Pins, approvals, sync windows and prune after a leader change for an `engine: swarm` stack, on a
 * real single-node Swarm (test/support/private-swarm.ts) through the real executor
 * (`docker stack deploy`): the same rules as a Compose stack (docs/swarm.md).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useSwarmWorld } from '../support/swarm-world.js';
import { fleetYaml } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';

interface SyncJson {
  plan: { stack: string; action: string; reason: string }[];
  outcomes: { stack: string; action: string; result: string; message: string }[];
}

const STACK = 'swp';
const HAND = 'swhand';

/** A deny window that opened an hour ago and lasts three (UTC, minute precision). */
function denyingNow(): string {
  const start = new Date(Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000);
  return `[{kind: deny, schedule: "${start.getUTCMinutes()} ${start.getUTCHours()} * * *", duration: 3h, timezone: UTC}]`;
}

describe.skipIf(process.env.DRIFTD_TEST_SWARM === '0')('engine: swarm — pins, approvals, windows, prune by a new leader', () => {
  const env = useSwarmWorld();
  const scratch: string[] = [];
  afterAll(() => {
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  });

  /** The revision and LEVEL each running service of `stack` carries (service label, spec env). */
  const running = async (stack = STACK): Promise<{ revision: string; level: string }[]> => {
    const ids = (await env.swarm.docker('service', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${stack}`)).split('\n').filter(Boolean);
    if (ids.length === 0) return [];
    const specs = JSON.parse(await env.swarm.docker('service', 'inspect', ...ids)) as { Spec: { Labels: Record<string, string>; TaskTemplate: { ContainerSpec: { Env?: string[] } } } }[];
    return specs.map((s) => ({
      revision: s.Spec.Labels['io.driftd.revision'] ?? '',
      level: (s.Spec.TaskTemplate.ContainerSpec.Env ?? []).find((e) => e.startsWith('LEVEL='))?.slice(6) ?? '',
    }));
  };
  const release = async (tag: string, level: number, policy: Record<string, string | boolean> = {}): Promise<string> => {
    env.world.repo.writeStack(STACK, { 'compose.yaml': ['services:', '  worker:', `    image: ${TEST_IMAGES.worker10}`, `    environment: {LEVEL: "${level}"}`, ''].join('\n') });
    env.world.repo.writeFleet(fleetYaml(env.world.host, [STACK], { [STACK]: { engine: 'swarm', healthTimeout: '300s', ...policy } }));
    return env.world.release(tag);
  };


  it('a rollback pin keeps the Swarm stack on its pin while newer tags appear; resume moves it on', async () => {
    const v1 = await release('v1.0.0', 1);
    expect((await env.world.json<SyncJson>('sync')).outcomes[0]).toMatchObject({ stack: STACK, result: 'deployed' });
    const v11 = await release('v1.1.0', 2);
    expect((await env.world.json<SyncJson>('sync')).outcomes[0]).toMatchObject({ result: 'deployed' });
    expect(await running()).toEqual([{ revision: v11, level: '2' }]);

    const rb = await env.world.run('rollback', ['v1.0.0', '--stack', STACK]);
    expect(rb.code, rb.stdout + rb.stderr).toBe(0);
    expect(await running()).toEqual([{ revision: v1, level: '1' }]);

    await release('v1.2.0', 3);
    const pinned = await env.world.json<SyncJson>('sync');
    expect(pinned.outcomes[0]).toMatchObject({ stack: STACK, result: 'unchanged' });
    expect(await running()).toEqual([{ revision: v1, level: '1' }]);

    expect((await env.world.run('resume', ['--stack', STACK])).code).toBe(0);
    const v13 = await release('v1.3.0', 4);
    expect((await env.world.json<SyncJson>('sync')).outcomes[0]).toMatchObject({ result: 'deployed' });
    expect(await running()).toEqual([{ revision: v13, level: '4' }]);
  }, 900_000);

  it('sync: manual — a change waits for approve, then docker stack deploy runs', async () => {
    const before = await running();
    const v2 = await release('v2.0.0', 5, { sync: 'manual' });
    // Waiting for an approval is not a success: exit 2, like a Compose stack.
    const waiting = await env.world.json<SyncJson>('sync', [], 2);
    expect(waiting.outcomes[0]).toMatchObject({ stack: STACK, action: 'await-approval', result: 'awaiting-approval' });
    expect(await running()).toEqual(before);

    expect((await env.world.run('approve', [STACK])).code).toBe(0);
    expect((await env.world.json<SyncJson>('sync')).outcomes[0]).toMatchObject({ result: 'deployed' });
    expect(await running()).toEqual([{ revision: v2, level: '5' }]);
  }, 900_000);

  it('a closed sync window defers the deploy (exit 2, nothing run); --ignore-windows applies it', async () => {
    const before = await running();
    const v3 = await release('v3.0.0', 6, { windows: denyingNow() });
    const held = await env.world.json<SyncJson>('sync', [], 2);
    expect(held.plan).toEqual([expect.objectContaining({ stack: STACK, action: 'skip', reason: expect.stringMatching(/^waiting for sync window \(opens at .*\); config changed for worker$/) as string })]);
    expect(await running()).toEqual(before);

    expect((await env.world.json<SyncJson>('sync', ['--ignore-windows'])).outcomes[0]).toMatchObject({ result: 'deployed' });
    expect(await running()).toEqual([{ revision: v3, level: '6' }]);
  }, 900_000);

  it('after a leader change, a fresh state DB prunes the Swarm stack driftd deployed (its labels), never one deployed by hand', async () => {
    // A stack nobody deployed through driftd, named in fleet.yaml with prune: true all the same.
    const handFile = path.join(env.world.dir, 'hand.yaml');
    writeFileSync(handFile, `services:\n  app:\n    image: ${TEST_IMAGES.worker10}\n`);
    await env.swarm.docker('stack', 'deploy', '--detach=true', '-c', handFile, HAND);

    env.world.repo.writeFleet(fleetYaml(env.world.host, [], { [STACK]: { engine: 'swarm', prune: true }, [HAND]: { engine: 'swarm', prune: true } }));
    await env.world.release('v4.0.0');
    // The new leader's agent: the same engine, a data dir that never deployed anything.
    const freshRoot = mkdtempSync(path.join(os.tmpdir(), 'driftd-newleader-'));
    scratch.push(freshRoot);
    const fresh = path.join(freshRoot, 'data');
    const r = await env.world.run('sync', ['--allow-mass-prune', '--json'], { dataDir: fresh });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as SyncJson;
    expect(out.outcomes).toEqual([expect.objectContaining({ stack: STACK, action: 'prune', result: 'pruned' })]);
    expect(await running()).toEqual([]);
    expect(await running(HAND)).toHaveLength(1);
  }, 900_000);
});
