/**
 * driftd's engine client against the REAL dockerd, checked against what dockerode (an
 * independent client) and the registry answer: over the unix socket and over ssh:// (an `ssh`
 * shim first on PATH that runs the real `docker system dial-stdio`).
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callDocker } from '../../src/live/docker-call.js';
import { createDockerClient, pingDocker } from '../../src/live/docker-client.js';
import type { EngineApi } from '../../src/live/engine-api.js';
import { collectInventory } from '../../src/live/inventory.js';
import { registryDigest, TEST_SCOPE_LABEL, useDockerTestScope } from '../support/docker.js';
import { TEST_IMAGES } from '../support/test-env.js';

const env = useDockerTestScope({ cleanupAfter: 'all' });
const dockerode: Docker = env.docker;
let container: Docker.Container;

/** The filter that finds exactly what this file created. */
const mine = (): { label: string[] } => ({ label: [`${TEST_SCOPE_LABEL}=${env.labels[TEST_SCOPE_LABEL]}`] });

beforeAll(async () => {
  container = await dockerode.createContainer({ name: `${env.project()}-engine`, Image: TEST_IMAGES.worker10, Labels: { ...env.labels } });
  await container.start();
});

/** What every transport must answer exactly as dockerode does. */
function engineAnswers(client: () => EngineApi): void {
  it('ping, version and info', async () => {
    const docker = client();
    expect(await docker.ping()).toBe('OK');
    expect(await docker.version()).toEqual(await dockerode.version());
    const [ours, theirs] = (await Promise.all([docker.info(), dockerode.info()])) as { ID: string; Name: string }[];
    expect(ours!.ID).toBe(theirs!.ID);
    expect(ours!.Name).toBe(theirs!.Name);
  });

  it('lists containers by label (stopped ones with all) and inspects one', async () => {
    const docker = client();
    const listed = (await docker.listContainers({ all: true, filters: mine() })) as { Id: string; Names: string[] }[];
    expect(listed.map((c) => c.Id)).toEqual([container.id]);
    expect(listed).toEqual(await dockerode.listContainers({ all: true, filters: mine() }));
    expect(await docker.getContainer(container.id).inspect()).toEqual(await container.inspect());
  });

  it('inspects an image by name', async () => {
    const ours = await client().getImage(TEST_IMAGES.worker10).inspect();
    expect(ours).toEqual(await dockerode.getImage(TEST_IMAGES.worker10).inspect());
    expect((ours as { RepoTags: string[] }).RepoTags).toContain(TEST_IMAGES.worker10);
  });
}

describe('over the unix socket', () => {
  const { docker, address } = createDockerClient({ dockerHost: process.env.DOCKER_HOST });

  engineAnswers(() => docker);

  it('lists networks and volumes by label', async () => {
    const name = `${env.project()}-engine`;
    await dockerode.createNetwork({ Name: name, Labels: { ...env.labels } });
    await dockerode.createVolume({ Name: name, Labels: { ...env.labels } });
    const networks = (await docker.listNetworks({ filters: mine() })) as { Name: string }[];
    expect(networks.map((n) => n.Name)).toEqual([name]);
    expect(networks).toEqual(await dockerode.listNetworks({ filters: mine() }));
    const volumes = (await docker.listVolumes({ filters: mine() })) as { Volumes: { Name: string }[] };
    expect(volumes.Volumes.map((v) => v.Name)).toEqual([name]);
    expect(volumes).toEqual(await dockerode.listVolumes({ filters: mine() }));
  });

  it('distribution: the digest the registry has, the same answer as dockerode', async () => {
    const ours = (await docker.getImage(TEST_IMAGES.app10).distribution({})) as { Descriptor: { digest: string } };
    expect(ours.Descriptor.digest).toBe(await registryDigest(TEST_IMAGES.app10));
    expect(ours).toEqual(await dockerode.getImage(TEST_IMAGES.app10).distribution());
  });

  it("a missing image is a 404 with the engine's message", async () => {
    const missing = '127.0.0.1:5000/driftd/app:no-such-tag';
    const ours = await docker.getImage(missing).inspect().catch((e: unknown) => e);
    const theirs = (await dockerode.getImage(missing).inspect().catch((e: unknown) => e)) as { json: { message: string } };
    expect(ours).toMatchObject({ statusCode: 404, message: theirs.json.message });
    expect((ours as Error).message).toMatch(/no such image/i);
    expect(await callDocker(`inspect image ${missing}`, address, () => docker.getImage(missing).inspect(), true)).toBeUndefined();
  });

  it('an unreachable socket is DockerUnreachable through callDocker (the inventory) and pingDocker', async () => {
    const gone = 'unix:///nonexistent/docker.sock';
    const unreachable = createDockerClient({ dockerHost: gone }).docker;
    const message = `cannot reach Docker at ${gone}: connect ENOENT /nonexistent/docker.sock; start Docker or set DOCKER_HOST`;
    await expect(collectInventory(unreachable)).rejects.toMatchObject({ code: 'DockerUnreachable', message });
    await expect(pingDocker(unreachable, gone)).rejects.toMatchObject({ code: 'DockerUnreachable', message });
  });

  it('the inventory sees the container and its image', async () => {
    const inventory = await collectInventory(docker, { projects: [] });
    const found = inventory.containers.find((c) => c.id === container.id);
    expect(found).toMatchObject({ image: TEST_IMAGES.worker10, state: 'running' });
  });
});

describe('over ssh:// (an ssh shim running the real docker system dial-stdio)', () => {
  let dir: string;
  let argvFile: string;
  const path0 = process.env.PATH;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'driftd-ssh-shim-'));
    argvFile = path.join(dir, 'argv');
    // One line per ssh started; the real docker CLI then talks to this host's engine.
    await writeFile(path.join(dir, 'ssh'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvFile}'\nexec docker system dial-stdio\n`);
    await chmod(path.join(dir, 'ssh'), 0o755);
    process.env.PATH = `${dir}:${path0}`;
  });
  afterAll(async () => {
    process.env.PATH = path0;
    await rm(dir, { recursive: true, force: true });
  });

  const address = 'ssh://ops@engine-host:2222';
  let docker: EngineApi | undefined;
  engineAnswers(() => (docker ??= createDockerClient({ dockerHost: address }).docker));

  it('ran ssh as the docker CLI does, one process per pooled connection', async () => {
    const lines = (await readFile(argvFile, 'utf8')).split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(4);
    expect(new Set(lines)).toEqual(new Set(['-l ops -p 2222 -o ConnectTimeout=30 -T -- engine-host docker system dial-stdio']));
  });
});
