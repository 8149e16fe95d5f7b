/**
 * `driftd hub` with `hubServer.tls` (a certificate signed by a CA that `openssl` makes in the
 * test): it speaks https only; a real `driftd agent` that trusts the CA by `hub.caFile` reports
 * to it; `driftd fleet status` trusts it with `--ca-file` and refuses it without (exit 1, the
 * certificate is not trusted). Refusals to start, each exit 1 with one sentence: a missing
 * certificate file, a CA file that is not PEM, `--database postgres://…`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileCapture } from '../../src/util/exec.js';
import { requestText } from '../../src/util/http-request.js';
import { pollUntil } from '../support/docker.js';
import { freePort } from '../support/free-port.js';
import { startHubProcess, type HubProcess } from '../support/hub-fixture.js';
import { RepoBuilder } from '../support/repo-builder.js';
import { buildCli } from '../support/sync-harness.js';

const READ = 'hub-read-token-for-the-tls-test';
const AGENT = 'agent-token-tls-host-0123456789abcdef';

async function openssl(args: string[], cwd: string): Promise<void> {
  const r = await execFileCapture('openssl', args, { cwd, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

describe('driftd hub over TLS', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'driftd-hub-tls-'));
  const ca = path.join(dir, 'ca.pem');
  let bin: string;
  let hub: HubProcess;
  let port: number;
  let repo: RepoBuilder;
  let agent: ChildProcess | undefined;
  const cli = (args: string[], env: Record<string, string> = {}) =>
    execFileCapture(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH ?? '', HOME: dir, ...env }, timeoutMs: 120_000 });
  const fleet = async (): Promise<{ hosts: { host: string; state: string }[] }> => {
    const r = await requestText(`https://127.0.0.1:${port}/api/fleet`, { headers: { authorization: `Bearer ${READ}` }, ca: readFileSync(ca, 'utf8') });
    expect(r.status).toBe(200);
    return JSON.parse(r.text) as never;
  };

  beforeAll(async () => {
    bin = await buildCli();
    // A CA, and a server certificate for 127.0.0.1 signed by it.
    await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=driftd test CA'], dir);
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'hub.key', '-out', 'hub.csr', '-subj', '/CN=127.0.0.1'], dir);
    writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
    await openssl(['x509', '-req', '-in', 'hub.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'hub.pem', '-days', '2', '-extfile', 'san.ext'], dir);
    writeFileSync(path.join(dir, 'agents.yaml'), `tls-host: ${AGENT}\n`, { mode: 0o600 });
    writeFileSync(path.join(dir, 'read.token'), `${READ}\n`, { mode: 0o600 });
    writeFileSync(path.join(dir, 'agent.token'), `${AGENT}\n`, { mode: 0o600 });
    writeFileSync(
      path.join(dir, 'hub.yaml'),
      `hubServer:\n  readTokenFile: ${path.join(dir, 'read.token')}\n  agentTokensFile: ${path.join(dir, 'agents.yaml')}\n  tls:\n    certFile: ${path.join(dir, 'hub.pem')}\n    keyFile: ${path.join(dir, 'hub.key')}\n`,
    );
    port = await freePort();
    const caPem = readFileSync(ca, 'utf8');
    hub = await startHubProcess({
      bin,
      config: path.join(dir, 'hub.yaml'),
      dataDir: path.join(dir, 'data'),
      port,
      home: dir,
      scheme: 'https',
      fetchHealth: async (url) => (await requestText(url, { ca: caPem, signal: AbortSignal.timeout(10_000) })).status === 200,
    });
    repo = await RepoBuilder.create();
    repo.write('README.md', 'no stacks\n');
    await repo.commit('v1');
    await repo.tag('v1.0.0');
  }, 300_000);

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await new Promise((r) => agent!.once('exit', r));
    }
    await hub?.stop();
    repo?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers https only: plain http to its port gets no HTTP answer', async () => {
    await expect(requestText(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.status)).rejects.toThrow();
  });

  it('a real agent with hub.caFile reports over https; fleet status trusts the hub with --ca-file and refuses it without', async () => {
    const config = path.join(dir, 'agent.yaml');
    writeFileSync(config, `hub:\n  url: https://127.0.0.1:${port}\n  tokenFile: ${path.join(dir, 'agent.token')}\n  caFile: ${ca}\n  heartbeat: 5s\n`);
    agent = spawn(process.execPath, [bin, 'agent', '--config', config, '--repo', repo.dir, '--data-dir', path.join(dir, 'agent-data'), '--host', 'tls-host', '--interval', '1h', '--log-level', 'warn'], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, DOCKER_HOST: process.env.DOCKER_HOST ?? '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    agent.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    await pollUntil(`tls-host to report over https (agent stderr: ${stderr})`, async () => ((await fleet()).hosts.find((h) => h.host === 'tls-host')?.state === 'synced' ? true : undefined), {
      timeoutMs: 180_000,
      intervalMs: 500,
    });
    const trusted = await cli(['fleet', 'status', '--hub', `https://127.0.0.1:${port}`, '--ca-file', ca], { DRIFTD_HUB_TOKEN: READ });
    expect(trusted.stderr).toBe('');
    expect(trusted.code).toBe(0);
    expect(trusted.stdout).toMatch(/tls-host\s+synced/);
    const viaEnv = await cli(['fleet', 'status', '--hub', `https://127.0.0.1:${port}`, '--json'], { DRIFTD_HUB_TOKEN: READ, DRIFTD_HUB_CA_FILE: ca });
    expect(viaEnv.code).toBe(0);
    const untrusted = await cli(['fleet', 'status', '--hub', `https://127.0.0.1:${port}`], { DRIFTD_HUB_TOKEN: READ });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/^driftd: the hub at https:\/\/127\.0\.0\.1:\d+ did not answer: .*(certificate|self.signed|issuer)/i);
    expect(stderr).not.toContain('hub: the report');
  });

  it.each([
    ['a missing certificate file', (y: string) => y.replace('hub.pem', 'missing.pem'), [], /^driftd: the hub cannot start: hubServer\.tls\.certFile .*missing\.pem cannot be read \(ENOENT\)$/],
    ['a certificate that does not match the key', (y: string) => y.replace('hub.pem', 'ca.pem'), [], /^driftd: the hub cannot start: hubServer\.tls: /],
    ['--database postgres://…', (y: string) => y, ['--database', 'postgres://hub@db.example/driftd'], /^driftd: the hub stores its data in SQLite in this version; PostgreSQL is the documented path for a highly available hub \(docs\/hub\.md\), not built yet$/],
  ])('refuses to start with %s: exit 1, one sentence', async (_name, change, extra, message) => {
    const config = path.join(dir, `refuse-${extra.length}-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(config, change(readFileSync(path.join(dir, 'hub.yaml'), 'utf8')));
    const r = await cli(['hub', '--config', config, '--data-dir', path.join(dir, 'refused'), '--listen', `127.0.0.1:${await freePort()}`, '--repo', dir, ...extra]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });

  it('an agent whose hub.caFile is not PEM refuses to start: exit 1, one sentence', async () => {
    const bad = path.join(dir, 'not-a-ca.txt');
    writeFileSync(bad, 'hello\n');
    const config = path.join(dir, 'bad-agent.yaml');
    writeFileSync(config, `hub:\n  url: https://127.0.0.1:${port}\n  tokenFile: ${path.join(dir, 'agent.token')}\n  caFile: ${bad}\n`);
    const r = await cli(['agent', '--config', config, '--repo', repo.dir, '--data-dir', path.join(dir, 'bad-agent-data'), '--host', 'tls-host', '--interval', '1h']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^driftd: hub\.caFile .*not-a-ca\.txt holds no PEM certificate$/);
  });
});
