/**
 * The agent image, built and run the way users deploy it: scripts/build-image.sh builds the local
 * Debian bases (no Docker Hub) and the Dockerfile on them, and deploy/agent.compose.yaml itself
 * starts the agent (host socket, data dir at the same path inside and out, the Git token from a
 * file secret, the host's network). The agent polls the loopback Git server, deploys a stack that
 * bind-mounts a repo file, survives `docker restart`, and applies a new tag. Part of `npm test`
 * (measured times in docs/image.md); DRIFTD_TEST_IMAGE=0 skips it.
 */
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileCapture } from '../../src/util/exec.js';
import { REPO_ROOT } from '../support/build-driftd.js';
import { pollUntil, useDockerTestScope } from '../support/docker.js';
import { randomName } from '../support/docker-resources.js';
import { freePort } from '../support/free-port.js';
import { GitServer } from '../support/git-server.js';
import { RepoBuilder } from '../support/repo-builder.js';
import { TEST_IMAGES } from '../support/test-env.js';

const ENABLED = process.env.DRIFTD_TEST_IMAGE !== '0';
const AGENT_UID = 10001;
const TOKEN = `tok-${randomName(12)}`;
// A ceiling, not a budget: a cold build (bases from Debian packages) took 5 min on a busy machine.
const BUILD_TIMEOUT = 30 * 60_000;

async function run(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  const r = await execFileCapture(file, args, { cwd: REPO_ROOT, env: { ...process.env, ...opts.env }, timeoutMs: opts.timeoutMs ?? 120_000 });
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.code}): ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

function appStack(conf: string): Record<string, string> {
  return {
    'compose.yaml': `services:\n  app:\n    image: ${TEST_IMAGES.worker10}\n    volumes:\n      - ./config/app.conf:/etc/app.conf:ro\n`,
    'config/app.conf': conf,
  };
}

