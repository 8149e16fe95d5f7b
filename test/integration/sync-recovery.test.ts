/**
 * Crash safety and mutual exclusion of `driftd sync` with real processes: SIGKILL in the middle
 * of an apply followed by a restart, and two syncs started at the same time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Operation } from '../../src/state/schema.js';
import { pollUntil, useDockerTestScope } from '../support/docker.js';
import { fleetYaml, projectContainers, SyncWorld, type ComposeCall } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';

interface SyncJson {
  outcomes: { stack: string; action: string; result: string; message: string; health?: string; revision?: string }[];
}

interface StatusJson {
  stacks: { stack: string; sync: string; health: string; deployedRevision?: string }[];
}

const appStack = (world: SyncWorld, image: string): Record<string, string> => ({ 'compose.yaml': world.composeFile({ web: { image } }) });

describe('sync crash safety and exclusion', () => {
  const env = useDockerTestScope();
  let world: SyncWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('SIGKILL during compose up, then sync again: the open journal is recorded, the stack re-evaluated and synced; the DB is intact', async () => {
    const w = (world = await SyncWorld.create({ labels: env.labels }));
    const stack = env.project();
    w.repo.writeStack(stack, appStack(w, TEST_IMAGES.app10)).writeFleet(fleetYaml(w.host, [stack]));
    await w.release('v1.0.0');
    expect((await w.run('sync')).code).toBe(0);

    w.repo.writeStack(stack, appStack(w, TEST_IMAGES.app11));
    const v11 = await w.release('v1.1.0');
    w.resetComposeLog();
    const victim = w.start('sync');
    const up = await pollUntil(
      'compose up to start',
      () => Promise.resolve(w.projectCalls().find((c) => c.project === stack && c.command === 'up')),
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    victim.child.kill('SIGKILL');
    const killed = await victim.done;
    expect(killed.signal).toBe('SIGKILL');

    // The journal entry and the operation were left open by the killed process.
    const open = w.readState((db) => db.prepare('SELECT stack, action, revision FROM journal WHERE ended_at IS NULL').all());
    expect(open).toEqual([{ stack, action: 'deploy', revision: v11 }]);

    // Only driftd was killed: Compose dies of SIGPIPE at its next write to driftd's pipe, or
    // finishes. Let it end before the restart, as a service manager stopping the unit would.
    await pollUntil(
      'the orphaned compose up to end',
      () => Promise.resolve(w.composeCalls().find((c): c is ComposeCall & { endNs: bigint } => c.pid === up.pid && c.endNs !== undefined)),
      { timeoutMs: 60_000, intervalMs: 100 },
    );

    const restart = await w.json<SyncJson>('sync');
    expect(restart.outcomes).toEqual([
      expect.objectContaining({ stack, result: expect.stringMatching(/^(deployed|recorded)$/), health: 'Healthy', revision: v11 }),
    ]);

    // History: the killed deploy is abandoned, the restart recorded a recovery, then re-evaluated.
    const history = (await w.json<Operation[]>('history', ['--stack', stack])).reverse();
    const killedOp = history.find((h) => h.action === 'deploy' && h.revision === v11 && h.result === 'abandoned');
    expect(killedOp?.message).toMatch(/never finished \(driftd was stopped\); re-evaluating the stack against live state/);
    const recover = history.find((h) => h.action === 'recover');
    expect(recover).toMatchObject({ result: 'succeeded', revision: v11 });
    expect(recover!.id).toBeGreaterThan(killedOp!.id);
    expect(w.readState((db) => db.prepare('SELECT count(*) AS n FROM journal WHERE ended_at IS NULL').get())).toEqual({ n: 0 });

    const status = await w.json<StatusJson>('status');
    expect(status.stacks).toEqual([expect.objectContaining({ stack, sync: 'Synced', health: 'Healthy', deployedRevision: v11 })]);
    const web = (await projectContainers(env.docker, stack)).web!;
    expect(web).toMatchObject({ state: 'running', health: 'healthy', image: TEST_IMAGES.app11 });
    expect(web.labels['io.driftd.revision']).toBe(v11);

    expect(w.readState((db) => db.pragma('integrity_check', { simple: true }))).toBe('ok');
  });

  it('two syncs started together never apply at once; both exit 0', async () => {
    const w = (world = await SyncWorld.create({ labels: env.labels }));
    const [s1, s2] = [env.project(), env.project()];
    w.repo.writeStack(s1, appStack(w, TEST_IMAGES.app10)).writeStack(s2, appStack(w, TEST_IMAGES.app11)).writeFleet(fleetYaml(w.host, [s1, s2]));
    await w.release('v1.0.0');

    // Each with work of its own (one stack each), so that both apply whichever gets the lock first.
    const runs = [w.start('sync', ['--stack', s1]), w.start('sync', ['--stack', s2])];
    const results = await Promise.all(runs.map((r) => r.done));
    for (const r of results) expect(r.code, r.stdout + r.stderr).toBe(0);

    // Each stack was deployed exactly once, and the two deploy operations do not overlap.
    const deploys = (await w.json<Operation[]>('history')).filter((h) => h.action === 'deploy').reverse();
    expect(deploys.map((d) => `${d.stack} ${d.result}`).sort()).toEqual([`${s1} succeeded`, `${s2} succeeded`].sort());
    const [first, second] = deploys as [Operation, Operation];
    expect(first.owner).not.toBe(second.owner);
    expect(Date.parse(second.startedAt)).toBeGreaterThanOrEqual(Date.parse(first.finishedAt!));

    // Compose runs, grouped by the driftd process that ran them: one process's runs all end
    // before another's begin.
    const byProcess = new Map<number, ComposeCall[]>();
    for (const call of w.projectCalls()) byProcess.set(call.parentPid, [...(byProcess.get(call.parentPid) ?? []), call]);
    expect(byProcess.size).toBe(2);
    const spans = [...byProcess.values()]
      .map((calls) => ({ start: calls[0]!.startNs, end: calls.reduce((m, c) => (c.endNs! > m ? c.endNs! : m), 0n) }))
      .sort((a, b) => (a.start < b.start ? -1 : 1));
    expect(spans[1]!.start > spans[0]!.end).toBe(true);

    for (const s of [s1, s2]) expect((await projectContainers(env.docker, s)).web).toMatchObject({ state: 'running', health: 'healthy' });
  });
});
