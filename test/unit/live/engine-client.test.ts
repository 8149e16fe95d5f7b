/**
 * The engine client's query strings, auth header, transports and error shapes, against our own
 * test server (engine-test-server.ts) and `ssh` shims. The real engine is in
 * test/integration/engine-client.test.ts.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type Dockerode from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { callDocker, toDockerError } from '../../../src/live/docker-call.js';
import { createDockerClient, pingDocker } from '../../../src/live/docker-client.js';
import type { EngineApi } from '../../../src/live/engine-api.js';
import { engineQuery, registryAuthHeader } from '../../../src/live/engine-client.js';
import { EngineTestServer, json } from './engine-test-server.js';
import { loadScaledBudget } from '../../support/budget.js';

const REPO = path.resolve(import.meta.dirname, '../../..');

describe('engineQuery', () => {
  it('all=1 and the filters JSON-encoded; nothing when there is nothing to say', () => {
    const q = engineQuery({ all: true, filters: { label: ['com.docker.compose.project=web', 'io.driftd'] } });
    const params = new URLSearchParams(q.slice(1));
    expect(q.startsWith('?')).toBe(true);
    expect(params.get('all')).toBe('1');
    expect(JSON.parse(params.get('filters')!)).toEqual({ label: ['com.docker.compose.project=web', 'io.driftd'] });
    expect(engineQuery({})).toBe('');
    expect(engineQuery({ all: false, filters: {} })).toBe('');
  });
});

describe('registryAuthHeader', () => {
  it('base64 of the JSON with the URL alphabet and padding, as the docker CLI and dockerode send it', () => {
    // Standard base64 of this JSON has both "+" and "/" and ends in "==".
    const header = registryAuthHeader({ username: 'u', password: 'þ???', serveraddress: 'r' });
    expect(header).toBe('eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6IsO-Pz8_Iiwic2VydmVyYWRkcmVzcyI6InIifQ==');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString('utf8'))).toEqual({ username: 'u', password: 'þ???', serveraddress: 'r' });
    const token = registryAuthHeader({ identitytoken: 'tok', serveraddress: 'ghcr.io' });
    expect(JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))).toEqual({ identitytoken: 'tok', serveraddress: 'ghcr.io' });
  });
});

it('a Dockerode instance satisfies EngineApi (the tests drive the engine with both)', () => {
  expectTypeOf<Dockerode>().toMatchTypeOf<EngineApi>();
});

describe('EngineClient over a unix socket (our test server)', () => {
  let server: EngineTestServer;
  let docker: EngineApi;
  beforeAll(async () => {
    server = await EngineTestServer.start();
    docker = createDockerClient({ dockerHost: server.address }).docker;
  });
  afterAll(() => server.close());
  afterEach(() => {
    server.received.length = 0;
    server.route = json(200, {});
  });

  it('requests unversioned API paths, names URL-encoded, filters as the API expects', async () => {
    await docker.ping();
    await docker.version();
    await docker.info();
    await docker.listContainers({ all: true, filters: { label: ['a=b'] } });
    await docker.listContainers({});
    await docker.listNetworks({ filters: { label: ['com.docker.compose.project'] } });
    await docker.listVolumes({ filters: { label: ['com.docker.compose.project'] } });
    await docker.getContainer('0123abcd').inspect();
    await docker.getImage('127.0.0.1:5000/driftd/app:1.0').inspect();
    await docker.getImage('sha256:0123').inspect();
    await docker.getImage('127.0.0.1:5000/driftd/app@sha256:0123').distribution({});
    const filters = (f: unknown): string => encodeURIComponent(JSON.stringify(f));
    expect(server.received.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /_ping',
      'GET /version',
      'GET /info',
      `GET /containers/json?all=1&filters=${filters({ label: ['a=b'] })}`,
      'GET /containers/json',
      `GET /networks?filters=${filters({ label: ['com.docker.compose.project'] })}`,
      `GET /volumes?filters=${filters({ label: ['com.docker.compose.project'] })}`,
      'GET /containers/0123abcd/json',
      'GET /images/127.0.0.1%3A5000%2Fdriftd%2Fapp%3A1.0/json',
      'GET /images/sha256%3A0123/json',
      'GET /distribution/127.0.0.1%3A5000%2Fdriftd%2Fapp%40sha256%3A0123/json',
    ]);
    expect(server.received.at(-1)!.headers['x-registry-auth']).toBeUndefined();
  });

  it('distribution sends the registry login as X-Registry-Auth', async () => {
    const authconfig = { username: 'ci', password: 's3cret', serveraddress: '127.0.0.1:5000' };
    await docker.getImage('127.0.0.1:5000/driftd/app:1.0').distribution({ authconfig });
    expect(server.received[0]!.headers['x-registry-auth']).toBe(registryAuthHeader(authconfig));
    expect(server.received[0]!.url).not.toContain('s3cret');
  });

  it('JSON answers are parsed, /_ping text is text', async () => {
    server.route = (req, res) =>
      req.url === '/_ping' ? res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('OK') : json(200, { Version: '20.10.24' })(req, res);
    expect(await docker.ping()).toBe('OK');
    expect(await docker.version()).toEqual({ Version: '20.10.24' });
  });

  it("an HTTP error carries the status and the engine's message", async () => {
    server.route = json(404, { message: 'No such container: gone' });
    const err = await docker.getContainer('gone').inspect().catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'EngineHttpError', statusCode: 404, message: 'No such container: gone' });
    expect(await callDocker('inspect container gone', server.address, () => docker.getContainer('gone').inspect(), true)).toBeUndefined();

    server.route = json(500, { message: 'boom:\n  disk full' });
    await expect(callDocker('version', server.address, () => docker.version())).rejects.toMatchObject({
      code: 'DockerApiError',
      data: { status: 500 },
      message: `Docker API call "version" at ${server.address} failed: boom: disk full; check the engine's logs and retry`,
    });
  });

  it('an error body that is not the engine\'s JSON is quoted with the status', async () => {
    server.route = (_req, res) => res.writeHead(502, { 'Content-Type': 'text/html' }).end('<h1>Bad Gateway</h1>');
    await expect(docker.version()).rejects.toMatchObject({ statusCode: 502, message: 'HTTP 502: <h1>Bad Gateway</h1>' });
    server.route = (_req, res) => res.writeHead(503).end();
    await expect(docker.version()).rejects.toMatchObject({ statusCode: 503, message: 'HTTP 503' });
  });

  it('a 200 with broken JSON is an API error, not a crash', async () => {
    server.route = (_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"Version":');
    await expect(callDocker('version', server.address, () => docker.version())).rejects.toMatchObject({
      code: 'DockerApiError',
      message: expect.stringContaining('the engine answered invalid JSON') as string,
    });
  });

  it('ping gives up when the engine does not answer: before the headers and in the middle of the body', async () => {
    server.route = () => undefined;
    await expect(pingDocker(docker, server.address, 200)).rejects.toThrow(`cannot reach Docker at ${server.address}: no answer in time; start Docker or set DOCKER_HOST`);
    server.route = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '10' });
      res.write('O');
    };
    await expect(pingDocker(docker, server.address, 200)).rejects.toThrow('no answer in time');
  });

  it('16 calls in flight share at most 4 connections, and the next calls reuse them', async () => {
    const before = server.connections;
    server.route = (req, res) => setTimeout(() => json(200, { url: req.url })(req, res), 20);
    const ids = Array.from({ length: 16 }, (_, i) => `c${i}`);
    const answers = await Promise.all(ids.map((id) => docker.getContainer(id).inspect()));
    expect(answers).toEqual(ids.map((id) => ({ url: `/containers/${id}/json` })));
    const opened = server.connections - before;
    expect(opened).toBeGreaterThan(0);
    expect(opened).toBeLessThanOrEqual(4);
    await Promise.all(ids.map((id) => docker.getContainer(id).inspect()));
    expect(server.connections - before).toBe(opened);
  });
});

describe('transport errors keep their code (DockerUnreachable through callDocker)', () => {
  it('a socket that does not exist: ENOENT', async () => {
    const address = 'unix:///nonexistent/driftd-test/docker.sock';
    const { docker } = createDockerClient({ dockerHost: address });
    const err = await docker.version().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ENOENT' });
    expect(toDockerError(err, 'version', address)).toMatchObject({
      code: 'DockerUnreachable',
      message: `cannot reach Docker at ${address}: connect ENOENT /nonexistent/driftd-test/docker.sock; start Docker or set DOCKER_HOST`,
    });
  });

  it('a TCP port nobody listens on: ECONNREFUSED', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const address = `tcp://127.0.0.1:${port}`;
    const { docker } = createDockerClient({ dockerHost: address });
    await expect(callDocker('list containers', address, () => docker.listContainers({ all: true }))).rejects.toMatchObject({
      code: 'DockerUnreachable',
      message: `cannot reach Docker at ${address}: connect ECONNREFUSED 127.0.0.1:${port}; start Docker or set DOCKER_HOST`,
    });
  });
});

/** A temp dir holding an `ssh` shim (put it first on PATH) and the file it appends its argv to. */
async function sshShim(body: (argvFile: string) => string): Promise<{ dir: string; argvFile: string; invocations(): Promise<string[]> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'driftd-ssh-shim-'));
  const argvFile = path.join(dir, 'argv');
  await writeFile(path.join(dir, 'ssh'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvFile}'\n${body(argvFile)}\n`);
  await chmod(path.join(dir, 'ssh'), 0o755);
  return { dir, argvFile, invocations: async () => (await readFile(argvFile, 'utf8').catch(() => '')).split('\n').filter(Boolean) };
}

