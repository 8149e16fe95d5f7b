/**
 * The engine + Compose pairs the bench runs on: the modern engine with Compose v2 (what driftd
 * and the v2 naive loop use) and the legacy Engine 20.10 with Compose v1 (the v1 naive loop).
 * Each has its own bench network (same name: the stacks' compose files name it as external).
 */
import Docker from 'dockerode';
import { detectComposeCli, type ComposeCli } from '../src/live/compose-cli.js';
import { execFileCapture } from '../src/util/exec.js';
import { testDockerClient } from '../test/support/docker-resources.js';
import { TEST_IMAGES } from '../test/support/test-env.js';
import type { Cleanup } from './cleanup.js';
import { createBenchNetwork, describeRemoved, removeRunResources, type BenchRun } from './docker.js';

export interface BenchEngine {
  /** "Compose v2 on the modern engine" */
  label: string;
  docker: Docker;
  cli: ComposeCli;
  /** Environment of the Compose and docker processes run against this engine (DOCKER_HOST). */
  env: NodeJS.ProcessEnv;
  network: string;
  /** e.g. "Engine 26.1.5 (API 1.45)" */
  version: string;
}

async function engineVersion(docker: Docker): Promise<string> {
  const v = await docker.version();
  return `Engine ${v.Version} (API ${v.ApiVersion})`;
}

/** Registers the removal of everything this run creates on the engine (containers, then network). */
async function prepare(docker: Docker, run: BenchRun, cleanup: Cleanup, label: string, base: string, log: (l: string) => void): Promise<string> {
  cleanup.add(`Docker resources of bench run ${run.tag} (${label})`, async () => log(`${label}: removed ${describeRemoved(await removeRunResources(docker, run))}`));
  return createBenchNetwork(docker, run, base);
}

export async function modernEngine(run: BenchRun, cleanup: Cleanup, log: (l: string) => void): Promise<BenchEngine> {
  const docker = testDockerClient();
  const cli = await detectComposeCli({ command: 'docker compose', timeoutMs: 30_000 });
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DOCKER_HOST'));
  const network = await prepare(docker, run, cleanup, 'modern engine', '10.213', log);
  return { label: `Compose v2 (${cli.version}) on the modern engine`, docker, cli, env, network, version: await engineVersion(docker) };
}

/** The legacy pair, or why it is not available (the v1 baseline is then reported as not measured). */
export async function legacyEngine(dockerHost: string, run: BenchRun, cleanup: Cleanup, log: (l: string) => void): Promise<BenchEngine | string> {
  const hint = 'start it with `DRIFTD_TEST_ENGINE=legacy bash scripts/test-env.sh`';
  if (!dockerHost.startsWith('unix://')) return `--legacy-docker-host must be a unix:// socket, got ${dockerHost}`;
  const docker = new Docker({ socketPath: dockerHost.slice('unix://'.length) });
  try {
    await docker.ping();
  } catch (e) {
    return `the legacy engine at ${dockerHost} does not answer (${(e as Error).message}): ${hint}`;
  }
  const env = { ...process.env, DOCKER_HOST: dockerHost };
  let cli: ComposeCli;
  try {
    cli = await detectComposeCli({ command: 'docker-compose', dockerHost, timeoutMs: 30_000 });
  } catch (e) {
    return `docker-compose (Compose v1) is not usable: ${(e as Error).message}: ${hint}`;
  }
  // One pull up front rather than one per parallel deploy.
  const pull = await execFileCapture('docker', ['pull', '--quiet', TEST_IMAGES.worker10], { env, timeoutMs: 120_000 });
  if (pull.code !== 0) return `the legacy engine cannot pull ${TEST_IMAGES.worker10}: ${pull.stderr.trim()}`;
  const network = await prepare(docker, run, cleanup, 'legacy engine', '10.214', log);
  return { label: `Compose v1 (${cli.version}) on the legacy engine`, docker, cli, env, network, version: await engineVersion(docker) };
}
