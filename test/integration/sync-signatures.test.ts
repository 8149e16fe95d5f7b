/**
 * Signed revisions (docs/design.md §9) end to end: the real driftd CLI, a loopback Git server, the real
 * engine and Compose, and signatures made in the test by gpg and ssh-keygen. A refused target
 * touches nothing (container ids unchanged), shows as Unknown with the reason, is a
 * revision-unverified finding (drift-check exit 1), and is recorded once in history and audit.
 *
 * Cost on a shared 2-core machine: one world and one stack (a busybox worker) for every mode, in
 * phases that run in order. Compose runs only for the targets that are applied (seven); a refusal
 * happens before anything is loaded, so it costs the CLI runs that prove it, and the read-only ones
 * (status, drift-check) run side by side. Every wait is a CLI run's own exit, under a generous
 * per-phase ceiling.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDockerTestScope } from '../support/docker.js';
import { fleetYaml, projectContainers, SyncWorld, type CliResult } from '../support/sync-harness.js';
import { gpgKey, signingConfig, stopGpgAgents, signingEnv, sshKey, tempDir, type GpgKey, type SshKey } from '../support/signing.js';
import { TEST_IMAGES } from '../support/test-env.js';

interface Verified {
  object: string;
  type: string;
  kind: string;
  signer: { fingerprint: string; principal?: string };
}
interface StatusJson {
  target?: { commit: string; ref?: string };
  verification?: { reason: string; commit: string; fingerprint?: string };
  stacks: { stack: string; sync: string; reason?: string; deployedRevision?: string; provenance?: { verified: Verified[] } }[];
}
interface DriftJson {
  revisionError?: string;
  provenance?: { verified: Verified[] };
  stacks: { stack: string; sync: string; findings: { kind: string; severity: string; message: string }[] }[];
}
interface HistoryRow {
  action: string;
  result: string;
  revision?: string;
  message?: string;
  provenance?: { verified: Verified[] };
}

/** Generous: a phase is a handful of CLI runs and at most three Compose deploys on a loaded machine. */
const PHASE_MS = 900_000;

const noStackTrace = (r: CliResult): void => {
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(r.stdout).not.toMatch(/\n\s+at .+:\d+:\d+/);
};

// The gpg-agents of the keys this file makes (test/support/signing.ts).
afterAll(() => stopGpgAgents());

