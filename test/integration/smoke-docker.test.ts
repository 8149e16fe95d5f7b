import { describe, expect, it } from 'vitest';
import { DriftdError } from '../../src/errors/index.js';
import { createDockerClient, pingDocker } from '../../src/live/docker-client.js';
import { useDockerTestScope } from '../support/docker.js';
import { TEST_IMAGES, TEST_LABEL } from '../support/test-env.js';

describe('the engine client against the real engine', () => {
  const env = useDockerTestScope();

  it('pings the engine and lists a container it just created', async () => {
    const { docker, address } = createDockerClient({ dockerHost: process.env.DOCKER_HOST });
    await pingDocker(docker, address);

    const name = `${env.project()}-direct`;
    const created = await env.docker.createContainer({ name, Image: TEST_IMAGES.worker10, Labels: { ...env.labels } });
    await created.start();

    const listed = (await docker.listContainers({ filters: { label: [`${TEST_LABEL}=1`] } })) as { Id: string; Names: string[]; State: string; Labels: Record<string, string> }[];
    const mine = listed.find((c) => c.Id === created.id);
    expect(mine?.Names).toEqual([`/${name}`]);
    expect(mine?.State).toBe('running');
    expect(mine?.Labels).toMatchObject(env.labels);

    const removed = await env.cleanup();
    expect(removed.containers).toEqual([name]);
    const after = await docker.listContainers({ all: true, filters: { id: [created.id] } });
    expect(after).toEqual([]);
  });

  it('turns an unreachable engine into DockerUnreachable with what to do', async () => {
    const address = 'unix:///nonexistent/docker.sock';
    const { docker } = createDockerClient({ dockerHost: address });
    const err = await pingDocker(docker, address).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriftdError);
    expect((err as DriftdError).code).toBe('DockerUnreachable');
    expect((err as DriftdError).message).toBe(
      'cannot reach Docker at unix:///nonexistent/docker.sock: connect ENOENT /nonexistent/docker.sock; start Docker or set DOCKER_HOST',
    );
  });

  it('gives up on an engine that does not answer within the timeout', async () => {
    // A TCP port that accepts but never answers HTTP: the registry's port speaks HTTP, so use a bare server.
    const net = await import('node:net');
    const server = net.createServer(() => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as import('node:net').AddressInfo).port;
    try {
      const address = `tcp://127.0.0.1:${port}`;
      const { docker } = createDockerClient({ dockerHost: address });
      await expect(pingDocker(docker, address, 300)).rejects.toThrow(
        `cannot reach Docker at ${address}: no answer in time; start Docker or set DOCKER_HOST`,
      );
    } finally {
      server.close();
    }
  });
});