/** `docker system dial-stdio` for our test server: stdin/stdout relayed to its unix socket. */
const RELAY = `const s = require('net').connect(process.argv[1]); process.stdin.pipe(s); s.pipe(process.stdout);`;

describe('ssh:// through an ssh shim on PATH', () => {
  let server: EngineTestServer;
  const dirs: string[] = [];
  const path0 = process.env.PATH;
  beforeAll(async () => {
    server = await EngineTestServer.start();
  });
  afterAll(async () => {
    process.env.PATH = path0;
    await server.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("speaks HTTP over the command's stdio, a few ssh processes for many calls", async () => {
    const shim = await sshShim(() => `exec '${process.execPath}' -e "${RELAY}" '${server.socketPath}'`);
    dirs.push(shim.dir);
    process.env.PATH = `${shim.dir}:${path0}`;
    const { docker } = createDockerClient({ dockerHost: 'ssh://ops@build-01:2200' });
    server.route = (req, res) => setTimeout(() => json(200, { url: req.url })(req, res), 20);
    const ids = Array.from({ length: 16 }, (_, i) => `c${i}`);
    expect(await Promise.all(ids.map((id) => docker.getContainer(id).inspect()))).toEqual(ids.map((id) => ({ url: `/containers/${id}/json` })));
    const spawned = await shim.invocations();
    expect(spawned.length).toBeGreaterThan(0);
    expect(spawned.length).toBeLessThanOrEqual(4);
    expect(new Set(spawned)).toEqual(new Set(['-l ops -p 2200 -o ConnectTimeout=30 -T -- build-01 docker system dial-stdio']));
  });

  it("a failing ssh is DockerUnreachable with ssh's own last words", async () => {
    const shim = await sshShim(() => `echo 'ssh: Could not resolve hostname nowhere: Name or service not known' >&2\nexit 255`);
    dirs.push(shim.dir);
    process.env.PATH = `${shim.dir}:${path0}`;
    const address = 'ssh://nowhere';
    const { docker } = createDockerClient({ dockerHost: address });
    await expect(callDocker('version', address, () => docker.version())).rejects.toMatchObject({
      code: 'DockerUnreachable',
      message: 'cannot reach Docker at ssh://nowhere: ssh exited with status 255: ssh: Could not resolve hostname nowhere: Name or service not known; start Docker or set DOCKER_HOST',
    });
  });
});

describe('pooled connections never keep the process alive', () => {
  let server: EngineTestServer;
  let shimDir: string;
  beforeAll(async () => {
    server = await EngineTestServer.start();
    shimDir = (await sshShim(() => `exec '${process.execPath}' -e "${RELAY}" '${server.socketPath}'`)).dir;
  });
  afterAll(async () => {
    await server.close();
    await rm(shimDir, { recursive: true, force: true });
  });

  /** Runs a node process that makes a few calls; resolves with ms from its last answer to its exit. */
  async function exitDelay(dockerHost: string): Promise<number> {
    const script = [
      `const { createDockerClient, pingDocker } = await import(${JSON.stringify(path.join(REPO, 'src/live/docker-client.ts'))});`,
      `const { docker, address } = createDockerClient({ dockerHost: ${JSON.stringify(dockerHost)} });`,
      `await pingDocker(docker, address);`,
      `await Promise.all([docker.version(), docker.info(), docker.listContainers({ all: true })]);`,
      `process.stdout.write('answered');`,
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: REPO,
      env: { ...process.env, PATH: `${shimDir}:${process.env.PATH}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let answeredAt = 0;
    let stderr = '';
    child.stdout.on('data', () => (answeredAt = Date.now()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const killer = setTimeout(() => child.kill(), 90_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(killer);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(answeredAt).toBeGreaterThan(0);
    return Date.now() - answeredAt;
  }

  it.each([['unix socket'], ['ssh']])('%s: the process exits right after its last answer', async (transport) => {
    const address = transport === 'ssh' ? 'ssh://build-01' : server.address;
    const delay = await exitDelay(address);
    const budget = loadScaledBudget(2000);
    expect(delay, budget.note).toBeLessThan(budget.ms);
  }, 120_000);
});
