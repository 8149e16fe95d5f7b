/**
 * Operator controls of `driftd sync` against the real engine, Compose CLI and a loopback Git
 * server: rollback pins (host and stack) and resume, `sync: manual` approvals, and prune.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { useDockerTestScope } from '../support/docker.js';
import { fleetYaml, projectContainers, SyncWorld } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';

interface SyncJson {
  plan: { stack: string; action: string; reason: string }[];
  outcomes: { stack: string; action: string; result: string; message: string; revision?: string }[];
  warnings: string[];
}

interface StatusJson {
  target?: { commit: string; ref?: string };
  stacks: { stack: string; sync: string; health: string; desiredRevision?: string; deployedRevision?: string; pin?: string; pending?: string; reason?: string }[];
}

/** A one-service stack (worker image: no health check, so the gate passes at once); `level` changes its config. */
const workerStack = (world: SyncWorld, level: number): Record<string, string> => ({
  'compose.yaml': world.composeFile({ worker: { image: TEST_IMAGES.worker10, environment: { LEVEL: String(level) } } }),
});

describe('sync policies', () => {
  const env = useDockerTestScope();
  let world: SyncWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  /** The revision label of each stack's worker container, or "-" when it has none. */
  const revisions = async (stacks: readonly string[]): Promise<string[]> =>
    Promise.all(stacks.map(async (s) => (await projectContainers(env.docker, s)).worker?.labels['io.driftd.revision'] ?? '-'));

  it('rollback pins the host and applies; a new tag does not move it; resume does. A stack pin moves only that stack', async () => {
    const w = (world = await SyncWorld.create({ labels: env.labels }));
    const [p, q] = [env.project(), env.project()];
    const release = async (tag: string, level: number): Promise<string> => {
      w.repo.writeStack(p, workerStack(w, level)).writeStack(q, workerStack(w, level)).writeFleet(fleetYaml(w.host, [p, q]));
      return w.release(tag);
    };
    const v10 = await release('v1.0.0', 1);
    const v11 = await release('v1.1.0', 2);
    expect((await w.run('sync')).code).toBe(0);
    expect(await revisions([p, q])).toEqual([v11, v11]);

    const rb = await w.run('rollback', ['v1.0.0']);
    expect(rb.code, rb.stdout + rb.stderr).toBe(0);
    expect(await revisions([p, q])).toEqual([v10, v10]);
    let status = await w.json<StatusJson>('status');
    expect(status.target?.commit).toBe(v10);
    for (const s of status.stacks) expect(s).toMatchObject({ pin: 'v1.0.0', deployedRevision: v10, sync: 'Synced' });

    // A newer tag appears: the pinned host stays where it is, Compose is not run.
    await release('v1.2.0', 3);
    w.resetComposeLog();
    const pinned = await w.json<SyncJson>('sync');
    expect(pinned.outcomes.map((o) => o.result)).toEqual(['unchanged', 'unchanged']);
    expect(w.projectCalls()).toEqual([]);
    expect(await revisions([p, q])).toEqual([v10, v10]);

    const resumed = await w.run('resume');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/pin removed from this host/);
    const v13 = await release('v1.3.0', 4);
    expect((await w.run('sync')).code).toBe(0);
    expect(await revisions([p, q])).toEqual([v13, v13]);

    // A stack pin: only p goes back; q keeps its container.
    const qBefore = (await projectContainers(env.docker, q)).worker!.id;
    const stackRb = await w.run('rollback', ['v1.0.0', '--stack', p]);
    expect(stackRb.code, stackRb.stdout + stackRb.stderr).toBe(0);
    expect(await revisions([p, q])).toEqual([v10, v13]);
    expect((await projectContainers(env.docker, q)).worker!.id).toBe(qBefore);
    status = await w.json<StatusJson>('status');
    expect(status.stacks.find((s) => s.stack === p)).toMatchObject({ pin: 'v1.0.0', desiredRevision: v10 });
    expect(status.stacks.find((s) => s.stack === q)?.pin).toBeUndefined();

    // The host moves on; the pinned stack does not, until its pin is removed.
    const v14 = await release('v1.4.0', 5);
    expect((await w.run('sync')).code).toBe(0);
    expect(await revisions([p, q])).toEqual([v10, v14]);
    expect((await w.run('resume', ['--stack', p])).code).toBe(0);
    expect((await w.run('sync')).code).toBe(0);
    expect(await revisions([p, q])).toEqual([v14, v14]);
  });

  it('a sync: manual stack waits for approve, one revision at a time', async () => {
    const w = (world = await SyncWorld.create({ labels: env.labels }));
    const [m, n] = [env.project(), env.project()];
    w.repo.writeStack(m, workerStack(w, 1)).writeStack(n, workerStack(w, 1)).writeFleet(fleetYaml(w.host, [m, n], { [m]: { sync: 'manual' } }));
    const v10 = await w.release('v1.0.0');

    const waiting = await w.json<SyncJson>('sync', [], 2);
    expect(waiting.outcomes.find((o) => o.stack === m)).toMatchObject({ action: 'await-approval', result: 'awaiting-approval' });
    expect(waiting.outcomes.find((o) => o.stack === n)).toMatchObject({ result: 'deployed' });
    expect(await revisions([m, n])).toEqual(['-', v10]);
    const status = await w.json<StatusJson>('status');
    expect(status.stacks.find((s) => s.stack === m)).toMatchObject({ pending: v10, sync: 'OutOfSync' });
    const table = await w.run('status');
    expect(table.stdout).toMatch(new RegExp(`${m} .*awaiting approval of ${v10.slice(0, 12)}`));

    const approved = await w.run('approve', [m]);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toMatch(new RegExp(`approved ${m} at ${v10.slice(0, 12)}`));
    expect((await w.run('sync')).code).toBe(0);
    expect(await revisions([m, n])).toEqual([v10, v10]);
    expect((await w.json<StatusJson>('status')).stacks.find((s) => s.stack === m)?.pending).toBeUndefined();

    // A newer revision needs its own approval.
    w.repo.writeStack(m, workerStack(w, 2)).writeStack(n, workerStack(w, 2));
    const v11 = await w.release('v1.1.0');
    const mBefore = (await projectContainers(env.docker, m)).worker!.id;
    const again = await w.json<SyncJson>('sync', [], 2);
    expect(again.outcomes.find((o) => o.stack === m)).toMatchObject({ result: 'awaiting-approval' });
    expect(await revisions([m, n])).toEqual([v10, v11]);
    expect((await projectContainers(env.docker, m)).worker!.id).toBe(mBefore);
    expect((await w.run('approve', [m])).code).toBe(0);
    expect((await w.run('sync')).code).toBe(0);
    expect(await revisions([m, n])).toEqual([v11, v11]);
  });

  it('prune removes a stack that left the host only with prune: true, and never everything at once without --allow-mass-prune', async () => {
    const w = (world = await SyncWorld.create({ labels: env.labels }));
    const [k, l, o] = [env.project(), env.project(), env.project()];
    const policies = { [k]: { prune: true }, [l]: { prune: false }, [o]: { prune: true } };
    w.repo.writeStack(k, workerStack(w, 1)).writeStack(l, workerStack(w, 1)).writeStack(o, workerStack(w, 1)).writeFleet(fleetYaml(w.host, [k, l, o], policies));
    await w.release('v1.0.0');
    expect((await w.run('sync')).code).toBe(0);

    // k and l leave this host's list.
    w.repo.writeFleet(fleetYaml(w.host, [o], policies));
    await w.release('v1.1.0');
    const left = await w.json<SyncJson>('sync');
    expect(left.outcomes.find((x) => x.stack === k)).toMatchObject({ action: 'prune', result: 'pruned' });
    expect(left.outcomes.find((x) => x.stack === l)).toMatchObject({ action: 'skip', message: expect.stringMatching(/prune is off, left running/) });
    expect(await projectContainers(env.docker, k)).toEqual({});
    expect((await projectContainers(env.docker, l)).worker?.state).toBe('running');
    expect((await projectContainers(env.docker, o)).worker?.state).toBe('running');

    // A revision that declares no stack for this host at all: refused, unless explicitly allowed.
    w.repo.remove('stacks').writeFleet(fleetYaml(w.host, [], policies));
    await w.release('v1.2.0');
    // The host is left unconverged on purpose: exit 2, like any stack that could not be synced.
    const refused = await w.json<SyncJson>('sync', [], 2);
    expect(refused.warnings.join('\n')).toMatch(/refusing to prune every managed stack at once/);
    expect(refused.outcomes.filter((x) => x.result === 'pruned')).toEqual([]);
    expect((await projectContainers(env.docker, o)).worker?.state).toBe('running');
    const text = await w.run('sync');
    expect(text.code).toBe(2);
    expect(text.stdout).toMatch(/warning: refusing to prune every managed stack at once .*--allow-mass-prune/);

    const allowed = await w.json<SyncJson>('sync', ['--allow-mass-prune']);
    expect(allowed.outcomes.find((x) => x.stack === o)).toMatchObject({ result: 'pruned' });
    expect(await projectContainers(env.docker, o)).toEqual({});
    expect((await projectContainers(env.docker, l)).worker?.state).toBe('running');
  });
});
