/**
 * Per-test Docker isolation for integration tests:
 *
 *   const env = useDockerTestScope();            // at describe/module level
 *   const project = env.project();               // "dt-…", unique, cleaned up afterwards
 *   services: { web: { image: TEST_IMAGES.app10, labels: env.labels } }
 *
 * Cleanup runs in afterEach (default) or afterAll, whether the test passed or not: it removes
 * every container/network/volume of the projects this scope handed out, and everything that
 * carries this scope's labels (containers a test created directly with dockerode).
 */
import type Docker from 'dockerode';
import { afterAll, afterEach, inject } from 'vitest';
import {
  inProjects,
  randomName,
  removeDockerResources,
  runLabelValue,
  testDockerClient,
  TEST_PROJECT_PREFIX,
  type Removed,
  type TestRun,
} from './docker-resources.js';
import { TEST_LABEL, TEST_RUN_LABEL } from './test-env.js';

export {
  COMPOSE_PROJECT_LABEL,
  pollUntil,
  registryDigest,
  registryTag,
  testDockerClient,
  uniqueTag,
  type Removed,
} from './docker-resources.js';

/** Marks what one scope created, so its cleanup never touches another scope's resources. */
export const TEST_SCOPE_LABEL = 'io.driftd.test.scope';

export function currentTestRun(): TestRun {
  const run = inject('driftdTestRun');
  if (!run) throw new Error('no test run: Docker helpers work only in the integration project (its globalSetup provides the run)');
  return run;
}

export interface DockerTestScope {
  docker: Docker;
  /** Put these on every service, network, volume or container the test creates. */
  labels: Readonly<Record<string, string>>;
  /** A fresh Compose project (= stack) name like "dt-ab12cd34", removed by the cleanup. */
  project(): string;
  /** Also clean up a project name the test did not get from project(). */
  track(project: string): void;
  /** What the hooks run; call it yourself to clean up early. */
  cleanup(): Promise<Removed>;
}

export function useDockerTestScope(opts: { cleanupAfter?: 'each' | 'all' } = {}): DockerTestScope {
  const run = currentTestRun();
  const docker = testDockerClient();
  const scopeId = randomName(8);
  const labels = { [TEST_LABEL]: '1', [TEST_RUN_LABEL]: runLabelValue(run), [TEST_SCOPE_LABEL]: scopeId };
  const projects = new Set<string>();
  const scope: DockerTestScope = {
    docker,
    labels,
    project() {
      const name = `${TEST_PROJECT_PREFIX}${run.tag}${randomName(4)}`;
      projects.add(name);
      return name;
    },
    track(project) {
      projects.add(project);
    },
    async cleanup() {
      const mine = inProjects(projects);
      const removed = await removeDockerResources(docker, (c) => c.labels[TEST_SCOPE_LABEL] === scopeId || mine(c));
      projects.clear();
      return removed;
    },
  };
  const hook = opts.cleanupAfter === 'all' ? afterAll : afterEach;
  hook(async () => {
    await scope.cleanup();
  });
  return scope;
}
