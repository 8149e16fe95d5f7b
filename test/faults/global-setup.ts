/**
 * globalSetup of the fault suite: the integration setup (engine, Compose, registry, test images,
 * leftovers) plus, at the end, a check that the suite left the host as it found it. The private
 * engines must never take the host's default bridge with them (a dockerd started with
 * `--bridge=none` deletes docker0 and breaks every other test on the machine).
 * Runs in vitest's main process, so it must not import 'vitest'.
 */
import type { TestProject } from 'vitest/node';
import integrationSetup from '../support/global-setup.js';
import { hostDocker0Present } from '../support/private-dockerd.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const hadDocker0 = await hostDocker0Present();
  const teardown = await integrationSetup(project);
  return async () => {
    await teardown();
    if (hadDocker0 && !(await hostDocker0Present())) {
      throw new Error('fault suite teardown: the host bridge docker0 is gone — a private dockerd deleted it (never start one with --bridge=none)');
    }
  };
}
