/**
 * globalSetup of the integration project. Integration tests run against real services and
 * never skip: if Docker, the Compose CLI, the registry or a test image is missing, the whole
 * run fails here with what to do. At the end it removes what the run's tests left behind.
 * Runs in vitest's main process, so it must not import 'vitest' (see docker-resources.ts).
 */
import type { TestProject } from 'vitest/node';
import { createDockerClient, pingDocker } from '../../src/live/docker-client.js';
import { testComposeCli } from './compose-target.js';
import { newTestRun, registryDigest, removeAbandonedTestResources, testDockerClient, type Removed } from './docker-resources.js';
import { REGISTRY_URL, TEST_ENV_HINT, TEST_IMAGES } from './test-env.js';

async function need(what: string, check: () => Promise<unknown>): Promise<void> {
  try {
    await check();
  } catch (e) {
    throw new Error(`integration tests need ${what}: ${(e as Error).message}\n→ ${TEST_ENV_HINT}, then run the tests again.`);
  }
}

const summary = (r: Removed): string =>
  `${r.containers.length} container(s), ${r.networks.length} network(s), ${r.volumes.length} volume(s)`;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dockerHost = process.env.DOCKER_HOST;
  const engine = createDockerClient({ dockerHost });
  await need('a Docker engine', () => pingDocker(engine.docker, engine.address, 30_000));
  let target = '';
  await need('a Compose CLI', async () => {
    const cli = await testComposeCli();
    const version = await testDockerClient().version();
    target = `Docker Engine ${version.Version} (API ${version.ApiVersion}) at ${engine.address}, Compose ${cli.version} (\`${cli.command.join(' ')}\`)`;
  });
  await need(`the test registry at ${REGISTRY_URL}`, async () => {
    const res = await fetch(`${REGISTRY_URL}/v2/`, { signal: AbortSignal.timeout(5000) }).catch((e: Error) => {
      throw new Error(`no answer (${(e.cause as Error | undefined)?.message ?? e.message})`);
    });
    if (res.status !== 200) throw new Error(`GET /v2/ answered ${res.status}`);
  });
  await need('the test images', async () => {
    const missing: string[] = [];
    for (const ref of Object.values(TEST_IMAGES)) if (!(await registryDigest(ref))) missing.push(ref);
    if (missing.length) throw new Error(`missing in the registry: ${missing.join(', ')}`);
  });

  console.info(`integration tests run against ${target}`);
  const run = newTestRun();
  project.provide('driftdTestRun', run);
  const docker = testDockerClient();
  const leftovers = await removeAbandonedTestResources(docker, run);
  if (leftovers.containers.length + leftovers.networks.length + leftovers.volumes.length) {
    console.warn(`integration setup: removed leftovers of earlier runs: ${summary(leftovers)}`);
  }

  return async () => {
    const removed = await removeAbandonedTestResources(docker, run);
    if (removed.containers.length + removed.networks.length + removed.volumes.length) {
      console.warn(`integration teardown: removed what tests left behind: ${summary(removed)}`);
    }
  };
}
