/**
 * Sync windows against the real engine, Compose CLI and a loopback Git server: a deny window
 * holds back `driftd sync` and the agent (status says when it opens), `--ignore-windows` applies
 * and is audited, and `manualSync: true` lets the CLI through but not the agent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { useDockerTestScope } from '../support/docker.js';
import { projectContainers, SyncWorld } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';

interface SyncJson {
  plan: { stack: string; action: string; reason: string }[];
  outcomes: { stack: string; result: string; message: string }[];
}
interface StatusJson {
  stacks: { stack: string; sync: string; reason?: string }[];
}

/** A daily deny window (UTC) that opened an hour ago and closes in two hours; and when it closes. */
function denyingNow(manualSync: boolean): { yaml: string; opensAt: string } {
  const start = new Date(Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000);
  const yaml = `      - {kind: deny, schedule: "${start.getUTCMinutes()} ${start.getUTCHours()} * * *", duration: 3h, timezone: UTC, manualSync: ${manualSync}}`;
  return { yaml, opensAt: new Date(start.getTime() + 3 * 3_600_000).toISOString().replace('.000Z', 'Z') };
}

describe('sync windows', () => {
  const env = useDockerTestScope();
  let world: SyncWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('holds back sync and the agent inside a deny window; --ignore-windows applies and is audited; manualSync lets the CLI through', async () => {
    const w = (world = await SyncWorld.create({ labels: env.labels }));
    const p = env.project();
    const window = denyingNow(false);
    const release = async (tag: string, level: number, windowYaml: string): Promise<string> => {
      w.repo.writeStack(p, { 'compose.yaml': w.composeFile({ worker: { image: TEST_IMAGES.worker10, environment: { LEVEL: String(level) } } }) });
      w.repo.writeFleet(`hosts:\n  ${w.host}: [${p}]\nstacks:\n  ${p}:\n    healthTimeout: 20s\n    windows:\n${windowYaml}\n`);
      return w.release(tag);
    };
    await release('v1.0.0', 1, window.yaml);

    const held = await w.json<SyncJson>('sync', [], 2);
    const reason = `waiting for sync window (opens at ${window.opensAt})`;
    expect(held.plan).toEqual([expect.objectContaining({ stack: p, action: 'skip', reason: `${reason}; not deployed` })]);
    expect(w.projectCalls()).toEqual([]);
    expect(await projectContainers(env.docker, p)).toEqual({});
    const status = await w.json<StatusJson>('status');
    expect(status.stacks).toEqual([expect.objectContaining({ stack: p, sync: 'OutOfSync', reason: expect.stringContaining(reason) as string })]);

    const forced = await w.json<SyncJson>('sync', ['--ignore-windows']);
    expect(forced.outcomes).toEqual([expect.objectContaining({ stack: p, result: 'deployed' })]);
    expect((await projectContainers(env.docker, p)).worker?.state).toBe('running');
    const audit = w.readState((db) => db.prepare(`SELECT actor, trigger, action, stack, detail FROM audit WHERE action = 'sync'`).all() as { stack: string; detail: string }[]);
    expect(audit).toHaveLength(1);
    expect(audit[0]?.stack).toBe(p);
    expect(JSON.parse(audit[0]?.detail ?? '{}')).toMatchObject({ ignoreWindows: true, window: reason, planned: 'deploy' });

    // manualSync: the CLI applies v2; the agent, an automatic sync, holds v3 back and reports it.
    const manual = denyingNow(true);
    const v2 = await release('v2.0.0', 2, manual.yaml);
    const cli = await w.json<SyncJson>('sync');
    expect(cli.outcomes).toEqual([expect.objectContaining({ stack: p, result: 'deployed' })]);
    expect((await projectContainers(env.docker, p)).worker?.labels['io.driftd.revision']).toBe(v2);

    await release('v3.0.0', 3, manual.yaml);
    w.resetComposeLog();
    const agent = w.start('agent', ['--interval', '1h']);
    try {
      const deadline = Date.now() + 120_000;
      let seen: string | undefined;
      while (Date.now() < deadline) {
        seen = w.readState((db) => (db.prepare('SELECT reason FROM stack_status WHERE stack = ?').get(p) as { reason?: string } | undefined)?.reason);
        if (seen?.startsWith('waiting for sync window') && !seen.includes('not deployed')) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(seen).toBe(`waiting for sync window (opens at ${manual.opensAt}); config changed for worker`);
    } finally {
      agent.child.kill('SIGTERM');
      await agent.done;
    }
    expect(w.projectCalls()).toEqual([]);
    expect((await projectContainers(env.docker, p)).worker?.labels['io.driftd.revision']).toBe(v2);
  });
});
