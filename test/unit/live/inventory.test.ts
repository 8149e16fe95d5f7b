import { describe, expect, it } from 'vitest';
import { DriftdError } from '../../../src/errors/index.js';
import { collectInventory } from '../../../src/live/inventory.js';
import { RecordedDocker } from './recorded-docker.js';

const IMG_A = `sha256:${'a'.repeat(64)}`;
const IMG_B = `sha256:${'b'.repeat(64)}`;

function summary(i: number, project: string | undefined, image: string) {
  const labels: Record<string, string> = project
    ? { 'com.docker.compose.project': project, 'com.docker.compose.service': `s${i}`, 'com.docker.compose.project.working_dir': `/srv/${project}` }
    : {};
  return { Id: `id${i}`, Names: [`/c${i}`], Image: 'app:1', ImageID: image, Created: 1_700_000_000, State: 'running', Status: 'Up 1 minute', Labels: labels };
}

function inspect(i: number, project: string | undefined, image: string) {
  const s = summary(i, project, image);
  return {
    Id: s.Id,
    Name: `/c${i}`,
    Created: '2024-01-01T00:00:00Z',
    Image: image,
    State: { Status: 'running' },
    Config: { Image: 'app:1', Labels: s.Labels, Env: [`N=${i}`] },
    HostConfig: {},
    Mounts: [],
    NetworkSettings: { Networks: {} },
  };
}

function image(id: string) {
  return { Id: id, RepoTags: ['app:1'], RepoDigests: [], Config: { Env: ['PATH=/bin'] } };
}

function world(n: number, projectOf: (i: number) => string | undefined = (i) => `p${i % 3}`) {
  const list = Array.from({ length: n }, (_, i) => summary(i, projectOf(i), i % 2 ? IMG_A : IMG_B));
  return {
    list,
    containers: Object.fromEntries(list.map((_, i) => [`id${i}`, inspect(i, projectOf(i), i % 2 ? IMG_A : IMG_B)])),
    images: { [IMG_A]: image(IMG_A), [IMG_B]: image(IMG_B) },
    networks: [
      { Id: 'n1', Name: 'p0_default', Driver: 'bridge', Labels: { 'com.docker.compose.project': 'p0' } },
      { Id: 'n2', Name: 'p1_default', Driver: 'bridge', Labels: { 'com.docker.compose.project': 'p1' } },
    ],
    volumes: { Volumes: [{ Name: 'p1_data', Driver: 'local', Labels: { 'com.docker.compose.project': 'p1' } }], Warnings: null },
  };
}

