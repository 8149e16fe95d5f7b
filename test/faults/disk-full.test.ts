/**
 * A full disk under the data dir: a real tmpfs of a few MiB mounted over it and filled to the last
 * byte. The state DB, the Git mirror, snapshots and deploy dirs all live there. driftd must fail
 * with one sentence that names the path and says the disk is full, leave the running stack alone,
 * never blacklist the revision (a host fault), leave no temp file behind and no corrupt DB, and
 * deploy once space is freed. Issue 13, findings 4, 5 and 7.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useDockerTestScope } from '../support/docker.js';
import { fleetYaml, SyncWorld } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';
import { failedRevisions, history, liveWeb, waitHealthyWeb, webStack, type StatusJson, type SyncJson } from './support.js';
import { SmallDisk } from './tmpfs.js';

/** Every file under `dir` whose name says it is a temp file of a write (the safe writer's or any `*.tmp`). */
function tempFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && (/^\.driftd-tmp-/.test(e.name) || /\.tmp$/.test(e.name) || /driftd-tmp$/.test(e.name)))
    .map((e) => path.join(e.parentPath, e.name));
}

describe('disk full under the data dir (tmpfs)', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let world: SyncWorld;
  let disk: SmallDisk | undefined;
  let stack: string;
  let v1: string;

  beforeAll(async () => {
    world = await SyncWorld.create({ labels: env.labels });
    disk = await SmallDisk.mount(world.dataDir, 24);
    stack = env.project();
    world.repo.writeStack(stack, webStack(TEST_IMAGES.app10, env.labels)).writeFleet(fleetYaml(world.host, [stack]));
    v1 = await world.release('v1.0.0');
    expect((await world.run('sync')).code).toBe(0);
    await waitHealthyWeb(env.docker, stack, v1);
  });

  afterEach(() => disk?.release());

  afterAll(async () => {
    await disk?.unmount();
    expect(SmallDisk.mounted(world.dataDir)).toBe(false);
    await world?.close();
  });

  /** What a host fault must leave: v1 running, nothing blacklisted, no temp file, an intact DB. */
  function assertUntouched(): Promise<void> {
    return liveWeb(env.docker, stack).then((web) => {
      expect(web).toMatchObject({ state: 'running', revision: v1 });
      expect(tempFiles(world.dataDir)).toEqual([]);
    });
  }

  it('full before the run: sync exits 1 naming the disk; v1 keeps running; freed → the new tag deploys', async () => {
    world.repo.writeStack(stack, webStack(TEST_IMAGES.app11, env.labels));
    const v2 = await world.release('v2.0.0');
    disk!.fill();
    expect(disk!.free()).toBe(0);

    const r = await world.run('sync');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/the disk is full|cannot grow: the disk is full/);
    expect(r.stderr).toContain(world.dataDir);
    expect(r.stderr).not.toMatch(/check the repo URL|did not answer as a Git repository/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    await assertUntouched();

    // status on the full disk never claims the desired revision is synced: either it reads the DB
    // and says so, or (SQLite cannot even create the WAL index of a read) it says the disk is full.
    const st = await world.run('status', ['--json']);
    if (st.code === 0) {
      const status = JSON.parse(st.stdout) as StatusJson;
      expect(status.stacks).toEqual([expect.objectContaining({ stack, deployedRevision: v1 })]);
      expect(status.stacks[0]!.sync).not.toBe('Synced');
    } else {
      expect(st.code).toBe(1);
      expect(st.stderr).toMatch(/state database .*state\.db cannot grow: the disk is full/);
    }

    disk!.release();
    expect(failedRevisions(world, stack)).toEqual([]);
    expect(world.readState((db) => db.pragma('integrity_check', { simple: true }))).toBe('ok');
    const ok = await world.json<SyncJson>('sync');
    expect(ok.outcomes).toEqual([expect.objectContaining({ stack, result: 'deployed', revision: v2, health: 'Healthy' })]);
    await waitHealthyWeb(env.docker, stack, v2);
    v1 = v2;
  });

  it('full after the fetch (snapshot, deploy dir, journal): a host fault — not held against the revision, history says why', async () => {
    world.repo.writeStack(stack, webStack(TEST_IMAGES.app10, env.labels));
    const v3 = await world.release('v3.0.0');
    // The mirror and the snapshot of v3 are written while there is room (a dry run reads the
    // target); the disk fills before the sync writes its deploy dir and journal.
    const dry = await world.run('sync', ['--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    disk!.fill();

    const r = await world.run('sync', ['--json']);
    expect(r.code, r.stderr).not.toBe(0);
    expect(`${r.stdout}\n${r.stderr}`).toMatch(/the disk is full/);
    expect(`${r.stdout}\n${r.stderr}`).toContain(world.dataDir);
    await assertUntouched();

    disk!.release();
    expect(failedRevisions(world, stack)).toEqual([]);
    expect(world.readState((db) => db.pragma('integrity_check', { simple: true }))).toBe('ok');
    const rows = await history(world, stack);
    // Never "abandoned: driftd stopped …" for a run that failed on the disk; a row, if the DB could take one, says host fault.
    expect(rows.filter((row) => row.revision === v3 && row.result === 'abandoned')).toEqual([]);
    for (const row of rows.filter((x) => x.revision === v3 && x.result === 'failed')) {
      expect(row.message).toMatch(/host fault during the deploy of v3\.0\.0 .*the disk is full.*not held against the revision, retried at the next run/);
    }
    const status = await world.json<StatusJson>('status');
    expect(status.stacks[0]!.sync).not.toBe('Synced');

    const ok = await world.json<SyncJson>('sync');
    expect(ok.outcomes).toEqual([expect.objectContaining({ stack, result: 'deployed', revision: v3, health: 'Healthy' })]);
    await waitHealthyWeb(env.docker, stack, v3);
    expect(tempFiles(world.dataDir)).toEqual([]);
  });
});