describe.skipIf(!ENABLED)('the agent image, run as deploy/agent.compose.yaml describes', () => {
  const scope = useDockerTestScope({ cleanupAfter: 'all' });
  const image = `driftd-image-test-${randomName(8)}:test`;
  const agentProject = scope.project();
  const stack = scope.project();
  const work = mkdtempSync(path.join(os.tmpdir(), 'driftd-image-'));
  const dataDir = path.join(work, 'data');
  let server: GitServer;
  let repo: RepoBuilder;
  let port: number;
  let composeEnv: NodeJS.ProcessEnv;
  let revision: string;

  const compose = (...args: string[]): Promise<string> =>
    run('docker', ['compose', '-f', path.join(REPO_ROOT, 'deploy/agent.compose.yaml'), '-p', agentProject, ...args], { env: composeEnv });
  const agentContainer = async (): Promise<string> => (await compose('ps', '-a', '-q', 'driftd')).trim();
  const inAgent = async (...args: string[]): Promise<string> => run('docker', ['exec', await agentContainer(), ...args]);

  async function stackContainer(): Promise<{ id: string; labels: Record<string, string> } | undefined> {
    const list = await scope.docker.listContainers({ filters: { label: [`com.docker.compose.project=${stack}`] } });
    const c = list.find((x) => x.State === 'running');
    return c ? { id: c.Id, labels: c.Labels } : undefined;
  }
  async function appConf(): Promise<string | undefined> {
    const c = await stackContainer();
    return c ? run('docker', ['exec', c.id, 'cat', '/etc/app.conf']).catch(() => undefined) : undefined;
  }

  beforeAll(async () => {
    // Local bases from Debian packages (cached by a hash of their recipe), then the Dockerfile.
    revision = (await run('git', ['rev-parse', 'HEAD'])).trim();
    await run('bash', ['scripts/build-image.sh', '-q'], { env: { DRIFTD_IMAGE: image }, timeoutMs: BUILD_TIMEOUT });

    server = await GitServer.start({ auth: { username: 'driftd', password: TOKEN } });
    const served = await server.createRepo('desired.git');
    repo = await RepoBuilder.create();
    repo.writeStack(stack, appStack('greeting = one\n'));
    await repo.commit('v1');
    await repo.tag('v1.0.0');
    await repo.push(served.path);

    // What an operator prepares: the data dir owned by the image's user, the token readable by it.
    port = await freePort();
    const configFile = path.join(work, 'config.yaml');
    writeFileSync(configFile, `repo: ${served.url}\nref:\n  semver: ">=1.0.0 <2"\n  tagPrefix: v\ninterval: 2s\nhttp:\n  listen: 127.0.0.1:${port}\n`);
    const tokenFile = path.join(work, 'git_token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o400 });
    chownSync(tokenFile, AGENT_UID, AGENT_UID);
    await run('install', ['-d', '-m', '0700', '-o', String(AGENT_UID), '-g', String(AGENT_UID), dataDir]);
    chmodSync(work, 0o755);
    const socketGid = (await run('stat', ['-c', '%g', '/var/run/docker.sock'])).trim();
    composeEnv = {
      AGENT_IMAGE: image,
      AGENT_DATA_DIR: dataDir,
      AGENT_CONFIG: configFile,
      AGENT_GIT_TOKEN: tokenFile,
      AGENT_HTTP_LISTEN: `127.0.0.1:${port}`,
      DOCKER_GID: socketGid,
      DRIFTD_HOST: 'image-test',
    };
    await compose('up', '-d');
  }, BUILD_TIMEOUT + 10 * 60_000);

  afterAll(async () => {
    if (composeEnv) await compose('down', '--timeout', '60').catch(() => undefined);
    await scope.cleanup();
    await run('docker', ['image', 'rm', image]).catch(() => undefined);
    await server?.close();
    repo?.cleanup();
    rmSync(work, { recursive: true, force: true });
  }, 180_000);

  it('is labelled, runs as an unprivileged user under tini, and stops on SIGTERM', async () => {
    const inspect = JSON.parse(await run('docker', ['image', 'inspect', image])) as {
      Size: number;
      Config: { User: string; Entrypoint: string[]; StopSignal: string; Healthcheck?: { Test: string[] }; Labels: Record<string, string> };
    }[];
    const config = inspect[0]!.Config;
    expect(config.User).toBe('driftd');
    expect(config.Entrypoint).toEqual(['/usr/bin/tini', '--', 'driftd']);
    expect(config.StopSignal).toBe('SIGTERM');
    expect(config.Healthcheck?.Test.join(' ')).toContain('DRIFTD_HEALTH_URL');
    expect(config.Labels).toMatchObject({
      'org.opencontainers.image.title': 'driftd',
      'org.opencontainers.image.version': JSON.parse(await run('node', ['-p', 'JSON.stringify(require("./package.json").version)'])) as string,
      'org.opencontainers.image.revision': revision,
    });
    console.log(`agent image ${image}: ${(inspect[0]!.Size / 1e6).toFixed(0)} MB`);
    // The target (docs/image.md says what dominates).
    expect(inspect[0]!.Size).toBeLessThan(250e6);
    expect((await inAgent('id', '-u')).trim()).toBe(String(AGENT_UID));
  });

  it('deploys the stack from the loopback Git server; its container reads the repo file through the same-path bind mount', async () => {
    await pollUntil('the stack deployed with v1.0.0 content', async () => ((await appConf()) === 'greeting = one\n' ? true : undefined), { timeoutMs: 180_000 });
    const c = await stackContainer();
    expect(c?.labels['io.driftd.ref']).toBe('v1.0.0');
    const mounts = JSON.parse(await run('docker', ['inspect', '--format', '{{json .Mounts}}', c!.id])) as { Source: string; Destination: string }[];
    expect(mounts.find((m) => m.Destination === '/etc/app.conf')?.Source).toBe(path.join(dataDir, 'deploy', stack, 'config', 'app.conf'));
    // The token went over the wire from the file secret: the server refuses requests without it.
    expect(server.requests.some((r) => r.status === 200)).toBe(true);
  });

  it('answers GET /healthz on the host and turns healthy by its own HEALTHCHECK', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(200);
    const id = await agentContainer();
    await pollUntil('Docker to report the agent healthy', async () =>
      (await run('docker', ['inspect', '--format', '{{.State.Health.Status}}', id])).trim() === 'healthy' ? true : undefined,
    { timeoutMs: 180_000 });
  });

  it('does not report or touch its own Compose project', async () => {
    const r = await execFileCapture('docker', ['exec', await agentContainer(), 'driftd', 'drift-check', '--json'], { timeoutMs: 120_000 });
    const report = JSON.parse(r.stdout) as { unmanaged: { stack: string }[]; stacks: { stack: string; sync: string }[] };
    expect(report.unmanaged.map((f) => f.stack)).not.toContain(agentProject);
    expect(report.stacks.find((s) => s.stack === stack)?.sync).toBe('Synced');
  });

  it('keeps its state across `docker restart` (SIGTERM through tini), then applies a new tag', async () => {
    const history = async (): Promise<{ stack: string; action: string; result: string }[]> =>
      JSON.parse(await inAgent('driftd', 'history', '--json')) as { stack: string; action: string; result: string }[];
    const before = await history();
    expect(before.some((h) => h.stack === stack)).toBe(true);
    const deployedId = (await stackContainer())?.id;

    await run('docker', ['restart', await agentContainer()], { timeoutMs: 5 * 60_000 });
    const logs = await execFileCapture('docker', ['logs', await agentContainer()], { timeoutMs: 60_000 });
    expect(logs.stderr + logs.stdout).toContain('"signal":"SIGTERM"');
    await pollUntil('the agent to answer again', async () => (await fetch(`http://127.0.0.1:${port}/healthz`).then((x) => x.ok, () => false)) || undefined, { timeoutMs: 120_000 });
    const after = await history();
    expect(after.length).toBeGreaterThanOrEqual(before.length);
    expect(after).toEqual(expect.arrayContaining(before));
    expect((await stackContainer())?.id).toBe(deployedId);

    repo.writeStack(stack, appStack('greeting = two\n'));
    await repo.commit('v1.1');
    await repo.tag('v1.1.0');
    await repo.push(path.join(server.root, 'desired.git'));
    await pollUntil('the new tag applied', async () => ((await appConf()) === 'greeting = two\n' ? true : undefined), { timeoutMs: 180_000 });
    expect((await stackContainer())?.labels['io.driftd.ref']).toBe('v1.1.0');
    expect((await history()).length).toBeGreaterThan(after.length);
  });
});