describe('signed revisions through sync, status, drift-check, history and rollback', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let w: SyncWorld;
  let stack: string;
  let keysDir: string;
  let trusted: GpgKey;
  let stranger: GpgKey;
  let ed: SshKey;
  let ecdsa: SshKey;
  let rsa: SshKey;
  let outsider: SshKey;
  let level = 0;
  /** The revision running after the last applied target: every refusal must leave it (and its container) alone. */
  let running: { id: string; revision: string } | undefined;

  const setConfig = (text: string): void => {
    const file = path.join(w.dir, 'config.yaml');
    writeFileSync(file, text);
    w.configFile = file;
  };
  const verifyConfig = (mode: string): void => setConfig(`verify:\n  mode: ${mode}\n  keys: [${keysDir}]\n`);

  /** A new commit that changes the stack (so an applied target recreates the container). */
  const change = async (opts: { signedBy?: GpgKey | SshKey } = {}): Promise<string> => {
    level += 1;
    w.repo.writeStack(stack, { 'compose.yaml': w.composeFile({ worker: { image: TEST_IMAGES.worker10, environment: { LEVEL: String(level) } } }) });
    w.repo.writeFleet(fleetYaml(w.host, [stack]));
    if (!opts.signedBy) return w.repo.commit(`level ${level}`);
    w.repo.signWith(signingConfig(opts.signedBy), signingEnv(opts.signedBy));
    try {
      return await w.repo.commit(`level ${level}`, { sign: true });
    } finally {
      w.repo.signWith([]);
    }
  };
  /** Tags `commit` (lightweight, annotated, or signed by `key`) and publishes. */
  const tag = async (name: string, commit: string, how: 'lightweight' | 'annotated' | GpgKey | SshKey, opts: { force?: boolean } = {}): Promise<void> => {
    if (how === 'lightweight') await w.repo.tag(name, { commit, ...opts });
    else if (how === 'annotated') await w.repo.tag(name, { commit, annotated: true, ...opts });
    else {
      w.repo.signWith(signingConfig(how), signingEnv(how));
      try {
        await w.repo.tag(name, { commit, signed: true, ...opts });
      } finally {
        w.repo.signWith([]);
      }
    }
    await w.repo.push(w.served.path);
  };
  const worker = async (): Promise<{ id: string; revision: string } | undefined> => {
    const c = (await projectContainers(env.docker, stack)).worker;
    return c ? { id: c.id, revision: c.labels['io.driftd.revision'] ?? '' } : undefined;
  };
  const verifyRows = (ref: string): { result: string; message: string }[] =>
    w.readState((db) => db.prepare(`SELECT result, message FROM operations WHERE action = 'verify' AND message LIKE ? ORDER BY id`).all(`${ref} (%`) as { result: string; message: string }[]);

  /** `sync` applies `commit` (exit 0, the container runs it) and returns the new running container. */
  const applied = async (commit: string): Promise<void> => {
    const r = await w.run('sync');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const now = await worker();
    expect(now?.revision).toBe(commit);
    running = now;
  };

  /**
   * `sync` refuses the target `ref`: exit 1 with one sentence naming the reason, no stack trace, the
   * container untouched; status says Unknown with the reason; drift-check reports
   * revision-unverified and exits 1; history holds exactly one verify row for it.
   */
  const refused = async (ref: string, reason: RegExp, fingerprint?: string): Promise<void> => {
    const r = await w.run('sync');
    expect(r.code, r.stdout + r.stderr).toBe(1);
    noStackTrace(r);
    expect(r.stderr).toMatch(reason);
    expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('{'))).toHaveLength(1);
    expect(await worker()).toEqual(running);
    const [s, d] = await Promise.all([w.json<StatusJson>('status'), w.run('drift-check', ['--json', '--stack', stack])]);
    expect(s.stacks.find((x) => x.stack === stack)).toMatchObject({ sync: 'Unknown', reason: expect.stringMatching(reason) as unknown });
    if (fingerprint) expect(s.verification?.fingerprint).toBe(fingerprint);
    expect(d.code, d.stdout + d.stderr).toBe(1);
    noStackTrace(d);
    const report = JSON.parse(d.stdout) as DriftJson;
    const findings = report.stacks.find((x) => x.stack === stack)?.findings ?? [];
    expect(findings).toEqual([expect.objectContaining({ kind: 'revision-unverified', severity: 'error' })]);
    expect(findings[0]?.message).toContain(ref);
    const rows = verifyRows(ref);
    expect(rows, JSON.stringify(rows)).toHaveLength(1);
    expect(rows[0]).toMatchObject({ result: 'failed', message: expect.stringMatching(reason) as unknown });
  };

  beforeAll(async () => {
    w = await SyncWorld.create({ labels: env.labels });
    stack = env.project();
    trusted = gpgKey();
    stranger = gpgKey();
    ed = sshKey('ed25519');
    ecdsa = sshKey('ecdsa');
    rsa = sshKey('rsa');
    outsider = sshKey('ed25519', 'outsider@example.test');
    keysDir = tempDir('driftd-keys-');
    writeFileSync(path.join(keysDir, 'release.asc'), trusted.publicKey);
    // allowed_signers as Git reads it (gpg.ssh.allowedSignersFile): principals, options, key.
    writeFileSync(path.join(keysDir, 'allowed_signers'), `ops@example.test ${ed.pub}\nops@example.test namespaces="git" ${ecdsa.pub}\nrsa@example.test ${rsa.pub}\n`);
  }, PHASE_MS);

  afterAll(async () => {
    await w?.close();
  });

  it('mode tag: an annotated tag signed by a trusted OpenPGP key is applied, with its signer in history, status and both reports', async () => {
    verifyConfig('tag');
    const v1 = await change();
    await tag('v1.0.0', v1, trusted);
    await applied(v1);
    const tagObject = await w.repo.git('rev-parse', 'v1.0.0');
    const expected = { object: tagObject, type: 'tag', kind: 'openpgp', signer: { fingerprint: trusted.fingerprint, principal: trusted.email } };
    const [history, status, drift, md] = await Promise.all([
      w.json<HistoryRow[]>('history', ['--limit', '50']),
      w.json<StatusJson>('status'),
      w.run('drift-check', ['--json', '--stack', stack]),
      w.run('drift-check', ['--export', '--markdown', '--stack', stack, '--audit-dir', path.join(w.dir, 'audit')]),
    ]);
    expect(history.find((r) => r.action === 'deploy' && r.revision === v1)?.provenance?.verified).toEqual([expected]);
    expect(status.verification).toBeUndefined();
    expect(status.stacks.find((x) => x.stack === stack)).toMatchObject({ sync: 'Synced', provenance: { verified: [expected] } });
    expect(drift.code, drift.stdout + drift.stderr).toBe(0);
    expect((JSON.parse(drift.stdout) as DriftJson).provenance?.verified).toEqual([expected]);
    expect(md.code, md.stdout + md.stderr).toBe(0);
    expect(md.stdout).toContain(trusted.fingerprint);
    // The runtime export carries the same provenance (drift_report.json and .md).
    const exported = (name: string): string => {
      const found = readdirSync(path.join(w.dir, 'audit'), { recursive: true, encoding: 'utf8' }).filter((f) => path.basename(f) === name);
      expect(found, name).toHaveLength(1);
      return readFileSync(path.join(w.dir, 'audit', found[0]!), 'utf8');
    };
    expect((JSON.parse(exported('drift_report.json')) as DriftJson).provenance?.verified).toEqual([expected]);
    expect(exported('drift_report.md')).toContain(trusted.fingerprint);
  }, PHASE_MS);

  it('mode tag refuses an unsigned annotated tag, a lightweight tag, an unknown OpenPGP key, a tampered tag object and an SSH key outside allowed_signers', async () => {
    await tag('v1.1.0', await change(), 'annotated');
    await refused('v1.1.0', /tag is not signed/);

    await tag('v1.2.0', await change(), 'lightweight');
    await refused('v1.2.0', /lightweight tag/);

    await tag('v1.3.0', await change(), stranger);
    await refused('v1.3.0', new RegExp(`OpenPGP key ${stranger.fingerprint}, which is not a trusted key`), stranger.fingerprint);

    // Hostile raw object: v1.0.0's tag object with its valid signature, re-pointed at another commit and renamed.
    const other = await change();
    const original = await w.repo.git('cat-file', 'tag', 'v1.0.0');
    const forged = `${original.replace(/^object [0-9a-f]{40}$/m, `object ${other}`).replace(/^tag v1\.0\.0$/m, 'tag v1.4.0')}\n`;
    const forgedOid = execFileSync('git', ['hash-object', '-w', '-t', 'tag', '--literally', '--stdin'], { cwd: w.repo.dir, input: forged, encoding: 'utf8' }).trim();
    await w.repo.git('update-ref', 'refs/tags/v1.4.0', forgedOid);
    await w.repo.push(w.served.path);
    await refused('v1.4.0', /does not match the signed content/);

    await tag('v1.5.0', await change(), outsider);
    await refused('v1.5.0', new RegExp(`SSH key ${outsider.fingerprint.replace(/[+/]/g, '\\$&')}, which is not in the allowed signers`), outsider.fingerprint);

    // The agent's next poll of the same target reads the cached verdict: still refused, not recorded again; `history` shows the row.
    const again = await w.run('sync');
    expect(again.code).toBe(1);
    expect(verifyRows('v1.5.0')).toHaveLength(1);
    const history = await w.json<HistoryRow[]>('history', ['--limit', '50']);
    expect(history.filter((h) => h.action === 'verify' && h.result === 'failed').map((h) => /^(v[\d.]+) /.exec(h.message ?? '')?.[1]).sort()).toEqual(['v1.1.0', 'v1.2.0', 'v1.3.0', 'v1.4.0', 'v1.5.0']);

    // A rollback to an unverified tag is refused the same way, and audited.
    const rb = await w.run('rollback', ['v1.1.0']);
    expect(rb.code, rb.stdout + rb.stderr).toBe(1);
    noStackTrace(rb);
    expect(rb.stderr).toMatch(/tag is not signed/);
    expect(await worker()).toEqual(running);
    const audit = w.readState((db) => db.prepare(`SELECT action, detail FROM audit WHERE action = 'verify'`).all() as { detail: string }[]);
    expect(audit.filter((a) => (JSON.parse(a.detail) as { ref?: string }).ref === 'v1.1.0')).toHaveLength(2);
  }, PHASE_MS);

  it('mode tag applies tags signed by trusted SSH keys (Ed25519, ECDSA P-256, RSA) and refuses the deployed tag once it moves to an unsigned commit', async () => {
    const commits: Record<string, string> = {};
    for (const [name, key] of [
      ['v1.6.0', ed],
      ['v1.7.0', ecdsa],
      ['v1.8.0', rsa],
    ] as const) {
      const commit = (commits[name] = await change());
      await tag(name, commit, key);
      await applied(commit);
    }
    const history = await w.json<HistoryRow[]>('history', ['--limit', '50']);
    for (const [name, key, principal] of [
      ['v1.6.0', ed, 'ops@example.test'],
      ['v1.7.0', ecdsa, 'ops@example.test'],
      ['v1.8.0', rsa, 'rsa@example.test'],
    ] as const) {
      const row = history.find((h) => h.action === 'deploy' && h.revision === commits[name]);
      expect(row?.provenance?.verified, name).toEqual([expect.objectContaining({ type: 'tag', kind: 'ssh', signer: { fingerprint: key.fingerprint, principal } })]);
    }

    // The deployed tag is moved (re-created, unsigned) to another commit: refused, v1.8.0's container stays.
    await tag('v1.8.0', await change(), 'annotated', { force: true });
    const moved = await w.run('sync');
    expect(moved.code, moved.stdout + moved.stderr).toBe(1);
    noStackTrace(moved);
    expect(moved.stderr).toMatch(/tag is not signed/);
    expect(await worker()).toEqual(running);
    expect(running?.revision).toBe(commits['v1.8.0']);
  }, PHASE_MS);

  it('mode head: a signed commit behind a lightweight tag is applied; a signed tag on an unsigned commit is refused', async () => {
    verifyConfig('head');
    const signed = await change({ signedBy: trusted });
    await tag('v1.9.0', signed, 'lightweight');
    await applied(signed);
    const status = await w.json<StatusJson>('status');
    expect(status.stacks.find((x) => x.stack === stack)?.provenance?.verified).toEqual([
      { object: signed, type: 'commit', kind: 'openpgp', signer: { fingerprint: trusted.fingerprint, principal: trusted.email } },
    ]);

    await tag('v1.10.0', await change(), ed);
    await refused('v1.10.0', /commit is not signed/);
  }, PHASE_MS);

  it('mode tag-and-head: a signed tag on a signed commit is applied; a signed tag on an unsigned commit and a lightweight tag on a signed commit are refused', async () => {
    verifyConfig('tag-and-head');
    const both = await change({ signedBy: ecdsa });
    await tag('v1.11.0', both, trusted);
    await applied(both);
    const history = await w.json<HistoryRow[]>('history', ['--limit', '50']);
    const kinds = history.find((h) => h.action === 'deploy' && h.revision === both)?.provenance?.verified.map((v) => `${v.type}:${v.kind}:${v.signer.fingerprint}`);
    expect(kinds?.sort()).toEqual([`commit:ssh:${ecdsa.fingerprint}`, `tag:openpgp:${trusted.fingerprint}`].sort());

    await tag('v1.12.0', await change(), trusted);
    await refused('v1.12.0', /commit is not signed/);
    await tag('v1.13.0', await change({ signedBy: trusted }), 'lightweight');
    await refused('v1.13.0', /lightweight tag/);
  }, PHASE_MS);

  it('rollback --allow-unverified deploys an unverified tag, and the pin and its provenance say so in the audit trail', async () => {
    const target = await w.repo.git('rev-parse', 'v1.1.0^{commit}');
    const forced = await w.run('rollback', ['v1.1.0', '--allow-unverified']);
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    const now = await worker();
    expect(now?.revision).toBe(target);
    const audit = w.readState((db) => db.prepare(`SELECT action, detail FROM audit ORDER BY id`).all() as { action: string; detail: string }[]);
    expect(audit.some((a) => a.action === 'pin' && (JSON.parse(a.detail) as { allowUnverified?: boolean }).allowUnverified === true)).toBe(true);
    const status = await w.json<StatusJson>('status');
    expect(status.stacks.find((x) => x.stack === stack)?.provenance).toMatchObject({ verified: [], allowedUnverified: true });
  }, PHASE_MS);
});

