/**
 * Signed revisions (DESIGN §9) end to end: the real driftd CLI, a loopback Git server, the real
 * engine and Compose, and signatures made in the test by gpg and ssh-keygen. A refused target
 * touches nothing (container ids unchanged), shows as Unknown with the reason, is a
 * revision-unverified finding (drift-check exit 1), and is recorded once in history and audit.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { useDockerTestScope } from '../support/docker.js';
import { fleetYaml, projectContainers, SyncWorld, type CliResult } from '../support/sync-harness.js';
import { gpgKey, signingConfig, signingEnv, sshKey, tempDir } from '../support/signing.js';
import { TEST_IMAGES } from '../support/test-env.js';

interface StatusJson {
  target?: { commit: string; ref?: string };
  verification?: { reason: string; commit: string; fingerprint?: string };
  stacks: { stack: string; sync: string; reason?: string; deployedRevision?: string; provenance?: { verified: { type: string; kind: string; signer: { fingerprint: string } }[] } }[];
}
interface DriftJson {
  revisionError?: string;
  provenance?: { verified: { object: string; type: string; kind: string; signer: { fingerprint: string; principal?: string } }[] };
  stacks: { stack: string; sync: string; findings: { kind: string; severity: string; message: string }[] }[];
}
interface HistoryRow {
  action: string;
  result: string;
  revision?: string;
  message?: string;
  provenance?: { verified: { object: string; kind: string; signer: { fingerprint: string } }[] };
}

const noStack = (r: CliResult): void => {
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(r.stdout).not.toMatch(/\n\s+at .+:\d+:\d+/);
};

describe('signed revisions', () => {
  const env = useDockerTestScope();
  let world: SyncWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('verify.mode tag: deploys only annotated tags signed by a trusted key; refuses the rest without touching anything', async () => {
    const w = (world = await SyncWorld.create({ labels: env.labels }));
    const stack = env.project();
    const trusted = gpgKey();
    const stranger = gpgKey();
    const ed = sshKey('ed25519');
    const ecdsa = sshKey('ecdsa');
    const rsa = sshKey('rsa');
    const outsider = sshKey('ed25519', 'outsider@example.test');
    const keys = tempDir('driftd-keys-');
    writeFileSync(path.join(keys, 'release.asc'), trusted.publicKey);
    writeFileSync(path.join(keys, 'allowed_signers'), `ops@example.test ${ed.pub}\nops@example.test namespaces="git" ${ecdsa.pub}\n${rsa.pub}\n`);
    const config = path.join(w.dir, 'config.yaml');
    writeFileSync(config, `verify:\n  mode: tag\n  keys: [${keys}]\n`);
    w.configFile = config;

    let level = 0;
    const change = async (): Promise<string> => {
      level += 1;
      w.repo.writeStack(stack, { 'compose.yaml': w.composeFile({ worker: { image: TEST_IMAGES.worker10, environment: { LEVEL: String(level) } } }) });
      w.repo.writeFleet(fleetYaml(w.host, [stack]));
      return w.repo.commit(`level ${level}`);
    };
    const publish = async (): Promise<void> => w.repo.push(w.served.path);
    const signedTag = async (tag: string, key: Parameters<typeof signingConfig>[0]): Promise<string> => {
      const commit = await change();
      w.repo.signWith(signingConfig(key), signingEnv(key));
      await w.repo.tag(tag, { signed: true });
      w.repo.signWith([]);
      await publish();
      return commit;
    };
    const workerId = async (): Promise<string | undefined> => (await projectContainers(env.docker, stack)).worker?.id;
    const revision = async (): Promise<string | undefined> => (await projectContainers(env.docker, stack)).worker?.labels['io.driftd.revision'];
    const history = async (): Promise<HistoryRow[]> => w.json<HistoryRow[]>('history', ['--limit', '200']);

    // 1. A tag signed by the trusted OpenPGP key: applied, with its provenance everywhere.
    const v1 = await signedTag('v1.0.0', trusted);
    const first = await w.run('sync');
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(await revision()).toBe(v1);
    const tagObject = await w.repo.git('rev-parse', 'v1.0.0');
    const deployRow = (await history()).find((r) => r.action === 'deploy' && r.revision === v1);
    expect(deployRow?.provenance?.verified).toEqual([{ object: tagObject, type: 'tag', kind: 'openpgp', signer: { fingerprint: trusted.fingerprint, principal: trusted.email } }]);
    let status = await w.json<StatusJson>('status');
    expect(status.stacks[0]?.provenance?.verified[0]?.signer.fingerprint).toBe(trusted.fingerprint);
    // --stack: other tests' projects on the shared engine would otherwise be stack-unmanaged drift here.
    const drift = await w.json<DriftJson>('drift-check', ['--stack', stack]);
    expect(drift.provenance?.verified[0]).toMatchObject({ object: tagObject, kind: 'openpgp', signer: { fingerprint: trusted.fingerprint } });
    const md = await w.run('drift-check', ['--markdown', '--stack', stack]);
    expect(md.stdout).toContain(trusted.fingerprint);

    const running = await workerId();
    const refused = async (tag: string, reason: RegExp, fingerprint?: string): Promise<void> => {
      const r = await w.run('sync');
      expect(r.code, r.stdout + r.stderr).toBe(1);
      noStack(r);
      expect(r.stderr).toMatch(reason);
      expect(await workerId()).toBe(running);
      expect(await revision()).toBe(v1);
      const s = await w.json<StatusJson>('status');
      expect(s.stacks[0]).toMatchObject({ stack, sync: 'Unknown' });
      expect(s.stacks[0]?.reason).toMatch(reason);
      if (fingerprint) expect(s.verification?.fingerprint).toBe(fingerprint);
      const d = await w.run('drift-check', ['--json', '--stack', stack]);
      expect(d.code).toBe(1);
      noStack(d);
      const report = JSON.parse(d.stdout) as DriftJson;
      expect(report.stacks[0]?.findings).toEqual([expect.objectContaining({ kind: 'revision-unverified', severity: 'error' })]);
      expect(report.stacks[0]?.findings[0]?.message).toContain(tag);
      // Recorded once in history: the verdict is made once, later polls of the same target read it from the cache.
      const refusals = (): { action: string; result: string; message: string }[] =>
        w.readState((db) => db.prepare(`SELECT action, result, message FROM operations WHERE action = 'verify' AND message LIKE ?`).all(`${tag} (%`) as { action: string; result: string; message: string }[]);
      const rows = refusals();
      expect(rows, `${r.stderr}\n${JSON.stringify(w.readState((db) => db.prepare('SELECT id, action, result, message FROM operations').all()))}`).toHaveLength(1);
      expect((await history()).some((h) => h.action === 'verify' && h.message === rows[0]?.message)).toBe(true);
      expect(rows[0]).toMatchObject({ action: 'verify', result: 'failed' });
      expect(rows[0]?.message).toMatch(reason);
      const again = await w.run('sync');
      expect(again.code).toBe(1);
      expect(refusals()).toHaveLength(1);
    };

    // 2. An unsigned annotated tag.
    await change();
    await w.repo.tag('v1.1.0', { annotated: true });
    await publish();
    await refused('v1.1.0', /tag is not signed/);

    // 3. A lightweight tag.
    await change();
    await w.repo.tag('v1.2.0');
    await publish();
    await refused('v1.2.0', /lightweight tag/);

    // 4. Signed by a key nobody trusts: the reason names its fingerprint.
    await signedTag('v1.3.0', stranger);
    await refused('v1.3.0', new RegExp(`OpenPGP key ${stranger.fingerprint}, which is not a trusted key`), stranger.fingerprint);

    // 5. A tampered tag object: a valid signature (of v1.0.0) over other content.
    const c14 = await change();
    const original = await w.repo.git('cat-file', 'tag', 'v1.0.0');
    const forged = `${original.replace(/^object [0-9a-f]{40}$/m, `object ${c14}`).replace(/^tag v1\.0\.0$/m, 'tag v1.4.0')}\n`;
    const forgedOid = execFileSync('git', ['hash-object', '-w', '-t', 'tag', '--literally', '--stdin'], { cwd: w.repo.dir, input: forged, encoding: 'utf8' }).trim();
    await w.repo.git('update-ref', 'refs/tags/v1.4.0', forgedOid);
    await publish();
    await refused('v1.4.0', /does not match the signed content/);

    // 6. An SSH key that is not in allowed_signers.
    await signedTag('v1.5.0', outsider);
    await refused('v1.5.0', new RegExp(`SSH key ${outsider.fingerprint.replace(/[+/]/g, '\\$&')}, which is not in the allowed signers`), outsider.fingerprint);

    // A rollback to an unverified tag is refused (and audited) unless --allow-unverified.
    const rb = await w.run('rollback', ['v1.1.0']);
    expect(rb.code).toBe(1);
    noStack(rb);
    expect(await workerId()).toBe(running);

    // 7-9. SSH signatures by trusted Ed25519, ECDSA P-256 and RSA keys: each applied, signer recorded.
    for (const [tag, key, principal] of [
      ['v1.6.0', ed, 'ops@example.test'],
      ['v1.7.0', ecdsa, 'ops@example.test'],
      ['v1.8.0', rsa, 'rsa@example.test'],
    ] as const) {
      const commit = await signedTag(tag, key);
      const r = await w.run('sync');
      expect(r.code, `${tag}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(await revision()).toBe(commit);
      const row = (await history()).find((h) => h.action === 'deploy' && h.revision === commit);
      expect(row?.provenance?.verified[0]).toMatchObject({ kind: 'ssh', signer: { fingerprint: key.fingerprint, principal } });
    }
    status = await w.json<StatusJson>('status');
    expect(status.stacks[0]).toMatchObject({ sync: 'Synced' });
    expect(status.verification).toBeUndefined();

    // 10. The deployed tag moves to an unsigned commit: refused, the running revision stays.
    const deployed = await revision();
    const movedTo = await change();
    await w.repo.tag('v1.8.0', { annotated: true, force: true, commit: movedTo });
    await publish();
    const moved = await w.run('sync');
    expect(moved.code).toBe(1);
    expect(moved.stderr).toMatch(/tag is not signed/);
    expect(await revision()).toBe(deployed);

    // --allow-unverified: deployed, and the audit trail says so.
    const forced = await w.run('rollback', ['v1.1.0', '--allow-unverified']);
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    const audit = w.readState((db) => db.prepare(`SELECT action, detail FROM audit ORDER BY id`).all() as { action: string; detail: string }[]);
    expect(audit.filter((a) => a.action === 'verify').length).toBeGreaterThanOrEqual(7);
    expect(audit.some((a) => a.action === 'pin' && JSON.parse(a.detail).allowUnverified === true)).toBe(true);
    expect(audit.some((a) => a.action === 'verify' && JSON.parse(a.detail).ref === 'v1.1.0' && JSON.parse(a.detail).reason === 'unsigned')).toBe(true);
  }, 1_200_000);

  it('verification off with refuseMovedTags: a moved tag is refused, and stays refused on later polls', async () => {
    const w = (world = await SyncWorld.create({ labels: env.labels }));
    const stack = env.project();
    const config = path.join(w.dir, 'config.yaml');
    writeFileSync(config, 'refuseMovedTags: true\nref:\n  tag: v1.0.0\n');
    w.configFile = config;
    w.repo.writeStack(stack, { 'compose.yaml': w.composeFile({ worker: { image: TEST_IMAGES.worker10, environment: { LEVEL: '1' } } }) }).writeFleet(fleetYaml(w.host, [stack]));
    const v1 = await w.release('v1.0.0');
    expect((await w.run('sync')).code).toBe(0);
    const id = (await projectContainers(env.docker, stack)).worker?.id;
    w.repo.writeStack(stack, { 'compose.yaml': w.composeFile({ worker: { image: TEST_IMAGES.worker10, environment: { LEVEL: '2' } } }) });
    const other = await w.repo.commit('moved');
    await w.repo.moveTag('v1.0.0', other);
    await w.repo.push(w.served.path);
    for (let i = 0; i < 2; i++) {
      const r = await w.run('sync');
      expect(r.code, r.stdout + r.stderr).toBe(1);
      noStack(r);
      expect(r.stderr).toMatch(/moved .*refuseMovedTags/);
      expect((await projectContainers(env.docker, stack)).worker).toMatchObject({ id, labels: expect.objectContaining({ 'io.driftd.revision': v1 }) });
    }
  }, 300_000);
});