describe('collectInventory', () => {
  it('one list, one inspect per container, one inspect per distinct image, bounded concurrency', async () => {
    const docker = new RecordedDocker(world(40));
    const inv = await collectInventory(docker, { now: () => new Date('2024-01-01T00:00:00Z') });
    const count = (prefix: string) => docker.calls.filter((c) => c.startsWith(prefix)).length;
    expect([count('list'), count('version'), count('networks'), count('volumes')]).toEqual([1, 1, 1, 1]);
    expect(count('container ')).toBe(40);
    expect(count('image ')).toBe(2);
    expect(docker.maxInFlight).toBeLessThanOrEqual(16);
    expect(inv.takenAt).toBe('2024-01-01T00:00:00.000Z');
    expect(inv.engine).toEqual({ version: '20.10.24', apiVersion: '1.41', os: 'linux', arch: 'amd64' });
    expect(inv.containers.every((c) => c.config !== undefined)).toBe(true);
    expect(Object.keys(inv.images).sort()).toEqual([IMG_A, IMG_B]);
    expect(Object.keys(inv.projects).sort()).toEqual(['p0', 'p1', 'p2']);
    expect(inv.projects.p0).toMatchObject({ name: 'p0', workingDir: '/srv/p0' });
    expect(inv.projects.p0!.containers).toHaveLength(14);
    expect(inv.networks.map((n) => [n.name, n.project])).toEqual([
      ['p0_default', 'p0'],
      ['p1_default', 'p1'],
    ]);
    expect(inv.volumes.map((v) => v.name)).toEqual(['p1_data']);
  });

  it("inspect: 'none' lists only: no inspects at all", async () => {
    const docker = new RecordedDocker(world(5));
    const inv = await collectInventory(docker, { inspect: 'none' });
    expect(docker.calls.filter((c) => c.startsWith('container ') || c.startsWith('image '))).toEqual([]);
    expect(inv.containers.map((c) => c.config)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(inv.images).toEqual({});
    expect(inv.containers).toHaveLength(5);
  });

  it('projects: only their containers are inspected and their networks and volumes kept; every container is listed', async () => {
    const docker = new RecordedDocker(world(6, (i) => (i === 5 ? undefined : `p${i % 2}`)));
    const inv = await collectInventory(docker, { projects: ['p1'] });
    expect(docker.calls.filter((c) => c.startsWith('container ')).sort()).toEqual(['container id1', 'container id3']);
    expect(docker.calls.filter((c) => c.startsWith('image '))).toEqual([`image ${IMG_A}`]);
    expect(inv.containers).toHaveLength(6);
    expect(inv.networks.map((n) => n.name)).toEqual(['p1_default']);
    expect(inv.volumes.map((v) => v.name)).toEqual(['p1_data']);
  });

  it('projects may be a promise: the lists start at once, the inspects wait for the names', async () => {
    const docker = new RecordedDocker(world(6, (i) => (i === 5 ? undefined : `p${i % 2}`)));
    let release: (names: string[]) => void = () => undefined;
    const names = new Promise<string[]>((resolve) => (release = resolve));
    const pending = collectInventory(docker, { projects: names });
    await new Promise((r) => setTimeout(r, 10));
    expect(docker.calls.filter((c) => c.startsWith('container '))).toEqual([]);
    expect(docker.calls).toContain('list');
    release(['p1']);
    const inv = await pending;
    expect(docker.calls.filter((c) => c.startsWith('container ')).sort()).toEqual(['container id1', 'container id3']);
    expect(inv.networks.map((n) => n.name)).toEqual(['p1_default']);
  });

  it('prefetch: those projects are inspected while the names are pending; the result equals a run without it', async () => {
    const data = world(9, (i) => `p${i % 3}`);
    const docker = new RecordedDocker(data);
    let release: (names: string[]) => void = () => undefined;
    const names = new Promise<string[]>((resolve) => (release = resolve));
    const pending = collectInventory(docker, { projects: names, prefetch: ['p1', 'p2'], now: () => new Date(0) });
    await new Promise((r) => setTimeout(r, 30));
    // p1 and p2 inspected early; p0 not (not prefetched, names unknown yet).
    expect(docker.calls.filter((c) => c.startsWith('container ')).sort()).toEqual(['container id1', 'container id2', 'container id4', 'container id5', 'container id7', 'container id8']);
    release(['p0', 'p1']);
    const inv = await pending;
    // p0 inspected now; p2's prefetched inspects are dropped: its containers carry the list's view only.
    expect(docker.calls.filter((c) => c.startsWith('container ')).length).toBe(9);
    const plain = await collectInventory(new RecordedDocker(world(9, (i) => `p${i % 3}`)), { projects: ['p0', 'p1'], now: () => new Date(0) });
    expect(inv).toEqual(plain);
    expect(inv.containers.filter((c) => c.project === 'p2').every((c) => c.config === undefined)).toBe(true);
    expect(inv.containers.filter((c) => c.project !== 'p2').every((c) => c.config !== undefined)).toBe(true);
  });

  it('prefetch: a dropped inspect that fails is no error; a wanted one that fails is', async () => {
    const boom = Object.assign(new Error('(HTTP code 500) engine error'), { statusCode: 500 });
    const docker = new RecordedDocker(world(4, (i) => `p${i % 2}`), (call) => (call === 'container id1' ? boom : undefined));
    const inv = await collectInventory(docker, { projects: Promise.resolve(['p0']), prefetch: ['p0', 'p1'] });
    expect(inv.containers.filter((c) => c.config !== undefined).map((c) => c.name)).toEqual(['c0', 'c2']);
    const again = new RecordedDocker(world(4, (i) => `p${i % 2}`), (call) => (call === 'container id1' ? boom : undefined));
    await expect(collectInventory(again, { projects: Promise.resolve(['p1']), prefetch: ['p1'] })).rejects.toMatchObject({ code: 'DockerApiError' });
  });

  it('prefetch keeps the bound on inspects in flight', async () => {
    const docker = new RecordedDocker(world(60));
    await collectInventory(docker, { projects: new Promise((r) => setTimeout(() => r(['p0', 'p1', 'p2']), 5)), prefetch: ['p0', 'p1'], concurrency: 4 });
    expect(docker.calls.filter((c) => c.startsWith('container ')).length).toBe(60);
    expect(docker.maxInFlight).toBeLessThanOrEqual(4);
  });

  it('a projects promise that rejects rejects the inventory with its error', async () => {
    const docker = new RecordedDocker(world(2));
    const failure = new Error('repo unreachable');
    await expect(collectInventory(docker, { projects: Promise.reject(failure) })).rejects.toBe(failure);
  });

  it('a predicate chooses containers to inspect', async () => {
    const docker = new RecordedDocker(world(4));
    await collectInventory(docker, { inspect: (c) => c.name === 'c2' });
    expect(docker.calls.filter((c) => c.startsWith('container '))).toEqual(['container id2']);
  });

  it('a container removed between list and inspect is left out; a missing image leaves no defaults', async () => {
    const notFound = Object.assign(new Error('(HTTP code 404) no such container'), { statusCode: 404 });
    const docker = new RecordedDocker(world(3), (call) => (call === 'container id1' || call === `image ${IMG_B}` ? notFound : undefined));
    const inv = await collectInventory(docker);
    expect(inv.containers.map((c) => c.name)).toEqual(['c0', 'c2']);
    expect(Object.keys(inv.images)).toEqual([]);
  });

  it('Docker unreachable: DockerUnreachable naming the address and what to do', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), { code: 'ECONNREFUSED' });
    const docker = new RecordedDocker(world(1), () => refused);
    const err = await collectInventory(docker).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriftdError);
    expect(err).toMatchObject({ code: 'DockerUnreachable', exitCode: 1 });
    expect((err as Error).message).toBe(
      'cannot reach Docker at unix:///var/run/docker.sock: connect ECONNREFUSED /var/run/docker.sock; start Docker or set DOCKER_HOST',
    );
  });

  it('an engine error is DockerApiError', async () => {
    const boom = Object.assign(new Error('(HTTP code 500) server error - boom'), { statusCode: 500 });
    const docker = new RecordedDocker(world(1), (call) => (call === 'container id0' ? boom : undefined));
    await expect(collectInventory(docker)).rejects.toMatchObject({ code: 'DockerApiError', message: expect.stringContaining('inspect container c0') });
  });

  it('JSON this code does not understand is DockerApiError naming the field', async () => {
    const data = world(1);
    (data.containers.id0 as { State: unknown }).State = { Running: true };
    const err = await collectInventory(new RecordedDocker(data)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DockerApiError' });
    expect((err as Error).message).toContain('State.Status');
  });

  it('a TCP engine address is shown as such', async () => {
    const docker = new RecordedDocker(world(1), () => Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }));
    docker.modem = { host: 'docker-host.invalid', port: 2376, protocol: 'https' } as unknown as { socketPath: string };
    await expect(collectInventory(docker)).rejects.toThrow('cannot reach Docker at https://docker-host.invalid:2376: connect ETIMEDOUT');
    await expect(collectInventory(docker, { address: 'tcp://docker-host.invalid:2376' })).rejects.toThrow(
      'cannot reach Docker at tcp://docker-host.invalid:2376: connect ETIMEDOUT; start Docker or set DOCKER_HOST',
    );
  });
});
