/**
 * The agent under `verify.mode: tag` (docs/design.md §9), in process, against a loopback Git
 * server: a refused target is recorded once however often it is polled (the verdict is cached;
 * the agent also schedules no backoff retry for it: retrying cannot change a signature), the HTTP
 * status says why, and a new signed tag is applied on the next poll. The host runs no stack of the repo, so no
 * Compose run is needed: what is proven here is the agent's handling of the verdict.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent/daemon.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { silentLogger } from '../../src/util/logger.js';
import { targetEnv } from '../support/compose-target.js';
import { freePort } from '../support/free-port.js';
import { GitServer, type ServedRepo } from '../support/git-server.js';
import { RepoBuilder } from '../support/repo-builder.js';
import { signingConfig, signingEnv, sshKey, tempDir, type SshKey } from '../support/signing.js';

interface HttpStatus {
  lastRun?: { ok: boolean; error?: string };
  verification?: { reason: string; commit: string; ref?: string; fingerprint?: string };
}

describe('the agent with signature verification', () => {
  let server: GitServer;
  let served: ServedRepo;
  let repo: RepoBuilder;
  let dir: string;
  let key: SshKey;

  beforeAll(async () => {
    server = await GitServer.start();
    served = await server.createRepo('signed.git');
    repo = await RepoBuilder.create();
    dir = mkdtempSync(path.join(os.tmpdir(), 'driftd-agent-sig-'));
    key = sshKey('ed25519');
    // The stack goes to another host only: this agent's syncs touch no container.
    repo.writeSimpleStack('app').writeFleet('hosts:\n  elsewhere: [app]\n');
  }, 120_000);

  afterAll(async () => {
    await server.stop();
    repo.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an unsigned tag without a backoff retry, recorded once however often polled; a new signed tag is applied on the next poll; HTTP status says why in between', async () => {
    await repo.commit('v1');
    await repo.tag('v1.0.0', { annotated: true });
    await repo.push(served.path);
    const keys = tempDir('driftd-keys-');
    writeFileSync(path.join(keys, 'allowed_signers'), `ops@example.test ${key.pub}\n`);
    const port = await freePort();
    const dataDir = path.join(dir, 'data');
    const configFile = path.join(dir, 'config.yaml');
    writeFileSync(configFile, `http:\n  listen: 127.0.0.1:${port}\n  readTokenEnv: READ_TOKEN\n  webhookSecretEnv: HOOK_SECRET\njitter: 0s\nverify:\n  mode: tag\n  keys: [${keys}]\n`);
    const config = resolveConfig({ flags: { repo: served.url, dataDir, host: 'h1', config: configFile }, env: { READ_TOKEN: 'r3ad', HOOK_SECRET: 'hook', ...targetEnv() } });
    const agent = await startAgent({ config, logger: silentLogger, runAtStart: false, intervalMs: 3_600_000 });
    const status = async (): Promise<HttpStatus> => (await (await fetch(`http://127.0.0.1:${port}/status`, { headers: { authorization: 'Bearer r3ad' } })).json()) as HttpStatus;
    const db = <T>(fn: (d: Database.Database) => T): T => {
      const d = new Database(path.join(dataDir, 'state.db'), { readonly: true, fileMustExist: true });
      try {
        d.pragma('busy_timeout = 5000');
        return fn(d);
      } finally {
        d.close();
      }
    };
    const verifyRows = (): number => db((d) => (d.prepare(`SELECT count(*) AS n FROM operations WHERE action = 'verify'`).get() as { n: number }).n);
    try {
      await agent.trigger('schedule');
      expect(agent.lastRun).toMatchObject({ ok: false, error: expect.stringMatching(/v1\.0\.0.*tag is not signed/) as unknown });
      const refused = await status();
      expect(refused.verification).toMatchObject({ reason: 'unsigned', ref: 'v1.0.0' });
      expect(verifyRows()).toBe(1);
      // Retrying cannot change a signature: no backoff retry is scheduled (a Git failure schedules one).
      expect(agent.retryPending).toBe(false);

      // The same target polled again: refused from the cached verdict, not recorded again.
      await agent.trigger('webhook');
      expect(agent.lastRun?.ok).toBe(false);
      expect(verifyRows(), JSON.stringify(db((d) => d.prepare(`SELECT message FROM operations`).all()))).toBe(1);
      expect(agent.cycles).toBe(2);

      // A new signed tag: the next poll verifies and applies it.
      repo.signWith(signingConfig(key), signingEnv(key));
      repo.write('note', '2');
      const v2 = await repo.commit('v2');
      await repo.tag('v1.1.0', { signed: true });
      repo.signWith([]);
      await repo.push(served.path);
      await agent.trigger('schedule');
      expect(agent.lastRun, agent.lastRun?.error).toMatchObject({ ok: true });
      expect((await status()).verification).toBeUndefined();
      const provenance = db((d) => d.prepare('SELECT provenance FROM provenance WHERE "commit" = ?').get(v2) as { provenance: string } | undefined);
      expect(JSON.parse(provenance?.provenance ?? '{}')).toMatchObject({ commit: v2, ref: 'v1.1.0', verified: [{ type: 'tag', kind: 'ssh', signer: { fingerprint: key.fingerprint, principal: 'ops@example.test' } }] });

      // A no-change poll: nothing about signatures is written (no verdict, no verification, no history row).
      const before = db((d) => JSON.stringify([d.prepare('SELECT * FROM signature_verdicts ORDER BY object_id, scope').all(), d.prepare('SELECT * FROM verification').all(), d.prepare('SELECT * FROM provenance').all()]));
      await agent.trigger('schedule');
      expect(agent.lastRun?.ok).toBe(true);
      expect(db((d) => JSON.stringify([d.prepare('SELECT * FROM signature_verdicts ORDER BY object_id, scope').all(), d.prepare('SELECT * FROM verification').all(), d.prepare('SELECT * FROM provenance').all()]))).toBe(before);
      expect(verifyRows()).toBe(1);
    } finally {
      await agent.stop();
    }
  }, 300_000);
});
