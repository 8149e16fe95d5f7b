/**
 * Signature verification of revisions fetched over smart HTTP from a loopback `git http-backend`,
 * with keys made in the test by gpg (throwaway GNUPGHOME, faked system time for expiry) and
 * ssh-keygen: expired and revoked OpenPGP keys, verify.mode head with signed/unsigned commits
 * and tags, and the verdict cache (a no-change poll reads no object).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitSource, type GitSource } from '../../src/source/index.js';
import { openState, type StateStore } from '../../src/state/index.js';
import { verifyRevision, type VerifySettings } from '../../src/verify/index.js';
import { GitServer, type ServedRepo } from '../support/git-server.js';
import { RepoBuilder } from '../support/repo-builder.js';
import { gpgEnv, gpgKey, stopGpgAgents, revokeSubkey, signingConfig, signingEnv, sshKey, tempDir, type GpgKey, type SshKey } from '../support/signing.js';

// The gpg-agents of the keys this file makes (test/support/signing.ts).
afterAll(() => stopGpgAgents());

describe('verifying revisions fetched over HTTP', () => {
  let server: GitServer;
  let served: ServedRepo;
  let repo: RepoBuilder;
  let dataDir: string;
  let source: GitSource;
  let state: StateStore;

  beforeEach(async () => {
    server = await GitServer.start();
    served = await server.createRepo('desired.git');
    repo = await RepoBuilder.create();
    repo.writeSimpleStack('edge');
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-data-'));
    source = createGitSource({ repo: served.url, dataDir, timeoutMs: 10_000, fetchTagObjects: true });
    state = openState(dataDir);
  });

  afterEach(async () => {
    state.close();
    await server.close();
    repo.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const keysDir = (files: Record<string, string>): string => {
    const dir = tempDir('driftd-keys-');
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    return dir;
  };

  let reads = 0;
  const verify = async (settings: VerifySettings, tag: string) => {
    const resolved = await source.resolve({ kind: 'tag', tag });
    return verifyRevision(
      settings,
      { commit: resolved.commit, ref: resolved.ref, refKind: resolved.refKind, ...(resolved.tagObject ? { tagObject: resolved.tagObject } : {}) },
      {
        readObject: (oid) => {
          reads += 1;
          return source.readObject(oid);
        },
        store: state,
      },
    );
  };

  const sign = (key: GpgKey | SshKey): void => {
    repo.signWith(signingConfig(key), signingEnv(key));
  };

  it('OpenPGP expiry as gpg: a signature made before the key expired verifies, one made after does not', async () => {
    const t0 = Math.floor(Date.now() / 1000) - 10 * 86_400;
    const key = gpgKey({ fakedTime: t0 });
    const at = (t: number) => writeFileSync(path.join(key.home, 'gpg.conf'), `faked-system-time ${t}!\n`);
    sign(key);
    // Signed at t0+5d while the key had no expiry; then (at t0+1h) the key gets a 1-day expiry: the later signature is after it.
    at(t0 + 5 * 86_400);
    repo.write('a', '1');
    await repo.commit('late', { sign: true });
    await repo.tag('late', { signed: true });
    at(t0 + 3600);
    execFileSync('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-set-expire', key.fingerprint, '1d'], { env: { ...process.env, ...gpgEnv(key.home) } });
    at(t0 + 7200);
    repo.write('a', '2');
    await repo.commit('early', { sign: true });
    await repo.tag('early', { signed: true });
    rmSync(path.join(key.home, 'gpg.conf'));
    await repo.push(served.path);
    const publicKey = execFileSync('gpg', ['--batch', '--armor', '--export', key.fingerprint], { env: { ...process.env, ...gpgEnv(key.home) }, encoding: 'utf8' });
    const keys = [keysDir({ 'release.asc': publicKey })];
    for (const mode of ['tag', 'head'] as const) {
      expect((await verify({ mode, keys, refuseMovedTags: false }, 'early')).verdict.ok).toBe(true);
      expect((await verify({ mode, keys, refuseMovedTags: false }, 'late')).verdict).toMatchObject({ ok: false, reason: 'expired-key', fingerprint: key.fingerprint });
    }
  });

  it('a revoked signing subkey fails whenever it signed; before the revocation is known, the same signature verifies', async () => {
    const key = gpgKey({ signingSubkey: true });
    sign({ ...key, fingerprint: `${key.subkey!}!` });
    repo.write('a', '1');
    await repo.commit('by subkey', { sign: true });
    await repo.tag('v1.0.0', { signed: true });
    await repo.push(served.path);
    const before = await verify({ mode: 'tag-and-head', keys: [keysDir({ 'k.asc': key.publicKey })], refuseMovedTags: false }, 'v1.0.0');
    expect(before.verdict.ok && before.verdict.provenance.verified.map((v) => v.signer)).toEqual([
      { fingerprint: key.fingerprint, subkeyFingerprint: key.subkey, principal: key.email },
      { fingerprint: key.fingerprint, subkeyFingerprint: key.subkey, principal: key.email },
    ]);
    // The operator replaces the key file with the revoked key: the key set changed, so the cached verdict is not used.
    const after = await verify({ mode: 'tag', keys: [keysDir({ 'k.asc': revokeSubkey(key) })], refuseMovedTags: false }, 'v1.0.0');
    expect(after).toMatchObject({ fresh: true, verdict: { ok: false, reason: 'revoked-key', fingerprint: key.subkey } });
  });

  it('mode head: a signed commit behind an unsigned tag verifies; an unsigned commit behind a signed tag does not (tag-and-head: neither)', async () => {
    const ssh = sshKey('ed25519');
    const keys = [keysDir({ allowed_signers: `ops@example.test ${ssh.pub}\n` })];
    sign(ssh);
    repo.write('a', '1');
    await repo.commit('signed commit', { sign: true });
    repo.signWith([]);
    await repo.tag('v1.0.0', { annotated: true });
    repo.write('a', '2');
    await repo.commit('unsigned commit');
    sign(ssh);
    await repo.tag('v2.0.0', { signed: true });
    await repo.push(served.path);
    const s = (mode: VerifySettings['mode']): VerifySettings => ({ mode, keys, refuseMovedTags: false });
    expect((await verify(s('head'), 'v1.0.0')).verdict.ok).toBe(true);
    expect((await verify(s('tag'), 'v1.0.0')).verdict).toMatchObject({ ok: false, reason: 'unsigned' });
    expect((await verify(s('head'), 'v2.0.0')).verdict).toMatchObject({ ok: false, reason: 'unsigned', message: expect.stringMatching(/commit is not signed/) });
    expect((await verify(s('tag'), 'v2.0.0')).verdict.ok).toBe(true);
    expect((await verify(s('tag-and-head'), 'v1.0.0')).verdict.ok).toBe(false);
    expect((await verify(s('tag-and-head'), 'v2.0.0')).verdict.ok).toBe(false);
  });

  it('the verdict is cached by object id: a second poll of the same target reads no object and verifies nothing', async () => {
    const ssh = sshKey('ecdsa');
    const keys = [keysDir({ 'ops.pub': `${ssh.pub}\n` })];
    sign(ssh);
    repo.write('a', '1');
    await repo.commit('c', { sign: true });
    await repo.tag('v1.0.0', { signed: true });
    await repo.push(served.path);
    reads = 0;
    const first = await verify({ mode: 'tag-and-head', keys, refuseMovedTags: false }, 'v1.0.0');
    expect(first).toMatchObject({ fresh: true, verdict: { ok: true } });
    expect(reads).toBe(2);
    const second = await verify({ mode: 'tag-and-head', keys, refuseMovedTags: false }, 'v1.0.0');
    expect(second).toMatchObject({ fresh: false, verdict: { ok: true } });
    expect(reads).toBe(2);
  });

  it('a signed tag object re-used under another tag name is refused (no downgrade by re-pointing a name)', async () => {
    const ssh = sshKey('rsa');
    const keys = [keysDir({ allowed_signers: `ops@example.test ${ssh.pub}\n` })];
    sign(ssh);
    repo.write('a', '1');
    await repo.commit('old');
    await repo.tag('v1.0.0', { signed: true });
    const oid = await repo.git('rev-parse', 'v1.0.0');
    await repo.git('update-ref', 'refs/tags/v9.0.0', oid);
    await repo.push(served.path);
    expect((await verify({ mode: 'tag', keys, refuseMovedTags: false }, 'v1.0.0')).verdict.ok).toBe(true);
    expect((await verify({ mode: 'tag', keys, refuseMovedTags: false }, 'v9.0.0')).verdict).toMatchObject({ ok: false, reason: 'tag-mismatch' });
  });
});