describe('verification off', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let w: SyncWorld | undefined;
  afterAll(async () => {
    await w?.close();
  });

  it('an unsigned tag is applied as before; with refuseMovedTags a moved tag is refused, and stays refused on later polls', async () => {
    w = await SyncWorld.create({ labels: env.labels });
    const world = w;
    const stack = env.project();
    const config = path.join(world.dir, 'config.yaml');
    writeFileSync(config, 'verify:\n  mode: off\nrefuseMovedTags: true\nref:\n  tag: v1.0.0\n');
    world.configFile = config;
    world.repo.writeStack(stack, { 'compose.yaml': world.composeFile({ worker: { image: TEST_IMAGES.worker10, environment: { LEVEL: '1' } } }) }).writeFleet(fleetYaml(world.host, [stack]));
    const v1 = await world.release('v1.0.0');
    const first = await world.run('sync');
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const id = (await projectContainers(env.docker, stack)).worker?.id;
    world.repo.writeStack(stack, { 'compose.yaml': world.composeFile({ worker: { image: TEST_IMAGES.worker10, environment: { LEVEL: '2' } } }) });
    const other = await world.repo.commit('moved');
    await world.repo.moveTag('v1.0.0', other);
    await world.repo.push(world.served.path);
    for (let i = 0; i < 2; i++) {
      const r = await world.run('sync');
      expect(r.code, r.stdout + r.stderr).toBe(1);
      noStackTrace(r);
      expect(r.stderr).toMatch(/moved .*refuseMovedTags/);
      expect((await projectContainers(env.docker, stack)).worker).toMatchObject({ id, labels: expect.objectContaining({ 'io.driftd.revision': v1 }) });
    }
  }, PHASE_MS);
});
